"""SQLite on a full or read-only disk: clear 503 problems, nothing half-written, no corruption.

The database lives on a size-limited ``tmpfs`` mounted for the test (a real ENOSPC, a real
read-only remount). Mounting needs root (CI runs as root); elsewhere the same faults are
simulated inside SQLite — ``PRAGMA max_page_count`` (the file may not grow: SQLITE_FULL) and
``PRAGMA query_only`` (SQLITE_READONLY) — and each test says which one ran.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from taito.database import make_engine, upgrade
from tests.faults.conftest import faults_app
from tests.issuer.conftest import ACHIEVEMENT, make_institution, make_key

SLUG = "faults"


def _mount(target: Path, *options: str) -> bool:
    if shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _remount(target: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(target)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """A directory for the database: a 3 MiB tmpfs when this process may mount one."""
    target = tmp_path / "disk"
    target.mkdir()
    mounted = _mount(target, "size=3m", "mode=0700")
    try:
        yield target, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(target)], check=False)


def _app(path: Path, contexts: Path, pragma: str | None = None) -> Any:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = faults_app(url, contexts)
    if pragma is not None:

        @event.listens_for(app.state.engine, "connect")
        def _limit(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(pragma)

    return app


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def _counts(path: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as connection:
        issued = connection.execute("SELECT count(*) FROM issued_credential").fetchone()[0]
        audited = connection.execute(
            "SELECT count(*) FROM audit_event WHERE action = 'credential.issued'"
        ).fetchone()[0]
    return int(issued), int(audited)


def _issue(client: TestClient, key: dict[str, str], achievement: str, n: int) -> Any:
    return client.post(
        f"/issuers/{SLUG}/credentials",
        json={
            "achievement_id": achievement,
            "recipient": {"email": f"s{n}@example.fi", "given_name": f"Student {n}"},
            "formats": ["ob3-di", "ob3-jwt"],
        },
        headers=key,
    )


def test_a_full_disk_is_a_503_and_leaves_the_database_whole(
    disk: tuple[Path, bool], contexts: Path, record_property: Any
) -> None:
    directory, mounted = disk
    path = directory / "taito.db"
    app = _app(path, contexts)
    record_property("fault", "tmpfs ENOSPC" if mounted else "PRAGMA max_page_count")
    with TestClient(app) as client:
        make_institution(client, SLUG, key_types=["ed25519"])
        key = make_key(client, SLUG, ["issuer:admin"])
        achievement = client.post(
            f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=key
        ).json()["id"]
        ballast = directory / "ballast"
        if mounted:  # leave ~160 KiB free for the database and its WAL
            free = shutil.disk_usage(directory).free
            ballast.write_bytes(bytes(max(0, free - 160 * 1024)))
        else:
            with closing(sqlite3.connect(path)) as connection:
                pages = connection.execute("PRAGMA page_count").fetchone()[0]
            pragma = f"PRAGMA max_page_count = {pages + 40}"
            event.listen(app.state.engine, "connect", lambda c, _r: c.execute(pragma))
            app.state.engine.dispose()
        acknowledged = 0
        for n in range(2000):
            response = _issue(client, key, achievement, n)
            if response.status_code != 201:
                break
            acknowledged += 1
        else:
            pytest.fail("the disk never filled up")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert response.json()["code"] == "database_full"
        assert "Traceback" not in response.text
        if mounted:  # free space: the same request goes through
            ballast.unlink()
            assert _issue(client, key, achievement, n).status_code == 201
            acknowledged += 1
    assert _integrity(path) == "ok"
    assert _counts(path) == (acknowledged, acknowledged)  # exactly the acknowledged writes


def test_a_read_only_database_serves_reads_and_refuses_writes_clearly(
    disk: tuple[Path, bool], contexts: Path, record_property: Any
) -> None:
    directory, mounted = disk
    path = directory / "taito.db"
    with TestClient(_app(path, contexts)) as client:
        make_institution(client, SLUG, key_types=["ed25519"])
        key = make_key(client, SLUG, ["issuer:admin"])
    record_property("fault", "read-only tmpfs" if mounted else "PRAGMA query_only")
    if mounted:
        # A clean checkpoint first: SQLite reads a WAL database on read-only media only when no
        # WAL content is left to recover.
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")
        _remount(directory, "ro")
    before = path.read_bytes()
    app = _app_read_only(path, contexts, mounted)
    with TestClient(app) as client:
        profile = client.get(f"/issuers/{SLUG}")
        assert profile.status_code == 200, profile.text  # reads still work
        response = client.post(f"/issuers/{SLUG}/achievements", json=ACHIEVEMENT, headers=key)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json()["code"] == "database_read_only"
    assert path.read_bytes() == before
    assert _integrity(path) == "ok"


def _app_read_only(path: Path, contexts: Path, mounted: bool) -> Any:
    app = faults_app(f"sqlite:///{path}", contexts)
    if not mounted:
        event.listen(app.state.engine, "connect", lambda c, _r: c.execute("PRAGMA query_only=ON"))
    return app
