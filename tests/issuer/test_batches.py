"""Bulk issuance: upload -> 202 -> a worker drains the rows -> every credential verifies, once."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session, col, func, select

import issuer.batch_tables  # noqa: F401  (registers the batch tables before taito wires them)
from issuer import batch_routes, batches, issuance, status, worker
from issuer.batch_tables import Batch, BatchRow
from issuer.context import Caller, IssuerContext
from issuer.models import CredentialIssue
from issuer.tables import AuditEvent, Institution, IssuedCredential, StatusEntry, StatusList
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from tests.issuer.conftest import (
    ACHIEVEMENT,
    OPERATOR,
    PUBLIC_URL,
    Env,
    make_institution,
    make_key,
    operator,
)
from tests.issuer.test_status import _bit
from tests.taito.test_metrics import counted, samples
from verifier.credential import VerifyOptions, verify_credential

CSV = "text/csv"
NDJSON = "application/x-ndjson"
HEADER = "row_key,email,student_number,given_name,family_name,valid_until,results\n"


@pytest.fixture
def app_client(database_url: str, shared: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The issuer app with the batch router (included here until taito.app wires it)."""
    ContextCache(tmp_path / "contexts").sync_from_dir(shared / "contexts")
    migrations = make_engine(database_url)
    upgrade(migrations)
    migrations.dispose()
    settings = Settings(
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        operator_token=OPERATOR,
        public_url=PUBLIC_URL,
        context_dir=tmp_path / "contexts",
    )
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/issuers/{slug}/batches" for r in app.routes):
        app.include_router(batch_routes.router)
    with TestClient(app) as client:
        background = getattr(app.state, "batch_worker", None)
        if background is not None:
            background.stop()  # these tests drain explicitly, so counts are exact
        yield client


def _context(env: Env) -> IssuerContext:
    context: IssuerContext = env.client.app.state.issuer  # type: ignore[attr-defined]
    return context


