"""Bulk issuance: a CSV or JSON Lines file becomes a batch of rows that workers issue.

Every record is parsed and validated when the file arrives; a record that does not validate is
kept as an ``invalid`` row with its errors (row, field, message) and never issued. A file that
cannot be read as a whole (not UTF-8, an unknown or missing column, broken quoting) is refused
with :class:`InvalidBatchFile` and nothing is written.

**Idempotency.** Each row issues through :func:`issuer.issuance.issue` with the key
``batch:{achievement_id}:{row_key}`` (unique per institution, see ``issued_credential``). The key
does not depend on the batch, so re-submitting the same file - or a corrected file that repeats
some rows - maps every repeated row key to the credential already issued: nothing is issued twice.
A repeated row key whose data changed fails with ``conflict`` instead of issuing a second award.
An ``Idempotency-Key`` header on the upload makes the upload itself idempotent: the same key and
the same request return the batch created first, a different request under it is a conflict.

Cells are data, never formulas: ``=1+2`` in a name is stored and issued as the text ``=1+2``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer import achievements, audit, institutions, worker
from issuer.batch_tables import DONE, FAILED, INVALID, PENDING, RUNNING, Batch, BatchRow
from issuer.context import Caller, IssuerContext
from issuer.errors import Conflict, IssuerError, NotFound
from issuer.models import CredentialIssue
from issuer.tables import Institution, IssuedCredential
from schemas import strict_json
from schemas.errors import TaitoError

MAX_ROWS = 100_000
ROW_KEY_MAX = 150  # "batch:" + 36-character achievement id + ":" + row key <= 200
COLUMNS = (
    "row_key",
    "email",
    "did",
    "student_number",
    "given_name",
    "family_name",
    "valid_until",
    "results",
)
RECIPIENT_COLUMNS = ("email", "did", "student_number", "given_name", "family_name")
CSV_TYPES = ("text/csv",)
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")


class InvalidBatchFile(IssuerError):
    """The file as a whole cannot be read; ``extra`` says where (``row``, ``column``)."""

    code = "invalid_batch_file"
    status = 422
    title = "The batch file cannot be read"


class BatchTooLarge(IssuerError):
    code = "batch_too_large"
    status = 413
    title = "The batch has too many rows"


class UnsupportedBatchType(IssuerError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported batch file type"


# --- parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One record of the file, as text: ``row`` is the line it starts on (a spreadsheet's row)."""

    row: int
    cells: dict[str, Any]
    errors: tuple[dict[str, str], ...] = ()


@dataclass
class ParsedRow:
    row: int
    row_key: str | None
    request: CredentialIssue | None
    errors: list[dict[str, str]] = field(default_factory=list)


def media_kind(content_type: str | None) -> str:
    """``csv`` or ``jsonl`` from a Content-Type header; anything else is refused."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence in CSV_TYPES:
        return "csv"
    if essence in JSON_LINES_TYPES:
        return "jsonl"
    raise UnsupportedBatchType(
        f"Send the batch as text/csv or application/x-ndjson, not {essence or 'no Content-Type'!r}."
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InvalidBatchFile(
            f"The file is not UTF-8: undecodable byte at offset {exc.start} (row {row}).",
            extra={"row": row, "offset": exc.start},
        ) from exc


def _cell(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def read_csv(data: bytes) -> Iterator[Record]:
    """Records of a CSV file whose header names columns of :data:`COLUMNS` (``row_key`` required)."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidBatchFile("The file is empty.", extra={"row": 1})
        names = [name.strip().lower() for name in header]
        for index, name in enumerate(names, start=1):
            if name not in COLUMNS:
                raise InvalidBatchFile(
                    f"Unknown column {name!r} (column {index} of the header); "
                    f"the columns are {', '.join(COLUMNS)}.",
                    extra={"row": 1, "column": index},
                )
            if names.index(name) != index - 1:
                raise InvalidBatchFile(
                    f"The column {name!r} appears twice in the header.",
                    extra={"row": 1, "column": index},
                )
        if "row_key" not in names:
            raise InvalidBatchFile("The header has no 'row_key' column.", extra={"row": 1})
        last = reader.line_num
        for values in reader:
            row, last = last + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines and all-empty rows that spreadsheets append
            errors: tuple[dict[str, str], ...] = ()
            if len(values) != len(names):
                errors = (
                    {
                        "field": "*",
                        "message": f"has {len(values)} cells; the header has {len(names)}",
                    },
                )
            yield Record(row, dict(zip(names, values, strict=False)), errors)
    except csv.Error as exc:
        raise InvalidBatchFile(
            f"The CSV is malformed at row {reader.line_num}: {exc}.",
            extra={"row": reader.line_num},
        ) from exc


