"""Shared fixtures: the shared conformance folder, and databases.

Database tests run on SQLite always and on PostgreSQL too when ``TAITO_TEST_DATABASE_URL`` is set
(CI sets it). Each PostgreSQL test gets its own schema (``search_path``), dropped afterwards, so
tests are isolated and can run against one server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from taito.database import make_engine, upgrade
from tests.hygiene import capture

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Keep every log record of the session for the secrets scan (``tests/hygiene/``)."""
    capture.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The session's secrets scan runs after every other test."""
    last = [i for i in items if i.nodeid.startswith("tests/hygiene/test_session_logs.py")]
    items[:] = [i for i in items if i not in last] + last


def shared_dir() -> Path:
    return Path(os.environ.get("TAITO_SHARED_DIR", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "conformance").is_dir():
        pytest.skip(f"shared conformance data absent at {path} (set TAITO_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def conformance(shared: Path) -> Path:
    return shared / "conformance"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'taito.db'}"
        return
    base = os.environ.get("TAITO_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests need TAITO_TEST_DATABASE_URL (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database of each kind."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
