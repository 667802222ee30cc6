"""Batch workers: claim a chunk of rows under a lease, issue it, mark each row's result.

Any number of workers, in any number of processes on any machines, share the rows of every
batch. On PostgreSQL :func:`claim` locks candidate rows with ``FOR UPDATE SKIP LOCKED`` so two
workers never take the same row; on SQLite (one writer) a single in-process worker runs
(:class:`InProcessWorker`).

Throughput: a chunk of :data:`CHUNK` rows is issued in one transaction through
``issuance.issue_many`` (institution, caller, achievement and signing keys loaded once, status
indices, credentials and audit events written in a few statements, one commit), not row by row.

Crash safety: a row is set ``done`` in the very transaction that stores its credential, and its
issue call uses the row's idempotency key. A worker that dies leaves its rows ``running`` until
the lease expires; another worker then claims them again, and a row whose credential did get
committed is simply ``done`` already, while one that did not is issued once. A row that has been
claimed :data:`MAX_ATTEMPTS` times without finishing fails as ``abandoned``.
Leases use the workers' clocks: keep machines in NTP sync (the lease is minutes, skew seconds).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from issuer import issuance, metrics
from issuer.batch_tables import DONE, FAILED, OPEN_ROWS, PENDING, RUNNING, Batch, BatchRow
from issuer.context import Caller, IssuerContext
from issuer.errors import Unauthorized
from issuer.models import CredentialIssue
from issuer.tables import ApiKey, Institution
from schemas.errors import TaitoError

log = logging.getLogger("taito.worker")

LEASE = timedelta(minutes=5)
CHUNK = 100  # rows claimed, and issued in one transaction, at a time
MAX_ATTEMPTS = 5
ROW_BY_ROW_FROM = 3  # attempts from which a chunk is issued one row per transaction


# Planner statistics (PostgreSQL manual §14.4.9 "Run ANALYZE Afterwards"): a worker refreshes
# those of the tables it grows after ANALYZE_FROM rows, then each time its count doubles.
# Autovacuum does the same where it runs, at most once a minute a table; without statistics the
# planner guesses 0.5 % of rows for any equality and, with a chunk's 100 idempotency keys,
# prefers scanning all the issuer's credentials to 100 descents of the unique index.
ANALYZE_FROM = 1_000
GROWN_TABLES = ("batch_row", "issued_credential", "status_entry", "audit_event")


def analyze(engine: Engine, tables: Sequence[str]) -> None:
    """``ANALYZE`` the tables on PostgreSQL (one lock-light pass each); nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        for table in tables:
            connection.execute(text(f'ANALYZE "{table}"'))
        connection.commit()


class _Statistics:
    """Counts the rows a worker issued and refreshes statistics at 1,000, 2,000, 4,000, ..."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.rows, self.due = engine, 0, ANALYZE_FROM

    def add(self, rows: int) -> None:
        self.rows += rows
        if self.rows >= self.due:
            self.due = 2 * self.rows
            try:
                analyze(self.engine, GROWN_TABLES)
            except DBAPIError:
                log.warning("could not refresh planner statistics", exc_info=True)


def worker_id() -> str:
    """A name unique to this worker: host, process and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimable(now: datetime) -> Any:
    return or_(
        col(BatchRow.state) == PENDING,
        (col(BatchRow.state) == RUNNING) & (col(BatchRow.lease_expires_at) < now),
    )


def claim(
    session: Session,
    limit: int,
    *,
    owner: str,
    now: datetime,
    lease: timedelta = LEASE,
    batch_id: str | None = None,
) -> list[BatchRow]:
    """Take up to ``limit`` rows (pending, or running with an expired lease) and commit the lease."""
    abandoned = (
        update(BatchRow)
        .where(
            col(BatchRow.state) == RUNNING,
            col(BatchRow.lease_expires_at) < now,
            col(BatchRow.attempts) >= MAX_ATTEMPTS,
        )
        .values(
            state=FAILED,
            error_code="abandoned",
            error=f"The row was claimed {MAX_ATTEMPTS} times and never finished.",
            finished_at=now,
        )
    )
    if batch_id is not None:
        abandoned = abandoned.where(col(BatchRow.batch_id) == batch_id)
    session.execute(abandoned)
    query = select(BatchRow.id).where(text(OPEN_ROWS), _claimable(now))
    if batch_id is not None:
        query = query.where(BatchRow.batch_id == batch_id)
    query = query.order_by(col(BatchRow.id)).limit(limit).with_for_update(skip_locked=True)
    ids = list(session.exec(query).all())
    if not ids:
        session.commit()
        return []
    # The WHERE repeats the claim condition: without row locks (SQLite) a row claimed meanwhile
    # by someone else is not taken over.
    session.execute(
        update(BatchRow)
        .where(col(BatchRow.id).in_(ids), _claimable(now))
        .values(
            state=RUNNING,
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=BatchRow.attempts + 1,
        )
    )
    session.commit()
    return list(
        session.exec(
            select(BatchRow)
            .where(
                col(BatchRow.id).in_(ids),
                BatchRow.state == RUNNING,
                BatchRow.lease_owner == owner,
            )
            .order_by(col(BatchRow.id))
        ).all()
    )


