"""Real worker processes share one batch on PostgreSQL; SIGKILL on one loses and duplicates nothing.

The full 10,000-row figure is a measurement, not a test: ``python -m bench.batch --rows 10000``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

import issuer.batch_tables  # noqa: F401  (registers the batch tables before taito wires them)
from issuer import batch_routes
from issuer.batch_tables import BatchRow
from issuer.tables import AuditEvent, IssuedCredential
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from tests.issuer.conftest import ACHIEVEMENT, OPERATOR, PUBLIC_URL, make_institution, make_key
from tests.taito.test_metrics import free_port, samples

ROWS = 1000
WAIT = 120.0  # an upper bound on waiting for the workers, not a speed assertion


@pytest.fixture
def setup(database_url: str, shared: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    ContextCache(tmp_path / "contexts").sync_from_dir(shared / "contexts")
    engine = make_engine(database_url)
    upgrade(engine)
    master = KeyVault.new_master_key()
    settings = Settings(
        database_url=database_url,
        master_key=master,
        operator_token=OPERATOR,
        public_url=PUBLIC_URL,
        context_dir=tmp_path / "contexts",
    )
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/issuers/{slug}/batches" for r in app.routes):
        app.include_router(batch_routes.router)
    environment = {
        **os.environ,
        "TAITO_DATABASE_URL": database_url,
        "TAITO_MASTER_KEY": master,
        "TAITO_CONTEXT_DIR": str(tmp_path / "contexts"),
        "TAITO_PUBLIC_URL": PUBLIC_URL,
    }
    with TestClient(app) as client:
        yield {"client": client, "engine": engine, "environment": environment, "tmp": tmp_path}
    engine.dispose()


def _worker(setup: dict[str, Any], name: str, chunk: int, *options: str) -> subprocess.Popen[bytes]:
    with (setup["tmp"] / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taito.batch_cli",
                "worker",
                "--name",
                name,
                "--chunk",
                str(chunk),
                "--lease-seconds",
                "3",
                "--poll-interval",
                "0.1",
                *options,
            ],
            env=setup["environment"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _count(engine: Engine, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(BatchRow).where(*where)).one())


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {WAIT:.0f} s for {what}")
        time.sleep(0.05)


def _kill_holding_rows(victim: subprocess.Popen[bytes], engine: Engine) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        victim.send_signal(signal.SIGSTOP)
        time.sleep(0.3)
        if _count(engine, BatchRow.lease_owner == "victim", BatchRow.state == "running"):
            victim.send_signal(signal.SIGKILL)
            return
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the victim never held claimed rows")


def test_two_worker_processes_survive_a_sigkill(setup: dict[str, Any]) -> None:
    client: TestClient = setup["client"]
    engine: Engine = setup["engine"]
    make_institution(client, "helsinki", key_types=["ed25519"])
    key = make_key(client, "helsinki", ["achievements:write", "credentials:issue"])
    achievement_id = client.post(
        "/issuers/helsinki/achievements", json=ACHIEVEMENT, headers=key
    ).json()["id"]
    body = "row_key,email,given_name,results\n" + "".join(
        f"s-{i:05d},student{i}@example.fi,Student {i},Grade={i % 5 + 1}\n" for i in range(ROWS)
    )
    created = client.post(
        "/issuers/helsinki/batches",
        params={"achievement_id": achievement_id},
        content=body.encode(),
        headers={**key, "Content-Type": "text/csv"},
    )
    assert created.status_code == 202, created.text
    batch_id = created.json()["id"]

    # The victim claims big chunks (one transaction each) and is killed mid-chunk: frozen
    # (SIGSTOP) until any commit it had sent has landed, then SIGKILLed only while it holds
    # claimed rows; otherwise it is thawed and caught again a little later.
    victim = _worker(setup, "victim", chunk=200)
    port = free_port()
    survivor = _worker(setup, "survivor", 10, "--metrics-port", str(port))
    try:
        _wait_for(
            lambda: (
                _count(engine, BatchRow.lease_owner == "victim", BatchRow.state == "done") >= 100
            ),
            "the victim to issue its first rows",
        )
        _kill_holding_rows(victim, engine)
        assert victim.wait(30) == -signal.SIGKILL
        stranded = _count(engine, BatchRow.lease_owner == "victim", BatchRow.state == "running")
        assert stranded > 0  # the kill really left claimed rows behind
        _wait_for(
            lambda: _count(engine, col(BatchRow.state).in_(["pending", "running"])) == 0,
            "the survivor to finish the batch",
        )
        # the survivor's own metrics: what it committed, counted once
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        signed = samples(scrape.text)[("taito_credentials_issued_total", (("format", "ob3-di"),))]
        assert signed == _count(engine, BatchRow.lease_owner == "survivor")
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
    assert survivor.wait(30) == 0  # SIGTERM is a graceful stop
    # its own records at TAITO_LOG_LEVEL (INFO by default), in Taito's format
    said = (setup["tmp"] / "survivor.log").read_text()
    assert re.search(r"INFO taito\.worker \[-\] batch worker survivor started", said), said
    assert "batch worker survivor stopped" in said

    with Session(engine) as session:
        rows = session.exec(select(BatchRow).where(BatchRow.batch_id == batch_id)).all()
        assert len(rows) == ROWS
        assert {r.state for r in rows} == {"done"}
        owners = {r.lease_owner for r in rows}
        assert owners == {"victim", "survivor"}
        taken_over = [r for r in rows if r.attempts > 1]
        assert len(taken_over) >= stranded
        assert {r.lease_owner for r in taken_over} == {"survivor"}
        issued = session.exec(select(func.count()).select_from(IssuedCredential)).one()
        distinct_keys = session.exec(
            select(func.count(func.distinct(IssuedCredential.idempotency_key)))
        ).one()
        audited = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "credential.issued")
        ).one()
        assert issued == distinct_keys == audited == ROWS
        assert {c.idempotency_key for c in session.exec(select(IssuedCredential))} == {
            r.idempotency_key for r in rows
        }
    page = client.get(
        f"/issuers/helsinki/batches/{batch_id}", params={"limit": 1000}, headers=key
    ).json()
    assert page["state"] == "done"
    assert page["counts"]["issued"] == ROWS
    assert all(r["credential_id"] for r in page["rows"])
