"""Engine, sessions and migrations, the same on SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT = 10  # seconds (libpq connect_timeout)


def metadata() -> Any:
    """SQLModel metadata with every table of every package registered."""
    import issuer.batch_tables
    import issuer.oid4vci_tables
    import issuer.tables  # noqa: F401  (registers the issuer's tables)
    import keys.store  # noqa: F401  (registers the `key` table)
    import verifier.oid4vp_tables  # noqa: F401  (OpenID4VP presentation requests)
    import wallet.deferred_tables  # deferred credentials to resume (OpenID4VCI §9)
    import wallet.share_tables  # share links and their access log
    import wallet.tables  # noqa: F401  (registers the wallet's tables)

    return SQLModel.metadata


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Error messages, and so logged tracebacks, show the statement but not its parameters
    # (personal data, key material): OWASP ASVS V7.1.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # On a read-only file the mode cannot change: reads still work, writes answer 503.
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A server that does not answer fails the request after CONNECT_TIMEOUT (a 503), not never.
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations (``taito db upgrade``)."""
    command.upgrade(alembic_config(engine), revision)


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def sessions(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