def release(session: Session, rows: list[BatchRow], *, owner: str) -> None:
    """Give unprocessed rows back (a graceful stop), so others need not wait for the lease."""
    ids = [r.id for r in rows]
    if ids:
        session.execute(
            update(BatchRow)
            .where(
                col(BatchRow.id).in_(ids),
                col(BatchRow.state) == RUNNING,
                col(BatchRow.lease_owner) == owner,
            )
            .values(state=PENDING, lease_owner=None, lease_expires_at=None)
        )
        session.commit()


def batch_caller(session: Session, batch: Batch) -> Caller:
    """The batch's creator again; an API key revoked since then issues nothing more."""
    if batch.actor.startswith("api_key:"):
        key = session.exec(
            select(ApiKey).where(ApiKey.prefix == batch.actor.removeprefix("api_key:"))
        ).first()
        if key is None or key.revoked_at is not None:
            raise Unauthorized("The API key that created this batch has been revoked.")
    issuer_id = None if batch.actor == "operator" else batch.issuer_id
    return Caller(batch.actor, issuer_id, frozenset(batch.scopes), request_id=batch.id)


def _mark_failed(
    session: Session, row_id: int, owner: str, now: datetime, code: str, message: str
) -> None:
    """The row failed, if it is still this worker's (in the session's transaction)."""
    session.execute(
        update(BatchRow)
        .where(
            col(BatchRow.id) == row_id,
            col(BatchRow.state) == RUNNING,
            col(BatchRow.lease_owner) == owner,
        )
        .values(state=FAILED, error_code=code, error=message[:2000], finished_at=now)
    )


def _fail(
    session: Session, row_id: int, owner: str, now: datetime, code: str, message: str
) -> None:
    session.rollback()
    _mark_failed(session, row_id, owner, now, code, message)
    session.commit()


def process(session: Session, context: IssuerContext, row: BatchRow, *, owner: str) -> str:
    """Issue one claimed row; returns its new state (``done`` or ``failed``)."""
    assert row.id is not None and row.request is not None
    row_id = row.id
    now = context.clock()
    try:
        batch = session.get(Batch, row.batch_id)
        assert batch is not None
        institution = session.get(Institution, batch.issuer_id)
        assert institution is not None
        caller = batch_caller(session, batch)
        body = CredentialIssue.model_validate(row.request)
        # Set before issuing: issue() commits this with the credential, in one transaction.
        # lease_owner stays: it names the worker that issued the row.
        row.state, row.finished_at = DONE, now
        session.add(row)
        issuance.issue(session, context, caller, institution, body, row.idempotency_key)
    except TaitoError as exc:
        _fail(session, row_id, owner, now, exc.code, exc.detail)
        return FAILED
    except DBAPIError:
        session.rollback()
        raise  # the database is away: the row stays running and is retried after its lease
    except Exception:
        log.exception("batch row %s: unexpected error", row_id)
        _fail(session, row_id, owner, now, "internal_error", "The row could not be issued.")
        return FAILED
    # issue() committed the row with a new credential; with an earlier one (or a concurrent
    # twin's) it wrote nothing, and the row's state is committed here.
    session.commit()
    return DONE


def _issue_chunk(
    session: Session, context: IssuerContext, rows: list[BatchRow], *, owner: str
) -> list[str]:
    """Issue claimed rows in one transaction: each batch's institution, caller, achievement and
    signing keys are loaded once, the credentials, status entries and audit events written in a
    few statements, and every row is marked ``done`` or ``failed`` in the same commit. Returns the
    rows' new states, in order. A row's own problem fails that row alone; anything else raises
    with nothing written (the rows stay ``running``)."""
    now = context.clock()
    states: dict[int, str] = {}
    failures: dict[int, tuple[str, str]] = {}
    signed: list[str] = []  # the formats of the new credentials, counted once committed
    groups: dict[str, list[BatchRow]] = {}
    for row in rows:
        groups.setdefault(row.batch_id, []).append(row)
    for batch_id, group in groups.items():
        batch = session.get(Batch, batch_id)
        assert batch is not None
        institution = session.get(Institution, batch.issuer_id)
        assert institution is not None
        try:
            caller = batch_caller(session, batch)
        except TaitoError as exc:
            failures.update({r.id: (exc.code, exc.detail) for r in group if r.id is not None})
            continue
        requests: list[tuple[CredentialIssue, str | None]] = []
        issuing: list[BatchRow] = []
        for row in group:
            assert row.id is not None and row.request is not None
            try:
                body = CredentialIssue.model_validate(row.request)
            except ValueError:
                log.exception("batch row %s: unexpected error", row.id)
                failures[row.id] = ("internal_error", "The row could not be issued.")
                continue
            requests.append((body, row.idempotency_key))
            issuing.append(row)
        outcomes = issuance.issue_many(session, context, caller, institution, requests)
        for row, outcome, (body, _) in zip(issuing, outcomes, requests, strict=True):
            assert row.id is not None
            if outcome.error is not None:
                failures[row.id] = (outcome.error.code, outcome.error.detail)
            else:
                states[row.id] = DONE
                if outcome.created:
                    signed.extend(body.distinct_formats)
    # lease_owner stays: it names the worker that issued the row.
    if states:
        session.execute(
            update(BatchRow)
            .where(col(BatchRow.id).in_(list(states)), col(BatchRow.lease_owner) == owner)
            .values(state=DONE, finished_at=now)
        )
    for row_id, (code, message) in failures.items():
        states[row_id] = FAILED
        _mark_failed(session, row_id, owner, now, code, message)
    session.commit()
    metrics.issued(signed)
    return [states[row.id] for row in rows if row.id is not None]