def _achievement(env: Env, auth: dict[str, str] | None = None, slug: str | None = None) -> str:
    response = env.client.post(
        f"/issuers/{slug or env.slug}/achievements", json=ACHIEVEMENT, headers=auth or env.issuing
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _upload(
    env: Env,
    achievement_id: str,
    body: str | bytes,
    media_type: str = CSV,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Any:
    return env.client.post(
        f"/issuers/{env.slug}/batches",
        params={"achievement_id": achievement_id, **params},
        content=body.encode() if isinstance(body, str) else body,
        headers={**(headers or env.issuing), "Content-Type": media_type},
    )


def _recipients(prefix: str, n: int) -> str:
    """A CSV of ``n`` recipients: row keys ``<prefix>-0``... and one email each."""
    return HEADER + "".join(f"{prefix}-{i},{prefix}{i}@example.fi,,,,,\n" for i in range(n))


def _get(env: Env, batch_id: str, **params: Any) -> dict[str, Any]:
    response = env.client.get(
        f"/issuers/{env.slug}/batches/{batch_id}", params=params, headers=env.issuing
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _drain(env: Env) -> int:
    return worker.drain(_context(env), owner="test-worker")


def _count(env: Env, table: Any, *where: Any) -> int:
    with Session(_context(env).engine) as session:
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())


def _options(env: Env) -> VerifyOptions:
    return VerifyOptions(
        now=datetime.now(UTC), loader=_context(env).loader, resolve_method=env.resolve
    )


def test_batch_issues_every_row_and_each_credential_verifies(env: Env) -> None:
    achievement_id = _achievement(env)
    body = HEADER + (
        "r-1,aino@example.fi,0001,Aino,Virtanen,,Grade=5;Credits=5\n"
        "r-2,,0002,Eero,Korhonen,2031-06-30,\n"
        "r-3,liisa@example.fi,,Liisa,Mäkinen,2031-01-01T12:00:00+02:00,Grade=4\n"
    )
    created = _upload(env, achievement_id, body, name="Spring 2026", formats=["ob3-di", "ob3-jwt"])
    assert created.status_code == 202, created.text
    batch = created.json()
    assert created.headers["location"] == f"/issuers/{env.slug}/batches/{batch['id']}"
    assert batch["state"] == "pending"
    assert batch["counts"] == {
        "total": 3,
        "pending": 3,
        "running": 0,
        "issued": 0,
        "failed": 0,
        "invalid": 0,
    }
    assert batch["rows"] == []  # no invalid rows to list
    assert _count(env, IssuedCredential) == 0

    assert _drain(env) == 3
    done = _get(env, batch["id"])
    assert done["state"] == "done"
    assert done["counts"]["issued"] == 3
    assert [(r["row"], r["row_key"], r["state"]) for r in done["rows"]] == [
        (2, "r-1", "done"),
        (3, "r-2", "done"),
        (4, "r-3", "done"),
    ]
    for row in done["rows"]:
        credential = env.client.get(
            f"/issuers/{env.slug}/credentials/{row['credential_id']}", headers=env.issuing
        ).json()
        assert set(credential["formats"]) == {"ob3-di", "ob3-jwt"}
        di = credential["formats"]["ob3-di"]
        report = verify_credential(di, _options(env))
        assert report.verified, report.to_json()
    first = env.client.get(
        f"/issuers/{env.slug}/credentials/{done['rows'][0]['credential_id']}", headers=env.issuing
    ).json()["formats"]["ob3-di"]
    results = first["credentialSubject"].get("result", [])
    assert {r.get("value") for r in results} >= {"5"}
    third = env.client.get(
        f"/issuers/{env.slug}/credentials/{done['rows'][2]['credential_id']}", headers=env.issuing
    ).json()["formats"]["ob3-di"]
    assert third["validUntil"] == "2031-01-01T10:00:00Z"
    # Audit: the batch creator is the actor of every issue, and the batch id links them.
    events = env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json()
    issued = [e for e in events if e["action"] == "credential.issued"]
    assert len(issued) == 3
    assert {e["request_id"] for e in issued} == {batch["id"]}
    assert {e["actor"] for e in issued} == {
        e["actor"] for e in events if e["action"] == "batch.created"
    }


def test_the_operators_metrics_show_the_queue_by_state(env: Env) -> None:
    def queue() -> dict[str, float]:
        scrape = env.client.get("/metrics", headers=operator())
        assert scrape.status_code == 200, scrape.text
        return {
            dict(labels)["state"]: value
            for (name, labels), value in samples(scrape.text).items()
            if name == "taito_batch_rows"
        }

    assert queue() == {}
    body = HEADER + "r-1,a@example.fi,,,,,\nr-2,b@example.fi,,,,,\nr-3,,,,,,\n"
    assert _upload(env, _achievement(env), body).status_code == 202
    assert queue() == {"pending": 2, "invalid": 1}  # r-3 names no recipient
    signed = counted("taito_credentials_issued", format="ob3-di")
    assert _drain(env) == 2
    assert queue() == {"done": 2, "invalid": 1}
    # the worker (here in this process) counts what it signed, once committed
    assert counted("taito_credentials_issued", format="ob3-di") - signed == 2


def test_invalid_rows_are_reported_and_skipped(env: Env) -> None:
    achievement_id = _achievement(env)
    body = HEADER + "\n".join(
        [
            'ok-1,aino@example.fi,,=HYPERLINK("http://evil"),@SUM(A1),,',  # 2: valid, text kept
            ",eero@example.fi,,,,,",  # 3: no row key
            "bad-email,not-an-email,,,,,",  # 4
            "ok-1,liisa@example.fi,,,,,",  # 5: repeats row 2's key
            "nobody,,,Only,Names,,",  # 6: no identifier
            "past,p@example.fi,,,,2001-01-01,",  # 7
            "naive,n@example.fi,,,,2031-01-01T00:00:00,",  # 8: no time zone
            "grades,g@example.fi,,,,,Grade",  # 9: result without a value
            "short,s@example.fi",  # 10: too few cells
            'multi-line,m@example.fi,,"Anna',
            'Maria",,,',  # 11-12: one valid record over two lines
            "key\u0007,k@example.fi,,,,,",  # 13: a control character in the row key
        ]
    )
    response = _upload(env, achievement_id, body + "\n")
    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["counts"]["total"] == 11
    assert batch["counts"]["invalid"] == 9
    assert batch["counts"]["pending"] == 2  # ok-1 and multi-line
    errors = {r["row"]: [(e["field"], e["message"]) for e in r["errors"]] for r in batch["rows"]}
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9, 10, 13}
    assert errors[3] == [("row_key", "is required")]
    assert errors[4][0][0] == "email"
    assert errors[5] == [("row_key", "repeats the row key of row 2")]
    assert errors[6] == [("recipient", "a recipient needs an email, a DID or a student number")]
    assert errors[7] == [("valid_until", "is in the past")]
    assert errors[8] == [("valid_until", "needs a time zone offset (e.g. Z or +02:00)")]
    assert errors[9] == [("results", "'Grade' is not 'Name=Value'")]
    assert errors[10][0] == ("*", "has 2 cells; the header has 7")
    assert errors[13] == [("row_key", "contains control characters")]
    assert all(r["state"] == "invalid" and r["credential_id"] is None for r in batch["rows"])

    assert _drain(env) == 2
    done = _get(env, batch["id"])
    assert done["state"] == "done"
    assert (done["counts"]["issued"], done["counts"]["invalid"]) == (2, 9)
    assert _count(env, IssuedCredential) == 2
    rows = {r["row_key"]: r for r in done["rows"] if r["state"] == "done"}
    assert set(rows) == {"ok-1", "multi-line"}
    formula = env.client.get(
        f"/issuers/{env.slug}/credentials/{rows['ok-1']['credential_id']}", headers=env.issuing
    ).json()
    with Session(_context(env).engine) as session:
        award = session.get(IssuedCredential, formula["id"].removeprefix("urn:uuid:"))
        assert award is not None
        assert award.award["recipient"]["given_name"] == '=HYPERLINK("http://evil")'
        assert award.award["recipient"]["family_name"] == "@SUM(A1)"
    assert verify_credential(formula["formats"]["ob3-di"], _options(env)).verified
    multi = rows["multi-line"]
    with Session(_context(env).engine) as session:
        award = session.get(IssuedCredential, multi["credential_id"].removeprefix("urn:uuid:"))
        assert award is not None and award.award["recipient"]["given_name"] == "Anna\nMaria"


def test_json_lines_batch(env: Env) -> None:
    achievement_id = _achievement(env)
    lines = [
        json.dumps(
            {"row_key": "j1", "email": "a@example.fi", "results": [{"name": "Grade", "value": "5"}]}
        ),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"row_key": "j2", "did": "did:example:123", "surprise": 1}),
        json.dumps({"row_key": "j3", "student_number": 42}),
        json.dumps({"row_key": "j4", "did": "did:example:456", "results": "Grade=A"}),
    ]
    response = _upload(env, achievement_id, "\n".join(lines), NDJSON)
    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["counts"] == {
        "total": 6,
        "pending": 2,
        "running": 0,
        "issued": 0,
        "failed": 0,
        "invalid": 4,
    }
    errors = {r["row"]: r["errors"][0]["field"] for r in batch["rows"]}
    assert errors == {3: "*", 4: "*", 5: "surprise", 6: "student_number"}
    assert _drain(env) == 2
    assert _get(env, batch["id"])["counts"]["issued"] == 2