def read_json_lines(data: bytes) -> Iterator[Record]:
    """Records of a JSON Lines file: one object per line, members named as :data:`COLUMNS`."""
    for row, line in enumerate(_decode(data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = strict_json.loads(line)
        except TaitoError as exc:
            yield Record(row, {}, ({"field": "*", "message": f"not JSON: {exc.detail}"},))
            continue
        if not isinstance(value, dict):
            yield Record(row, {}, ({"field": "*", "message": "is not a JSON object"},))
            continue
        unknown = sorted(set(value) - set(COLUMNS))
        errors = tuple({"field": name, "message": "is not a known member"} for name in unknown)
        yield Record(row, value, errors)


def _text(cells: dict[str, Any], name: str, errors: list[dict[str, str]]) -> str | None:
    value = cells.get(name)
    if value is None or isinstance(value, str):
        return _cell(value)
    errors.append({"field": name, "message": "must be text"})
    return None


def _valid_until(text: str, now: datetime, errors: list[dict[str, str]]) -> datetime | None:
    try:
        if len(text) == 10:  # a date: valid through the end of that day, UTC
            moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59), UTC)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append({"field": "valid_until", "message": "is not an ISO 8601 date or date-time"})
        return None
    if moment.tzinfo is None:
        errors.append(
            {"field": "valid_until", "message": "needs a time zone offset (e.g. Z or +02:00)"}
        )
        return None
    if moment <= now:
        errors.append({"field": "valid_until", "message": "is in the past"})
        return None
    return moment.astimezone(UTC)