def run_once(
    context: IssuerContext,
    *,
    owner: str,
    limit: int = CHUNK,
    lease: timedelta = LEASE,
    batch_id: str | None = None,
    stop: threading.Event | None = None,
    on_row: Callable[[str], None] | None = None,
) -> int:
    """Claim one chunk and issue it; returns how many rows were processed (0: nothing to do).

    The chunk is issued in one transaction (:func:`_issue_chunk`); a SIGKILL before its commit
    leaves every row ``running`` with nothing issued, for another worker once the lease expires.
    Should that transaction fail as a whole (a constraint or deadlock the chunk did not expect),
    the rows are issued one by one (:func:`process`), so a bad row fails alone; so are chunks
    with rows claimed :data:`ROW_BY_ROW_FROM` times (their workers died twice). A stop that
    arrives while the chunk is being claimed gives the rows back; one being issued finishes.
    """
    with Session(context.engine, expire_on_commit=False) as session:
        claimed = claim(
            session, limit, owner=owner, now=context.clock(), lease=lease, batch_id=batch_id
        )
        if not claimed:
            return 0
        if stop is not None and stop.is_set():
            release(session, claimed, owner=owner)
            return 0
        if any(row.attempts >= ROW_BY_ROW_FROM for row in claimed):
            # Taken over more than once: a row may be killing its worker, so each row commits
            # alone and the others' progress survives it.
            states = [process(session, context, row, owner=owner) for row in claimed]
        else:
            try:
                states = _issue_chunk(session, context, claimed, owner=owner)
            except Exception:
                session.rollback()
                log.exception("batch chunk of %d rows failed as a whole; row by row", len(claimed))
                states = [process(session, context, row, owner=owner) for row in claimed]
        if on_row is not None:
            for state in states:
                on_row(state)
        return len(claimed)


def drain(
    context: IssuerContext,
    *,
    owner: str | None = None,
    limit: int = CHUNK,
    batch_id: str | None = None,
    stop: threading.Event | None = None,
    on_row: Callable[[str], None] | None = None,
) -> int:
    """Process rows until none is left to claim (or ``stop`` is set); returns the number done."""
    owner = owner or worker_id()
    total = 0
    statistics = _Statistics(context.engine)
    while stop is None or not stop.is_set():
        processed = run_once(
            context, owner=owner, limit=limit, batch_id=batch_id, stop=stop, on_row=on_row
        )
        if processed == 0:
            break
        total += processed
        statistics.add(processed)
    return total


def run(
    context: IssuerContext,
    stop: threading.Event,
    *,
    owner: str | None = None,
    limit: int = CHUNK,
    lease: timedelta = LEASE,
    poll_interval: float = 1.0,
) -> None:
    """The worker loop: claim and issue until ``stop`` is set; sleeps ``poll_interval`` when idle."""
    owner = owner or worker_id()
    log.info("batch worker %s started", owner)
    statistics = _Statistics(context.engine)
    while not stop.is_set():
        try:
            processed = run_once(context, owner=owner, limit=limit, lease=lease, stop=stop)
        except DBAPIError:
            log.exception("batch worker %s: database error; retrying", owner)
            processed = 0
        if processed == 0:
            stop.wait(poll_interval)
        else:
            statistics.add(processed)
    log.info("batch worker %s stopped", owner)


class InProcessWorker:
    """One background thread running :func:`run` (the SQLite deployment: one writer, no locks)."""

    def __init__(
        self, context: IssuerContext, *, poll_interval: float = 1.0, limit: int = CHUNK
    ) -> None:
        self.context = context
        self.poll_interval = poll_interval
        self.limit = limit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.context.key_store is None:
            log.warning("No master key: the batch worker does not start; batches stay pending.")
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=run,
            args=(self.context, self._stop),
            kwargs={"limit": self.limit, "poll_interval": self.poll_interval},
            name="taito-batch-worker",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
