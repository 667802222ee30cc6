"""How ``taito/problems.py`` answers each kind of database error, with the drivers' own messages.

The end-to-end faults (``test_postgres_faults.py``, ``test_sqlite_faults.py``) produce these
errors for real; here each class is raised from a route so every branch is pinned, including
that the statement's parameters never reach a response or a log.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc, text

from taito import problems
from taito.database import make_engine

SECRET = "taito_0123456789ab_parameter-that-must-not-leak"


def _raising(error: BaseException) -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(problems.RequestGuard, max_body_bytes=1024)

    @app.get("/boom")
    def boom() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def _wrapped(kind: type[exc.DBAPIError], message: str, **kwargs: bool) -> exc.DBAPIError:
    """As raised by an engine of ``make_engine`` (``hide_parameters``: see the last test)."""
    return kind(
        "INSERT INTO api_key VALUES (?)",
        (SECRET,),
        sqlite3.OperationalError(message),
        hide_parameters=True,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (_wrapped(exc.OperationalError, "connection refused"), 503, "database_unavailable"),
        (_wrapped(exc.OperationalError, "database or disk is full"), 503, "database_full"),
        (
            _wrapped(exc.OperationalError, "attempt to write a readonly database"),
            503,
            "database_read_only",
        ),
        (_wrapped(exc.InterfaceError, "connection already closed"), 503, "database_unavailable"),
        (
            _wrapped(exc.DatabaseError, "server closed", connection_invalidated=True),
            503,
            "database_unavailable",
        ),
        (exc.TimeoutError("QueuePool limit reached"), 503, "database_unavailable"),
        (_wrapped(exc.DataError, "text cannot contain NUL (0x00) bytes"), 422, "unstorable_value"),
        (_wrapped(exc.IntegrityError, "UNIQUE constraint failed"), 500, "internal_error"),
        (_wrapped(exc.ProgrammingError, "no such table"), 500, "internal_error"),
    ],
)
def test_database_errors_become_problems_without_the_statement(
    error: BaseException, status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = _raising(error).get("/boom")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"
    assert ("retry-after" in response.headers) == (status == 503)
    assert SECRET not in response.text
    assert "INSERT" not in response.text
    assert SECRET not in caplog.text  # a 500 logs its traceback, without the parameters


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_engine_keeps_statement_parameters_out_of_its_errors(
    backend: str, tmp_path: Path
) -> None:
    """SQLAlchemy writes parameters into error messages, and a 500's traceback is logged."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    if backend == "postgresql":
        url = os.environ.get("TAITO_TEST_DATABASE_URL", "")
        if not url:
            pytest.skip("PostgreSQL tests need TAITO_TEST_DATABASE_URL (CI sets it)")
    engine = make_engine(url)
    try:
        with pytest.raises(exc.DBAPIError) as raised, engine.connect() as connection:
            connection.execute(
                text("SELECT no_such_column FROM (SELECT :p AS a) AS t"), {"p": SECRET}
            )
    finally:
        engine.dispose()
    assert SECRET not in str(raised.value)