def _results(value: Any, errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """``"Grade=5;Credits=5"``, or (JSON Lines) a list of ``{"name", "value"}`` objects."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        errors.append({"field": "results", "message": "must be 'Name=Value;...' or a list"})
        return []
    results = []
    for part in value.split(";"):
        if not part.strip():
            continue
        name, equals, result = part.partition("=")
        if not equals or not name.strip() or not result.strip():
            errors.append({"field": "results", "message": f"{part.strip()!r} is not 'Name=Value'"})
            continue
        results.append({"name": name.strip(), "value": result.strip()})
    return results


def _field_of(location: Sequence[int | str]) -> str:
    names = [str(part) for part in location if isinstance(part, str)]
    if names[:1] == ["recipient"] and len(names) > 1:
        return names[1]
    return names[0] if names else "*"


def validate(
    record: Record,
    *,
    achievement_id: str,
    formats: Sequence[str],
    now: datetime,
    seen: dict[str, int],
) -> ParsedRow:
    """One record as a :class:`CredentialIssue`, or the list of what is wrong with it."""
    errors = list(record.errors)
    cells = record.cells
    row_key = _text(cells, "row_key", errors)
    if row_key is None:
        errors.append({"field": "row_key", "message": "is required"})
    elif len(row_key) > ROW_KEY_MAX:
        errors.append({"field": "row_key", "message": f"is longer than {ROW_KEY_MAX} characters"})
        row_key = None
    elif any(unicodedata.category(c).startswith("C") for c in row_key):
        errors.append({"field": "row_key", "message": "contains control characters"})
        row_key = None
    elif row_key in seen:
        errors.append(
            {"field": "row_key", "message": f"repeats the row key of row {seen[row_key]}"}
        )
    else:
        seen[row_key] = record.row
    recipient = {
        name: value
        for name in RECIPIENT_COLUMNS
        if (value := _text(cells, name, errors)) is not None
    }
    until_text = _text(cells, "valid_until", errors)
    valid_until = _valid_until(until_text, now, errors) if until_text else None
    results = _results(cells.get("results"), errors)
    request = None
    try:
        request = CredentialIssue.model_validate(
            {
                "achievement_id": achievement_id,
                "recipient": recipient,
                "valid_until": valid_until,
                "results": results,
                "formats": list(formats),
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            location = error.get("loc", ())
            message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
            errors.append({"field": _field_of(location), "message": message})
    if errors:
        return ParsedRow(record.row, row_key, None, errors)
    return ParsedRow(record.row, row_key, request)


def parse(
    data: bytes,
    kind: str,
    *,
    achievement_id: str,
    formats: Sequence[str],
    now: datetime,
    max_rows: int = MAX_ROWS,
) -> list[ParsedRow]:
    """Every record of the file, validated. Raises for a file that cannot be read as a whole."""
    records = read_csv(data) if kind == "csv" else read_json_lines(data)
    seen: dict[str, int] = {}
    rows: list[ParsedRow] = []
    for record in records:
        if len(rows) >= max_rows:
            raise BatchTooLarge(
                f"A batch holds at most {max_rows} rows; split the file.",
                extra={"row": record.row},
            )
        rows.append(
            validate(record, achievement_id=achievement_id, formats=formats, now=now, seen=seen)
        )
    if not rows:
        raise InvalidBatchFile("The file has no rows.", extra={"row": 1})
    return rows


# --- use cases -----------------------------------------------------------------------------------


def row_idempotency_key(achievement_id: str, row_key: str) -> str:
    """The ``issue`` idempotency key of a row: the same row key of the same achievement is one award."""
    return f"batch:{achievement_id}:{row_key}"


def _request_hash(
    kind: str, achievement_id: str, formats: Sequence[str], name: str | None, data: bytes
) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([kind, achievement_id, list(formats), name]).encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def _earlier(
    session: Session, institution: Institution, key: str, request_hash: str
) -> Batch | None:
    earlier = session.exec(
        select(Batch).where(Batch.issuer_id == institution.id, Batch.idempotency_key == key)
    ).first()
    if earlier is not None and earlier.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was used for a different batch.")
    return earlier


def create(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    *,
    data: bytes,
    content_type: str | None,
    achievement_id: str,
    formats: Sequence[str] = ("ob3-di",),
    name: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Batch, bool]:
    """Parse, validate and store a batch; returns ``(batch, created)``. Workers issue its rows."""
    institutions.authorize(caller, institution, "credentials:issue")
    assert institution.id is not None
    kind = media_kind(content_type)
    formats = list(dict.fromkeys(formats))
    request_hash = _request_hash(kind, achievement_id, formats, name, data)
    if idempotency_key is not None:
        earlier = _earlier(session, institution, idempotency_key, request_hash)
        if earlier is not None:
            return earlier, False
    achievement = achievements.get(session, institution, achievement_id)
    parsed = parse(data, kind, achievement_id=achievement.id, formats=formats, now=context.clock())
    invalid = sum(1 for p in parsed if p.request is None)
    batch = Batch(
        issuer_id=institution.id,
        achievement_id=achievement.id,
        name=name,
        formats=formats,
        actor=caller.actor,
        scopes=sorted(caller.scopes),
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        total=len(parsed),
        invalid=invalid,
    )
    session.add(batch)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = _earlier(session, institution, idempotency_key, request_hash)
        if earlier is None:
            raise
        return earlier, False
    values = [
        {
            "batch_id": batch.id,
            "row": p.row,
            "row_key": p.row_key,
            "idempotency_key": (
                row_idempotency_key(achievement.id, p.row_key)
                if p.request is not None and p.row_key is not None
                else None
            ),
            "request": p.request.model_dump(mode="json") if p.request is not None else None,
            "state": PENDING if p.request is not None else INVALID,
            "attempts": 0,
            "errors": p.errors or None,
            "finished_at": None if p.request is not None else batch.created_at,
        }
        for p in parsed
    ]
    for start in range(0, len(values), 5000):
        session.execute(insert(BatchRow), values[start : start + 5000])
    audit.record(
        session,
        caller,
        institution.id,
        "batch.created",
        batch.id,
        achievement=achievement.id,
        rows=len(parsed),
        invalid=invalid,
        formats=formats,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = _earlier(session, institution, idempotency_key, request_hash)
        if earlier is None:
            raise
        return earlier, False
    if len(values) >= worker.ANALYZE_FROM:
        # A bulk load: statistics now, so the first claims are planned on them (manual §14.4.9).
        worker.analyze(context.engine, ["batch_row"])
    session.refresh(batch)
    return batch, True


def get(session: Session, caller: Caller, institution: Institution, batch_id: str) -> Batch:
    institutions.authorize(caller, institution, "credentials:issue")
    batch = session.get(Batch, batch_id)
    if batch is None or batch.issuer_id != institution.id:
        raise NotFound("The institution has no such batch.")
    return batch


@dataclass(frozen=True)
class Counts:
    total: int = 0
    pending: int = 0
    running: int = 0
    issued: int = 0
    failed: int = 0
    invalid: int = 0

    @property
    def state(self) -> str:
        """``done`` when no row is left to run; ``pending`` until the first row starts."""
        if self.pending + self.running == 0:
            return "done"
        if self.running + self.issued + self.failed == 0:
            return "pending"
        return "running"


def counts(session: Session, batch: Batch) -> Counts:
    by_state: dict[str, int] = dict(
        session.exec(
            select(BatchRow.state, func.count())
            .where(BatchRow.batch_id == batch.id)
            .group_by(col(BatchRow.state))
        ).all()
    )
    return Counts(
        total=sum(by_state.values()),
        pending=by_state.get(PENDING, 0),
        running=by_state.get(RUNNING, 0),
        issued=by_state.get(DONE, 0),
        failed=by_state.get(FAILED, 0),
        invalid=by_state.get(INVALID, 0),
    )


@dataclass(frozen=True)
class RowResult:
    row: int
    row_key: str | None
    state: str
    credential_id: str | None
    error_code: str | None
    error: str | None
    errors: list[dict[str, Any]]


def rows(
    session: Session,
    batch: Batch,
    *,
    after: int = 0,
    limit: int = 100,
    state: str | None = None,
) -> list[RowResult]:
    """Rows in file order after row ``after`` (a cursor), with each issued row's credential id."""
    query = (
        select(BatchRow, IssuedCredential.id)
        .outerjoin(
            IssuedCredential,
            and_(
                col(IssuedCredential.issuer_id) == batch.issuer_id,
                col(IssuedCredential.idempotency_key) == col(BatchRow.idempotency_key),
                col(BatchRow.state) == DONE,
            ),
        )
        .where(BatchRow.batch_id == batch.id, col(BatchRow.row) > after)
    )
    if state is not None:
        query = query.where(BatchRow.state == state)
    found = session.exec(query.order_by(col(BatchRow.row)).limit(limit)).all()
    return [
        RowResult(
            row=r.row,
            row_key=r.row_key,
            state=r.state,
            credential_id=f"urn:uuid:{credential_id}" if credential_id else None,
            error_code=r.error_code,
            error=r.error,
            errors=list(r.errors or []),
        )
        for r, credential_id in found
    ]
