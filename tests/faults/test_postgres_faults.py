"""PostgreSQL goes away and comes back: requests fail cleanly (503 + Retry-After), then succeed;
``/readyz`` follows; revocations and a batch in flight end exactly once.

Each test owns a private cluster (``conftest.Cluster``) it may stop and restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from issuer.batch_tables import BatchRow
from issuer.tables import AuditEvent, IssuedCredential, StatusEntry, StatusList
from keys import data_integrity, status_list
from keys.did import method_from_document
from schemas.contexts import ContextCache
from taito.database import make_engine, upgrade
from tests.faults.conftest import Cluster, faults_app, wait_until
from tests.issuer.conftest import ACHIEVEMENT, PUBLIC_URL, make_institution, make_key

SLUG = "faults"
OUTAGE = 1.5  # seconds the database stays down


@pytest.fixture
def engine(cluster: Cluster) -> Iterator[Engine]:
    engine = make_engine(cluster.url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: Engine, cluster: Cluster, contexts: Path) -> Iterator[TestClient]:
    with TestClient(faults_app(cluster.url, contexts)) as client:
        make_institution(client, SLUG, key_types=["ed25519"])
        yield client


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"


def _ready(client: TestClient) -> bool:
    return client.get("/readyz").status_code == 200


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def test_requests_answer_503_while_the_database_is_down_and_succeed_after(
    client: TestClient, cluster: Cluster, engine: Engine
) -> None:
    admin = make_key(client, SLUG, ["issuer:admin"])
    assert _ready(client)
    cluster.stop()
    try:
        _assert_unavailable(client.get("/readyz"))
        _assert_unavailable(client.get(f"/issuers/{SLUG}"))
        _assert_unavailable(
            client.post(f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=admin)
        )
    finally:
        cluster.start()
    wait_until(lambda: _ready(client), "/readyz after the restart")
    assert client.get(f"/issuers/{SLUG}").status_code == 200
    assert client.get(f"/issuers/{SLUG}/achievements", headers=admin).json() == []
    created = client.post(f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=admin)
    assert created.status_code == 201, created.text


def test_the_service_starts_before_its_database(cluster: Cluster, contexts: Path) -> None:
    cluster.stop()
    with TestClient(faults_app(cluster.url, contexts)) as client:
        _assert_unavailable(client.get("/readyz"))
        cluster.start()
        engine = make_engine(cluster.url)
        upgrade(engine)  # `taito db upgrade` once the server answers
        engine.dispose()
        wait_until(lambda: _ready(client), "/readyz once the database is up")
        make_institution(client, SLUG, key_types=["ed25519"])


def _issue(client: TestClient, key: dict[str, str], count: int) -> list[str]:
    achievement = client.post(
        f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=key
    ).json()["id"]
    ids = []
    for n in range(count):
        response = client.post(
            f"/issuers/{SLUG}/credentials",
            json={
                "achievement_id": achievement,
                "recipient": {"email": f"s{n}@example.fi"},
                "formats": ["ob3-di"],
            },
            headers=key,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"].removeprefix("urn:uuid:"))
    return ids


def test_revocations_across_a_restart_are_applied_exactly_once(
    client: TestClient, cluster: Cluster, engine: Engine, contexts: Path
) -> None:
    key = make_key(client, SLUG, ["issuer:admin"])
    ids = _issue(client, key, 30)
    unavailable = 0
    done: list[str] = []

    def revoke_all() -> None:
        nonlocal unavailable
        for cid in ids:
            deadline = time.monotonic() + 60
            while True:
                response = client.post(f"/issuers/{SLUG}/credentials/{cid}/revoke", headers=key)
                if response.status_code == 200:
                    done.append(cid)
                    break
                _assert_unavailable(response)  # nothing but a clean 503 while it is down
                unavailable += 1
                assert time.monotonic() < deadline, "the revocation never went through"
                time.sleep(0.1)
            time.sleep(0.05)

    revoker = threading.Thread(target=revoke_all)
    revoker.start()
    wait_until(lambda: len(done) >= 5, "the first revocations")
    cluster.stop()
    time.sleep(OUTAGE)
    cluster.start()
    revoker.join(120)
    assert not revoker.is_alive()
    assert unavailable > 0  # the outage was really seen
    assert sorted(done) == sorted(ids)

    # Reconcile: one audit row per revocation, every bit set in the signed, published list.
    assert _count(engine, AuditEvent, AuditEvent.action == "credential.revoke") == len(ids)
    with Session(engine) as session:
        entries = session.exec(
            select(StatusEntry)
            .join(StatusList, col(StatusList.id) == col(StatusEntry.list_id))
            .where(col(StatusEntry.credential_id).in_(ids), StatusList.purpose == "revocation")
        ).all()
    assert len(entries) == len(ids)
    did_document = client.get(f"/issuers/{SLUG}/did.json").json()
    loader = ContextCache(contexts).loader()
    for list_id in {e.list_id for e in entries}:
        document = client.get(f"/issuers/{SLUG}/status/{list_id}").json()
        data_integrity.verify_proofs(
            document,
            resolve_key=lambda method: method_from_document(did_document, method),
            loader=loader,
            now=datetime.now(UTC),
        )
        bits = status_list.decode_bitstring(document["credentialSubject"]["encodedList"])
        assert set(bits.set_indices()) == {e.position for e in entries if e.list_id == list_id}


def test_a_batch_survives_a_database_restart(
    client: TestClient, cluster: Cluster, engine: Engine, contexts: Path, tmp_path: Path
) -> None:
    rows = 120
    key = make_key(client, SLUG, ["issuer:admin"])
    achievement = client.post(
        f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=key
    ).json()["id"]
    body = "row_key,email\n" + "".join(f"r-{i:04d},s{i}@example.fi\n" for i in range(rows))
    created = client.post(
        f"/issuers/{SLUG}/batches",
        params={"achievement_id": achievement},
        content=body.encode(),
        headers={**key, "content-type": "text/csv"},
    )
    assert created.status_code == 202, created.text
    environment = {
        **os.environ,
        "TAITO_DATABASE_URL": cluster.url,
        "TAITO_MASTER_KEY": client.app.state.settings.master_key.get_secret_value(),  # type: ignore[attr-defined]
        "TAITO_CONTEXT_DIR": str(contexts),
        "TAITO_PUBLIC_URL": PUBLIC_URL,
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "taito.batch_cli", "worker", "--chunk", "10",
             "--lease-seconds", "3", "--poll-interval", "0.1"],
            env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: _count(engine, BatchRow, BatchRow.state == "done") >= 20, "progress")
        cluster.stop()
        _assert_unavailable(
            client.get(f"/issuers/{SLUG}/batches/{created.json()['id']}", headers=key)
        )
        time.sleep(OUTAGE)
        cluster.start()
        wait_until(
            lambda: _count(engine, BatchRow, col(BatchRow.state).in_(["pending", "running"])) == 0,
            "the batch to finish after the restart",
            timeout=180,
        )
        assert worker.poll() is None  # the worker rode out the outage
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert _count(engine, BatchRow, BatchRow.state == "done") == rows
    issued = _count(engine, IssuedCredential)
    with Session(engine) as session:
        distinct = session.exec(
            select(func.count(func.distinct(IssuedCredential.idempotency_key)))
        ).one()
    audited = _count(engine, AuditEvent, AuditEvent.action == "credential.issued")
    assert issued == distinct == audited == rows
