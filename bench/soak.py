"""``make soak``: a bounded mixed load on uvicorn (2 workers) and PostgreSQL, then a reconciliation.

``python -m bench.soak [--seconds 60] [--clients 32]`` creates a fresh PostgreSQL schema (loopback
only; ``--database-url`` or ``TAITO_TEST_DATABASE_URL``), serves the app with
``uvicorn --workers 2`` on a free loopback port, and runs ``--clients`` threads for ``--seconds``.
Each client draws one step at a time:

=========  ======  ==================================================================
step       weight  request
=========  ======  ==================================================================
issue      40      ``POST /issuers/soak/credentials`` (OB 3.0, Data Integrity), with ``Idempotency-Key``
verify     20      ``POST /verifier/verify`` of a credential issued earlier (status list fetched)
revoke     15      ``POST /issuers/soak/credentials/{id}/revoke`` of one not yet revoked
status     10      ``GET /issuers/soak/status/{list}``
import     10      ``POST /wallet/credentials`` — only when the app has the wallet routes
share       5      ``POST /wallet/shares`` of an imported credential — likewise
=========  ======  ==================================================================

The wallet steps run when ``/openapi.json`` lists their routes; the summary says whether they did.
Afterwards the database is read directly: every acknowledged (2xx) issuance exists exactly once
(its id, its idempotency key, one ``credential.issued`` audit row) and nothing unacknowledged
was written; every acknowledged revocation has its credential revoked, one audit row, and its bit
set in the published list, whose Data Integrity proof is verified — and no other bit is set;
wallet imports and shares match their rows. Exit status 0 only with zero 5xx, zero transport
errors, zero unexpected 4xx and a clean reconciliation. The server log goes to
``var/test-logs/`` (the test suite scans it for secrets).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

from issuer.tables import AuditEvent, Institution, IssuedCredential, StatusEntry, StatusList
from keys import data_integrity, status_list
from keys.did import resolve_offline
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.database import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "var" / "test-logs"
SLUG = "soak"
OPERATOR = "soak-operator-" + secrets.token_hex(8)
STEPS = {"issue": 40, "verify": 20, "revoke": 15, "status": 10, "import": 10, "share": 5}
ACHIEVEMENT = {
    "name": {"en": "Load and Consistency"},
    "description": {"en": "Issued under load."},
    "criteria": {"en": "Be issued."},
    "achievement_type": "Course",
}


@dataclass
class Ledger:
    """What the server acknowledged, shared by the clients (under one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: dict[str, str] = field(default_factory=dict)  # credential id -> idempotency key
    documents: list[Any] = field(default_factory=list)
    keepers: list[Any] = field(default_factory=list)  # never revoked: what learners import
    revoked: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    imported: list[tuple[int, str]] = field(default_factory=list)  # (client, wallet id)
    shares: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def answer(self, step: str, response: httpx.Response, ok: tuple[int, ...]) -> bool:
        with self.lock:
            self.steps[step] += 1
            self.statuses[f"{response.status_code // 100}xx"] += 1
            if response.status_code in ok:
                return True
            if len(self.problems) < 20:
                self.problems.append(f"{step}: {response.status_code} {response.text[:200]}")
            return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A new schema on the server, the URL that selects it; dropped afterwards."""
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def server(database_url: str, contexts: Path, log_path: Path) -> Iterator[str]:
    """``uvicorn --workers 2`` on a free loopback port until the block ends."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "TAITO_DATABASE_URL": database_url,
        "TAITO_MASTER_KEY": KeyVault.new_master_key(),
        "TAITO_CONTEXT_DIR": str(contexts),
        "TAITO_PUBLIC_URL": base,
        "TAITO_OPERATOR_TOKEN": OPERATOR,
        "TAITO_ALLOW_PRIVATE_NETWORK": "true",  # the verifier fetches status lists from here
        "TAITO_LOG_LEVEL": "WARNING",
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "taito.app:app_factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
             "--log-level", "warning", "--no-access-log"],
            env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"uvicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _setup(base: str) -> tuple[dict[str, str], str, bool]:
    operator = {"Authorization": f"Bearer {OPERATOR}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        created = client.post(
            "/issuers",
            json={"slug": SLUG, "legal_name": {"en": "Soak University"},
                  "url": "https://soak.example", "country": "FI", "did_method": "key",
                  "key_types": ["ed25519"]},
            headers=operator,
        )  # fmt: skip
        created.raise_for_status()
        key = client.post(
            f"/issuers/{SLUG}/api-keys",
            json={"name": "soak", "scopes": ["issuer:admin"]},
            headers=operator,
        )
        key.raise_for_status()
        admin = {"Authorization": f"Bearer {key.json()['key']}"}
        achievement = client.post(f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=admin)
        achievement.raise_for_status()
        paths = client.get("/openapi.json").json()["paths"]
    wallet = "post" in paths.get("/wallet/credentials", {}) and "post" in paths.get(
        "/wallet/shares", {}
    )
    return admin, achievement.json()["id"], wallet