@pytest.mark.parametrize(
    ("body", "media_type", "status", "code", "where"),
    [
        (
            "row_key,email,favourite_colour\nr,a@x.fi,red\n",
            CSV,
            422,
            "invalid_batch_file",
            {"row": 1, "column": 3},
        ),
        ("email,given_name\na@x.fi,A\n", CSV, 422, "invalid_batch_file", {"row": 1}),
        (
            "row_key,email,EMAIL\nr,a@x.fi,b@x.fi\n",
            CSV,
            422,
            "invalid_batch_file",
            {"row": 1, "column": 3},
        ),
        (
            b"row_key,email\nr1,a@x.fi\nr2,\xff\xfe@x.fi\n",
            CSV,
            422,
            "invalid_batch_file",
            {"row": 3},
        ),
        ("", CSV, 422, "invalid_batch_file", {"row": 1}),
        ("row_key,email\n", CSV, 422, "invalid_batch_file", {"row": 1}),
        ('row_key,email\nr1,"a@x.fi"oops\n', CSV, 422, "invalid_batch_file", {"row": 2}),
        ("\n\n", NDJSON, 422, "invalid_batch_file", {"row": 1}),
        ('{"row_key": "r"}', "application/json", 415, "unsupported_media_type", {}),
    ],
)
def test_malformed_files_are_refused_and_change_nothing(
    env: Env, body: str | bytes, media_type: str, status: int, code: str, where: dict[str, int]
) -> None:
    achievement_id = _achievement(env)
    audit_before = _count(env, AuditEvent)
    response = _upload(env, achievement_id, body, media_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert {k: problem[k] for k in where} == where
    assert (_count(env, Batch), _count(env, BatchRow)) == (0, 0)
    assert _count(env, AuditEvent) == audit_before


def test_bad_parameters(env: Env) -> None:
    achievement_id = _achievement(env)
    body = HEADER + "r,a@example.fi,,,,,\n"
    assert _upload(env, "no-such-achievement", body).status_code == 404
    bad_format = _upload(env, achievement_id, body, formats=["pdf"])
    assert bad_format.status_code == 422
    assert bad_format.json()["code"] == "validation_failed"
    at_limit = batches.parse(
        (HEADER + "r1,a@example.fi,,,,,\nr2,b@example.fi,,,,,\n").encode(),
        "csv",
        achievement_id=achievement_id,
        formats=["ob3-di"],
        now=datetime.now(UTC),
        max_rows=2,
    )
    assert len(at_limit) == 2  # exactly at the limit is fine ...
    with pytest.raises(batches.BatchTooLarge):  # ... one more is not
        batches.parse(
            (
                HEADER + "r1,a@example.fi,,,,,\nr2,b@example.fi,,,,,\nr3,c@example.fi,,,,,\n"
            ).encode(),
            "csv",
            achievement_id=achievement_id,
            formats=["ob3-di"],
            now=datetime.now(UTC),
            max_rows=2,
        )
    assert _count(env, Batch) == 0


def test_a_file_over_the_body_limit_is_refused(env: Env) -> None:
    achievement_id = _achievement(env)
    limit = env.client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    line = "r-{:07d},student@example.fi,,,,,\n"
    body = HEADER + "".join(line.format(i) for i in range(limit // len(line.format(0)) + 1))
    response = _upload(env, achievement_id, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert _count(env, Batch) == 0


def test_other_institutions_cannot_see_or_create(env: Env) -> None:
    achievement_id = _achievement(env)
    batch_id = _upload(env, achievement_id, HEADER + "r,a@example.fi,,,,,\n").json()["id"]
    make_institution(env.client, "turku")
    turku = make_key(env.client, "turku", ["achievements:write", "credentials:issue"])
    path = f"/issuers/{env.slug}/batches/{batch_id}"
    assert env.client.get(path, headers=turku).status_code == 403
    assert env.client.get(f"/issuers/turku/batches/{batch_id}", headers=turku).status_code == 404
    assert env.client.get(path).status_code == 401
    upload = _upload(env, achievement_id, HEADER + "r,a@example.fi,,,,,\n", headers=turku)
    assert upload.status_code == 403
    # Turku's own batch cannot use Helsinki's achievement.
    foreign = env.client.post(
        "/issuers/turku/batches",
        params={"achievement_id": achievement_id},
        content=HEADER + "r,a@example.fi,,,,,\n",
        headers={**turku, "Content-Type": CSV},
    )
    assert foreign.status_code == 404
    reader = make_key(env.client, env.slug, ["credentials:revoke"], env.admin)
    assert env.client.get(path, headers=reader).status_code == 403
    assert _count(env, Batch) == 1


def test_resubmitting_a_batch_issues_nothing_twice(env: Env) -> None:
    achievement_id = _achievement(env)
    body = HEADER + "r-1,a@example.fi,,,,,\nr-2,b@example.fi,,,,,\n"
    first = _upload(env, achievement_id, body).json()
    _drain(env)
    ids = [r["credential_id"] for r in _get(env, first["id"])["rows"]]
    assert len(set(ids)) == 2 and None not in ids

    # The same file again, as a new batch: each row maps to the credential already issued.
    second = _upload(env, achievement_id, body)
    assert second.status_code == 202 and second.json()["id"] != first["id"]
    _drain(env)
    again = _get(env, second.json()["id"])
    assert again["state"] == "done"
    assert [r["credential_id"] for r in again["rows"]] == ids
    assert _count(env, IssuedCredential) == 2

    # A corrected file: one repeated row unchanged, one new row, one repeated key with new data.
    third = _upload(
        env,
        achievement_id,
        HEADER + "r-1,a@example.fi,,,,,\nr-3,c@example.fi,,,,,\nr-2,x@example.fi,,,,,\n",
    ).json()
    _drain(env)
    rows = {r["row_key"]: r for r in _get(env, third["id"])["rows"]}
    assert rows["r-1"]["credential_id"] == ids[0]
    assert rows["r-3"]["state"] == "done" and rows["r-3"]["credential_id"] not in ids
    assert (rows["r-2"]["state"], rows["r-2"]["error_code"]) == ("failed", "conflict")
    assert rows["r-2"]["credential_id"] is None
    assert _count(env, IssuedCredential) == 3

    # The Idempotency-Key header makes the upload itself idempotent.
    keyed = {**env.issuing, "Idempotency-Key": "upload-7"}
    one = _upload(env, achievement_id, body, headers=keyed)
    two = _upload(env, achievement_id, body, headers=keyed)
    assert (one.status_code, two.status_code) == (202, 200)
    assert one.json()["id"] == two.json()["id"]
    other = _upload(env, achievement_id, body + "r-9,z@example.fi,,,,,\n", headers=keyed)
    assert other.status_code == 409
    assert _count(env, Batch) == 4
    _drain(env)
    assert _count(env, IssuedCredential) == 3


def test_pagination_and_state_filter(env: Env) -> None:
    achievement_id = _achievement(env)
    body = _recipients("p", 5) + "bad,nope,,,,,\n"
    batch_id = _upload(env, achievement_id, body).json()["id"]
    _drain(env)
    seen: list[str] = []
    after = 0
    while True:
        page = _get(env, batch_id, after=after, limit=2)
        seen += [r["row_key"] for r in page["rows"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [f"p-{i}" for i in range(5)] + ["bad"]
    invalid = _get(env, batch_id, state="invalid")["rows"]
    assert [r["row_key"] for r in invalid] == ["bad"]
    assert (
        env.client.get(
            f"/issuers/{env.slug}/batches/{batch_id}", params={"state": "lost"}, headers=env.issuing
        ).status_code
        == 422
    )


def _rows(env: Env, batch_id: str) -> list[BatchRow]:
    with Session(_context(env).engine) as session:
        return list(
            session.exec(
                select(BatchRow).where(BatchRow.batch_id == batch_id).order_by(col(BatchRow.row))
            )
        )


def test_a_dead_workers_rows_are_taken_over_once_the_lease_expires(env: Env) -> None:
    achievement_id = _achievement(env)
    batch_id = _upload(
        env, achievement_id, HEADER + "d-1,a@example.fi,,,,,\nd-2,b@example.fi,,,,,\n"
    ).json()["id"]
    context = _context(env)
    t0 = datetime.now(UTC)
    with Session(context.engine) as session:
        claimed = worker.claim(session, 10, owner="dead", now=t0, lease=timedelta(minutes=1))
        assert [r.row_key for r in claimed] == ["d-1", "d-2"]
        # Nothing is left for anyone else while the lease runs.
        assert worker.claim(session, 10, owner="live", now=t0 + timedelta(seconds=59)) == []
        # The dead worker had issued d-1 (the credential committed) before it died.
        row = claimed[0]
        institution = session.get(Institution, context_issuer_id(session, batch_id))
        assert institution is not None
        earlier, created = issuance.issue(
            session,
            context,
            Caller("operator"),
            institution,
            CredentialIssue.model_validate(row.request),
            row.idempotency_key,
        )
        assert created
    assert _get(env, batch_id)["state"] == "running"
    later = dataclasses.replace(context, clock=lambda: t0 + timedelta(minutes=2))
    assert worker.drain(later, owner="live") == 2
    rows = _rows(env, batch_id)
    assert [(r.state, r.attempts, r.lease_owner) for r in rows] == [("done", 2, "live")] * 2
    done = _get(env, batch_id)
    assert done["rows"][0]["credential_id"] == f"urn:uuid:{earlier.id}"
    assert _count(env, IssuedCredential) == 2


def context_issuer_id(session: Session, batch_id: str) -> int:
    batch = session.get(Batch, batch_id)
    assert batch is not None
    return batch.issuer_id


def test_a_row_that_never_finishes_is_abandoned(env: Env) -> None:
    achievement_id = _achievement(env)
    batch_id = _upload(env, achievement_id, HEADER + "z,a@example.fi,,,,,\n").json()["id"]
    t = datetime.now(UTC)
    with Session(_context(env).engine) as session:
        for attempt in range(worker.MAX_ATTEMPTS):
            now = t + timedelta(minutes=10 * attempt)
            assert len(worker.claim(session, 5, owner=f"crash-{attempt}", now=now)) == 1
        assert worker.claim(session, 5, owner="next", now=t + timedelta(hours=5)) == []
    (row,) = _rows(env, batch_id)
    assert (row.state, row.error_code, row.attempts) == ("failed", "abandoned", worker.MAX_ATTEMPTS)
    assert _count(env, IssuedCredential) == 0


def test_graceful_stop_releases_claimed_rows(env: Env) -> None:
    achievement_id = _achievement(env)
    body = _recipients("g", 4)
    batch_id = _upload(env, achievement_id, body).json()["id"]
    stop = worker.threading.Event()
    stop.set()  # arrives while the chunk is being claimed: the rows go back, nothing is issued
    assert worker.run_once(_context(env), owner="w", limit=4, stop=stop) == 0
    assert [(r.state, r.lease_owner) for r in _rows(env, batch_id)] == [("pending", None)] * 4
    assert _count(env, IssuedCredential) == 0
    # A chunk being issued finishes (one transaction); on_row hears of every row after the commit.
    processed: list[str] = []
    assert worker.run_once(_context(env), owner="w", limit=4, on_row=processed.append) == 4
    assert processed == ["done"] * 4
    assert [r.state for r in _rows(env, batch_id)] == ["done"] * 4
    assert _count(env, IssuedCredential) == 4


def test_revoked_creator_key_issues_nothing_more(env: Env) -> None:
    achievement_id = _achievement(env)
    batch_id = _upload(env, achievement_id, HEADER + "k,a@example.fi,,,,,\n").json()["id"]
    keys = env.client.get(f"/issuers/{env.slug}/api-keys", headers=env.admin).json()
    issuing_id = next(k["id"] for k in keys if "credentials:issue" in k["scopes"])
    env.client.delete(f"/issuers/{env.slug}/api-keys/{issuing_id}", headers=env.admin)
    _drain(env)
    (row,) = _rows(env, batch_id)
    assert (row.state, row.error_code) == ("failed", "unauthorized")
    assert _count(env, IssuedCredential) == 0


def test_in_process_worker_drains_in_the_background(env: Env) -> None:
    achievement_id = _achievement(env)
    body = _recipients("b", 3)
    batch_id = _upload(env, achievement_id, body).json()["id"]
    background = worker.InProcessWorker(_context(env), poll_interval=0.05)
    background.start()
    try:
        deadline = time.monotonic() + 60  # a bound on waiting, not a speed assertion
        while _get(env, batch_id)["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        background.stop()
    assert _get(env, batch_id)["counts"]["issued"] == 3
    assert _count(env, IssuedCredential) == 3


def test_cli_issue_batch_runs_in_process(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from taito import batch_cli

    achievement_id = _achievement(env)
    settings: Settings = env.client.app.state.settings  # type: ignore[attr-defined]
    assert settings.master_key is not None
    for name, value in {
        "TAITO_DATABASE_URL": settings.database_url,
        "TAITO_MASTER_KEY": settings.master_key.get_secret_value(),
        "TAITO_CONTEXT_DIR": str(settings.context_dir),
        "TAITO_PUBLIC_URL": settings.public_url,
    }.items():
        monkeypatch.setenv(name, value)
    file = tmp_path / "spring.jsonl"
    file.write_text(
        "\n".join(
            [
                json.dumps({"row_key": "c1", "email": "c1@example.fi"}),
                json.dumps({"row_key": "[red]c2", "email": "nope"}),  # invalid
                json.dumps({"row_key": "c3", "student_number": "333"}),
            ]
        )
    )
    command = ["issue", "batch", str(file), "--issuer", env.slug, "--achievement", achievement_id]
    result = CliRunner().invoke(batch_cli.app, [*command, "--format", "ob3-jwt"])
    assert result.exit_code == 0, result.output
    assert "[red]c2" in result.output  # the invalid row is listed, as text (never rich markup)
    assert _count(env, IssuedCredential) == 2
    with Session(_context(env).engine) as session:
        batch = session.exec(select(Batch)).one()
        assert (batch.actor, batch.name, batch.formats) == ("operator", "spring.jsonl", ["ob3-jwt"])
    again = CliRunner().invoke(batch_cli.app, [*command, "--format", "ob3-jwt"])
    assert again.exit_code == 0, again.output
    assert _count(env, IssuedCredential) == 2  # the same file again issues nothing new
    unknown = CliRunner().invoke(batch_cli.app, [*command[:4], "nowhere", *command[5:]])
    assert unknown.exit_code == 2


# --- chunks: one transaction for many rows ---------------------------------------------------


def _entries(env: Env) -> list[tuple[str, int, str]]:
    with Session(_context(env).engine) as session:
        return [(e.list_id, e.position, e.credential_id) for e in session.exec(select(StatusEntry))]


def _assert_status_entries_match(env: Env, credentials: int) -> None:
    """One revocation entry per credential, never shared, each the one its documents name."""
    entries = _entries(env)
    assert len(entries) == credentials
    assert len({(list_id, position) for list_id, position, _ in entries}) == credentials
    by_credential = {cid: (list_id, position) for list_id, position, cid in entries}
    assert len(by_credential) == credentials
    with Session(_context(env).engine) as session:
        for credential in session.exec(select(IssuedCredential)):
            document = json.loads(credential.documents["ob3-di"])
            status = document["credentialStatus"]
            list_id, position = by_credential[credential.id]
            assert status["statusListIndex"] == str(position)
            assert status["statusListCredential"].endswith(f"/status/{list_id}")
        used = session.exec(select(func.sum(StatusList.used))).one()
        assert used == credentials


def test_a_chunk_issues_every_row_once_with_its_own_status_index(env: Env) -> None:
    achievement_id = _achievement(env)
    body = HEADER + "".join(f"c-{i},c{i}@example.fi,,,,,Grade={i % 5 + 1}\n" for i in range(30))
    batch_id = _upload(env, achievement_id, body, formats=["ob3-di", "ob3-jwt"]).json()["id"]
    states: list[str] = []
    assert worker.run_once(_context(env), owner="w", limit=30, on_row=states.append) == 30
    assert states == ["done"] * 30
    done = _get(env, batch_id, limit=100)
    assert done["counts"]["issued"] == 30
    ids = [r["credential_id"] for r in done["rows"]]
    assert len(set(ids)) == 30 and None not in ids
    _assert_status_entries_match(env, 30)
    for credential_id in ids[:5]:
        formats = env.client.get(
            f"/issuers/{env.slug}/credentials/{credential_id}", headers=env.issuing
        ).json()["formats"]
        assert verify_credential(formats["ob3-di"], _options(env)).verified
        payload = formats["ob3-jwt"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        jwt_status = claims.get("vc", claims)["credentialStatus"]
        assert jwt_status == formats["ob3-di"]["credentialStatus"]  # one entry, both formats
    assert _count(env, AuditEvent, AuditEvent.action == "credential.issued") == 30
    # The published list carries the chunk's entries: revoking one sets exactly its bit.
    first, second = (
        env.client.get(f"/issuers/{env.slug}/credentials/{i}", headers=env.issuing).json()
        for i in ids[:2]
    )
    revoked = env.client.post(
        f"/issuers/{env.slug}/credentials/{first['id']}/revoke", headers=env.admin
    )
    assert revoked.status_code == 200, revoked.text
    entries = [c["formats"]["ob3-di"]["credentialStatus"] for c in (first, second)]
    assert [_bit(env, entry) for entry in entries] == [1, 0]


def test_a_row_that_cannot_be_read_fails_alone(env: Env) -> None:
    achievement_id = _achievement(env)
    body = _recipients("b", 5)
    batch_id = _upload(env, achievement_id, body).json()["id"]
    with Session(_context(env).engine) as session:
        broken = session.exec(select(BatchRow).where(BatchRow.row_key == "b-2")).one()
        broken.request = {"recipient": "nobody"}
        session.add(broken)
        session.commit()
    assert _drain(env) == 5
    rows = {r.row_key: r for r in _rows(env, batch_id)}
    assert (rows["b-2"].state, rows["b-2"].error_code) == ("failed", "internal_error")
    assert {k: r.state for k, r in rows.items() if k != "b-2"} == dict.fromkeys(
        ["b-0", "b-1", "b-3", "b-4"], "done"
    )
    assert _count(env, IssuedCredential) == 4


def test_a_chunk_that_fails_as_a_whole_is_issued_row_by_row(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    achievement_id = _achievement(env)
    body = _recipients("f", 5)
    batch_id = _upload(env, achievement_id, body).json()["id"]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the chunk path broke")

    monkeypatch.setattr(worker, "_issue_chunk", broken)
    assert _drain(env) == 5
    assert [r.state for r in _rows(env, batch_id)] == ["done"] * 5
    assert _count(env, IssuedCredential) == 5
    _assert_status_entries_match(env, 5)


def test_a_status_index_taken_meanwhile_is_replaced_and_signed_again(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    achievement_id = _achievement(env)
    body = _recipients("s", 6)
    batch_id = _upload(env, achievement_id, body).json()["id"]
    real = status.record
    lost: list[tuple[str, int, str]] = []

    def racing(session: Session, entries: Any) -> set[int]:
        if lost:
            return real(session, entries)
        # A concurrent writer took the first position between the check and the INSERT.
        lost.append((entries[0][0].id, entries[0][1], entries[0][2]))
        return {0} | {i + 1 for i in real(session, entries[1:])}

    monkeypatch.setattr(status, "record", racing)
    assert _drain(env) == 6
    assert [r.state for r in _rows(env, batch_id)] == ["done"] * 6
    _assert_status_entries_match(env, 6)
    (list_id, position, credential_id) = lost[0]
    assert (list_id, position, credential_id) not in _entries(env)
    formats = env.client.get(
        f"/issuers/{env.slug}/credentials/urn:uuid:{credential_id}", headers=env.issuing
    ).json()["formats"]
    assert verify_credential(formats["ob3-di"], _options(env)).verified


def _race(
    context: IssuerContext,
    requests: list[tuple[CredentialIssue, str | None]],
    second: Callable[[Session, Institution], None],
) -> list[issuance.Outcome]:
    """Issue ``requests`` in one transaction and, while it is open, run ``second`` in a session
    of its own, which must wait for that transaction's outcome. The first writer's outcomes."""

    def run() -> None:
        with Session(context.engine) as session:
            second(session, session.exec(select(Institution)).one())

    with Session(context.engine) as first:
        institution = first.exec(select(Institution)).one()
        made = issuance.issue_many(first, context, Caller("operator"), institution, requests)
        racer = worker.threading.Thread(target=run)
        racer.start()
        racer.join(1.0)
        assert racer.is_alive()  # waiting for the first writer's outcome
        first.commit()
    racer.join(30)
    return made


def test_the_same_keys_issued_by_two_transactions_at_once_issue_once(env: Env) -> None:
    """The idempotency key arbitrates between concurrent chunks: PostgreSQL holds the second
    writer's INSERT until the first commits, and the second maps every row to the first's."""
    context = _context(env)
    if context.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer")
    achievement_id = _achievement(env)
    requests = [
        (
            CredentialIssue.model_validate(
                {"achievement_id": achievement_id, "recipient": {"email": f"t{i}@example.fi"}}
            ),
            f"twin-{i}",
        )
        for i in range(3)
    ]
    again: list[issuance.Outcome] = []

    def second(session: Session, institution: Institution) -> None:
        again.extend(
            issuance.issue_many(session, context, Caller("operator"), institution, requests)
        )
        session.commit()

    made = _race(context, requests, second)
    assert all(o.created and o.error is None for o in made)
    assert [(o.credential_id, o.created, o.error) for o in again] == [
        (o.credential_id, False, None) for o in made
    ]
    assert _count(env, IssuedCredential) == 3
    assert _count(env, StatusEntry) == 3


def test_one_request_under_a_key_a_concurrent_writer_holds_gets_that_writers_credential(
    env: Env,
) -> None:
    """issue() is issue_many() for one request: it waits for the writer holding its key and
    answers with that credential (not created), leaving one credential with one status entry."""
    context = _context(env)
    if context.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer")
    body = CredentialIssue.model_validate(
        {"achievement_id": _achievement(env), "recipient": {"email": "solo@example.fi"}}
    )
    got: list[tuple[IssuedCredential, bool]] = []

    def second(session: Session, institution: Institution) -> None:
        got.append(issuance.issue(session, context, Caller("operator"), institution, body, "solo"))

    (made,) = _race(context, [(body, "solo")], second)
    ((credential, created),) = got
    assert made.created and (credential.id, created) == (made.credential_id, False)
    assert _count(env, IssuedCredential) == 1
    assert _count(env, StatusEntry) == 1


def test_rows_taken_over_twice_are_issued_one_per_transaction(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that keeps killing its worker must not take the rest of its chunk down with it."""
    achievement_id = _achievement(env)
    body = _recipients("t", 3)
    batch_id = _upload(env, achievement_id, body).json()["id"]
    t = datetime.now(UTC)
    with Session(_context(env).engine) as session:
        for attempt in range(worker.ROW_BY_ROW_FROM - 1):
            now = t + timedelta(minutes=10 * attempt)
            assert len(worker.claim(session, 5, owner=f"crash-{attempt}", now=now)) == 3

    def chunked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("issued as a chunk")

    monkeypatch.setattr(worker, "_issue_chunk", chunked)
    later = dataclasses.replace(_context(env), clock=lambda: t + timedelta(hours=1))
    assert worker.drain(later, owner="careful") == 3
    rows = _rows(env, batch_id)
    assert [(r.state, r.attempts) for r in rows] == [("done", worker.ROW_BY_ROW_FROM)] * 3
    assert _count(env, IssuedCredential) == 3


def test_a_chunk_gives_sd_jwt_vcs_their_own_token_status_entries(env: Env) -> None:
    achievement_id = _achievement(env)
    body = _recipients("v", 4)
    batch_id = _upload(env, achievement_id, body, formats=["ob3-di", "sd-jwt-vc"]).json()["id"]
    assert _drain(env) == 4
    assert [r.state for r in _rows(env, batch_id)] == ["done"] * 4
    with Session(_context(env).engine) as session:
        kinds = dict(session.exec(select(StatusList.id, StatusList.kind)).all())
    entries = _entries(env)
    assert len(entries) == 8 and len({(e[0], e[1]) for e in entries}) == 8
    with Session(_context(env).engine) as session:
        for credential in session.exec(select(IssuedCredential)):
            mine = {kinds[list_id]: (list_id, p) for list_id, p, c in entries if c == credential.id}
            assert set(mine) == {"bitstring", "token"}
            payload = credential.documents["sd-jwt-vc"].split("~")[0].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            token = claims["status"]["status_list"]
            assert token["idx"] == mine["token"][1]
            assert token["uri"].endswith(f"/status/{mine['token'][0]}")
            di = json.loads(credential.documents["ob3-di"])["credentialStatus"]
            assert di["statusListIndex"] == str(mine["bitstring"][1])


def test_claims_and_idempotency_lookups_stay_on_their_indexes_as_tables_grow(env: Env) -> None:
    """Bulk issuance must not slow down as the tables grow. Planned without statistics, a chunk's
    idempotency lookup (``issuer_id = ? AND idempotency_key IN (100 keys)``) filtered every
    credential of the issuer and the claim sorted every open row: 100,000 rows took 307 s. A bulk
    load and a worker's first 1,000 rows now refresh the statistics (PostgreSQL manual
    §14.4.9), the claim has a partial index on the open rows, and both plans use their index."""
    context = _context(env)
    if context.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    achievement_id = _achievement(env)
    assert _upload(env, achievement_id, _recipients("a", worker.ANALYZE_FROM)).status_code == 202
    assert _drain(env) == worker.ANALYZE_FROM
    assert _upload(env, achievement_id, _recipients("b", 2 * worker.CHUNK)).status_code == 202
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(context.engine, "before_cursor_execute", record)
    try:
        assert worker.run_once(context, owner="test-worker") == worker.CHUNK
    finally:
        event.remove(context.engine, "before_cursor_execute", record)

    def plan(marker: str) -> str:
        statement, parameters = next((s, p) for s, p in seen if marker in s)
        with context.engine.connect() as connection:
            lines = connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars()
            return "\n".join(lines)

    claim = plan("FOR UPDATE SKIP LOCKED")
    assert "ix_batch_row_open" in claim, claim
    # At this size a sequential scan may be cheapest; an index must not be used for the issuer
    # alone, the keys filtered (the slow plan: linear in the issuer's credentials).
    lookup = plan("issued_credential.request_hash")
    conditions = [line for line in lookup.splitlines() if "Index Cond" in line]
    assert all("idempotency_key" in line for line in conditions), lookup
    with Session(context.engine) as session:
        estimated = session.exec(  # type: ignore[call-overload]
            text("SELECT reltuples FROM pg_class WHERE oid = 'issued_credential'::regclass")
        ).one()[0]
    assert estimated >= worker.ANALYZE_FROM  # -1 (never analysed) without the refresh
