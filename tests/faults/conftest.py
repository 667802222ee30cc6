"""Fault injection on a private, throw-away PostgreSQL cluster (never the shared server).

:class:`Cluster` runs ``initdb`` into a temporary directory and ``pg_ctl`` on a free loopback
port, so a test may stop, restart or kill its database while the app and workers use it. The
binaries come from ``/usr/lib/postgresql/<version>/bin`` (``TAITO_PG_BIN`` overrides); as root
the server runs as the ``postgres`` user (initdb refuses root). Absent binaries skip the tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.settings import Settings
from tests.issuer.conftest import OPERATOR, PUBLIC_URL


def _pg_bin() -> Path | None:
    configured = os.environ.get("TAITO_PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "pg_ctl").is_file()), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="taito-faults-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(pg_bin, root / "data", _free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def faults_app(database_url: str, contexts: Path, **settings: object) -> FastAPI:
    """The issuer app on ``database_url`` (already migrated, or not: the app does not care)."""
    return create_app(
        Settings(
            database_url=database_url,
            master_key=KeyVault.new_master_key(),
            operator_token=OPERATOR,
            public_url=PUBLIC_URL,
            context_dir=contexts,
            **settings,  # type: ignore[arg-type]
        )
    )


@pytest.fixture
def contexts(tmp_path: Path, shared: Path) -> Path:
    ContextCache(tmp_path / "contexts").sync_from_dir(shared / "contexts")
    return tmp_path / "contexts"


def wait_until(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(0.1)