def _wallet_token(client: httpx.Client, n: int) -> dict[str, str] | None:
    registered = client.post(
        "/wallet/auth/register",
        json={"email": f"learner{n}-{uuid.uuid4().hex[:6]}@soak.example",
              "password": secrets.token_urlsafe(16)},
    )  # fmt: skip
    if registered.status_code != 201:
        return None
    return {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}


def _client(
    n: int,
    base: str,
    admin: dict[str, str],
    achievement: str,
    wallet: bool,
    until: float,
    ledger: Ledger,
) -> None:
    rng = random.Random(n)
    steps = [s for s in STEPS if wallet or s not in ("import", "share")]
    weights = [STEPS[s] for s in steps]
    mine: list[str] = []  # this client's wallet credential ids
    held: set[str] = set()  # the credential ids (urn:uuid:...) this client's learner imported
    with httpx.Client(base_url=base, timeout=60) as client:
        learner = _wallet_token(client, n) if wallet else None
        count = 0
        while time.monotonic() < until:
            step = rng.choices(steps, weights)[0]
            with ledger.lock:
                documents = list(ledger.documents[-50:])
                keepers = list(ledger.keepers[-50:])
                candidates = [
                    c for c in ledger.issued if c not in ledger.revoked and c not in ledger.kept
                ]
                if step == "revoke" and candidates:
                    target = rng.choice(candidates)
                    ledger.revoked.add(target)  # claimed: no other client revokes it
                else:
                    target = None
            if step != "issue" and not documents:
                step = "issue"
            try:
                count += 1
                if step == "issue":
                    idem = f"soak-{n}-{count}"
                    response = client.post(
                        f"/issuers/{SLUG}/credentials",
                        json={"achievement_id": achievement, "formats": ["ob3-di"],
                              "recipient": {"email": f"c{n}-{count}@soak.example"}},
                        headers={**admin, "Idempotency-Key": idem},
                    )  # fmt: skip
                    if ledger.answer(step, response, (201,)):
                        body = response.json()
                        credential_id = body["id"].removeprefix("urn:uuid:")
                        with ledger.lock:
                            ledger.issued[credential_id] = idem
                            ledger.documents.append(body["formats"]["ob3-di"])
                            if count % 2:  # half are kept valid: a revoked one is not imported
                                ledger.kept.add(credential_id)
                                ledger.keepers.append(body["formats"]["ob3-di"])
                elif step == "verify":
                    response = client.post("/verifier/verify", json=rng.choice(documents))
                    ledger.answer(step, response, (200,))
                elif step == "revoke":
                    if target is None:
                        continue
                    response = client.post(
                        f"/issuers/{SLUG}/credentials/{target}/revoke", headers=admin
                    )
                    if not ledger.answer(step, response, (200,)):
                        with ledger.lock:
                            ledger.revoked.discard(target)
                elif step == "status":
                    status = rng.choice(documents)["credentialStatus"]
                    status = status[0] if isinstance(status, list) else status
                    response = client.get(status["statusListCredential"])
                    ledger.answer(step, response, (200,))
                elif step == "import" and learner is not None:
                    fresh = [d for d in keepers if d["id"] not in held]  # a second copy is a 409
                    if not fresh:
                        continue
                    chosen = rng.choice(fresh)
                    response = client.post("/wallet/credentials", json=chosen, headers=learner)
                    if ledger.answer(step, response, (200, 201)):
                        held.add(chosen["id"])
                        mine.append(response.json()["id"])
                        with ledger.lock:
                            ledger.imported.append((n, response.json()["id"]))
                elif step == "share" and learner is not None and mine:
                    response = client.post(
                        "/wallet/shares",
                        json={"credentials": [{"id": rng.choice(mine)}], "label": "soak"},
                        headers=learner,
                    )
                    if ledger.answer(step, response, (201,)):
                        with ledger.lock:
                            ledger.shares += 1
            except httpx.HTTPError as exc:
                with ledger.lock:
                    ledger.statuses["transport error"] += 1
                    ledger.problems.append(f"{step}: {type(exc).__name__}")


