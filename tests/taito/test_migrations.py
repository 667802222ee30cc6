"""Migrations build the same schema as the models on an empty database of each kind."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from taito.database import metadata


def test_upgrade_on_empty_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata())
        tables = set(inspect(connection).get_table_names())
    assert diff == []
    assert {"key", "alembic_version"} <= tables