def _reconcile(engine: Engine, base: str, ledger: Ledger, contexts: Path) -> dict[str, Any]:
    """Read the database and the published lists; every mismatch is a string in 'mismatches'."""
    mismatches: list[str] = []
    with Session(engine) as session:
        institution = session.exec(select(Institution).where(Institution.slug == SLUG)).one()
        rows = session.exec(
            select(IssuedCredential.id, IssuedCredential.idempotency_key, IssuedCredential.status)
            .where(IssuedCredential.issuer_id == institution.id)
        ).all()  # fmt: skip
        audit = Counter(
            session.exec(
                select(AuditEvent.action).where(AuditEvent.issuer_id == institution.id)
            ).all()
        )
        entries = session.exec(
            select(StatusEntry.list_id, StatusEntry.position, StatusEntry.credential_id)
            .join(StatusList, col(StatusList.id) == col(StatusEntry.list_id))
            .where(StatusList.purpose == "revocation")
        ).all()  # fmt: skip
        wallet_rows = _count_table(session, "wallet_credential")
        share_rows = _count_table(session, "share")
    stored = {r[0]: r[1] for r in rows}
    if stored != ledger.issued:
        missing = set(ledger.issued) - set(stored)
        extra = set(stored) - set(ledger.issued)
        mismatches.append(f"issued: {len(missing)} acknowledged missing, {len(extra)} extra")
    if len(set(stored.values())) != len(stored):
        mismatches.append("issued: an idempotency key is used twice")
    if audit["credential.issued"] != len(ledger.issued):
        mismatches.append(
            f"audit: {audit['credential.issued']} issued rows for {len(ledger.issued)}"
        )
    revoked_rows = {r[0] for r in rows if r[2] == "revoked"}
    if revoked_rows != ledger.revoked:
        mismatches.append(
            f"revoked: {len(revoked_rows)} rows for {len(ledger.revoked)} acknowledged"
        )
    if audit["credential.revoke"] != len(ledger.revoked):
        mismatches.append(
            f"audit: {audit['credential.revoke']} revoke rows for {len(ledger.revoked)}"
        )
    expected: dict[str, set[int]] = {}
    for list_id, position, credential_id in entries:
        bits = expected.setdefault(list_id, set())
        if credential_id in ledger.revoked:
            bits.add(position)
    loader = ContextCache(contexts).loader()
    bits_checked = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for list_id, positions in expected.items():
            document = client.get(f"/issuers/{SLUG}/status/{list_id}").json()
            data_integrity.verify_proofs(
                document, resolve_key=resolve_offline, loader=loader, now=datetime.now(UTC)
            )
            published = status_list.decode_bitstring(document["credentialSubject"]["encodedList"])
            if set(published.set_indices()) != positions:
                mismatches.append(f"status list {list_id}: published bits differ from the ledger")
            bits_checked += len(positions)
    if wallet_rows is not None and wallet_rows != len(ledger.imported):
        mismatches.append(f"wallet: {wallet_rows} rows for {len(ledger.imported)} imports")
    if share_rows is not None and share_rows != ledger.shares:
        mismatches.append(f"shares: {share_rows} rows for {ledger.shares} acknowledged")
    return {
        "credentials reconciled": len(stored),
        "revocations reconciled": len(revoked_rows),
        "status bits verified in signed lists": bits_checked,
        "audit rows reconciled": audit["credential.issued"] + audit["credential.revoke"],
        "wallet imports reconciled": wallet_rows,
        "shares reconciled": share_rows,
        "mismatches": mismatches,
    }


def _count_table(session: Session, table: str) -> int | None:
    exists = session.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar()
    if exists is None:
        return None
    return int(session.execute(select(func.count()).select_from(text(table))).scalar_one())


def run(
    *,
    seconds: float,
    clients: int,
    database_url: str,
    shared: Path,
    quiet: bool = False,
    prove_reconciler: bool = False,
) -> dict[str, Any]:
    """One soak: the figures and the reconciliation (``mismatches`` empty when all is well).

    ``prove_reconciler`` also reconciles a tampered copy of the ledger, whose mismatches are
    returned as ``caught`` (the test shows the reconciliation can fail).
    """
    caught: list[str] = []
    if make_url(database_url).get_backend_name() != "postgresql":
        raise SystemExit("the soak runs on PostgreSQL (several uvicorn workers, one database)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log_path = LOG_DIR / f"soak-{stamp}-{uuid.uuid4().hex[:6]}.log"
    with tempfile.TemporaryDirectory() as scratch, fresh_schema(database_url) as url:
        contexts = Path(scratch) / "contexts"
        ContextCache(contexts).sync_from_dir(shared / "contexts")
        engine = make_engine(url)
        upgrade(engine)
        with server(url, contexts, log_path) as base:
            admin, achievement, wallet = _setup(base)
            ledger = Ledger()
            started = time.monotonic()
            until = started + seconds
            with ThreadPoolExecutor(clients) as pool:
                for future in [
                    pool.submit(_client, n, base, admin, achievement, wallet, until, ledger)
                    for n in range(clients)
                ]:
                    future.result()
            elapsed = time.monotonic() - started
            reconciliation = _reconcile(engine, base, ledger, contexts)
            if prove_reconciler:  # a ledger with one phantom issuance and one lost revocation
                tampered = Ledger(
                    issued={**ledger.issued, str(uuid.uuid4()): "phantom"},
                    revoked=set(sorted(ledger.revoked)[1:]),
                    imported=ledger.imported,
                    shares=ledger.shares,
                )
                caught = _reconcile(engine, base, tampered, contexts)["mismatches"]
        engine.dispose()
    requests = sum(ledger.steps.values())
    figures: dict[str, Any] = {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "uvicorn workers": 2,
        "wallet steps": "run" if wallet else "skipped (no /wallet/credentials, /wallet/shares)",
        "requests": requests,
        "requests per second": round(requests / elapsed, 1),
        "by step": dict(sorted(ledger.steps.items())),
        "by status": dict(sorted(ledger.statuses.items())),
        **reconciliation,
        "problems": ledger.problems,
        "caught": caught,
        "server log": str(log_path.relative_to(ROOT)),
    }
    if not quiet:
        for name, value in figures.items():
            print(f"{name}: {value}")
    return figures


def ok(figures: dict[str, Any]) -> bool:
    statuses = figures["by status"]
    return (
        not figures["mismatches"]
        and statuses.get("5xx", 0) == 0
        and statuses.get("4xx", 0) == 0
        and statuses.get("transport error", 0) == 0
        and figures["credentials reconciled"] > 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TAITO_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("TAITO_SHARED_DIR", ROOT.parent / "shared")),
    )
    args = parser.parse_args()
    figures = run(
        seconds=args.seconds,
        clients=args.clients,
        database_url=args.database_url,
        shared=args.shared,
    )
    print("soak: OK" if ok(figures) else "soak: FAILED")
    sys.exit(0 if ok(figures) else 1)


if __name__ == "__main__":
    main()
