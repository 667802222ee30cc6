"""Account erasure: every row that belongs to the learner, found by asking the database.

The tables are reflected from the live database (not listed in code): every table with a
``learner_id`` column loses the learner's rows, and a table that only points (by foreign key) at
such a table loses the rows that point at the learner's, dependents first. The learner's holder
keys (``key`` rows owned by ``learner:<id>``), their failed-login counters and finally the
``learner`` row go too; with the row goes the wrapped data key, so any copy of the credential
ciphertext left in a backup is unreadable (crypto-shredding).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, MetaData, Table, delete, inspect, select
from sqlmodel import Session

from keys.store import StoredKey
from wallet.context import WalletContext
from wallet.tables import LEARNER_COLUMN, Learner, LoginAttempt


def learner_tables(connection: Connection) -> list[str]:
    """Every table of the database that has a ``learner_id`` column."""
    inspector = inspect(connection)
    return sorted(
        name
        for name in inspector.get_table_names()
        if any(c["name"] == LEARNER_COLUMN for c in inspector.get_columns(name))
    )


def _reflect(connection: Connection) -> MetaData:
    meta = MetaData()
    meta.reflect(bind=connection)
    return meta


def _delete_where(connection: Connection, meta: MetaData, table: Table, condition: Any) -> None:
    """Delete ``table``'s rows matching ``condition``, after the rows (in any table, at any depth)
    that point at them by foreign key."""
    for child in meta.sorted_tables:
        if child is table:
            continue
        for fk in child.foreign_keys:
            if fk.column.table is table:
                _delete_where(
                    connection, meta, child, fk.parent.in_(select(fk.column).where(condition))
                )
    connection.execute(delete(table).where(condition))


def erase_rows(connection: Connection, learner_id: str) -> None:
    """Every row of every table with a ``learner_id`` column, and what points at those rows."""
    meta = _reflect(connection)
    for table in meta.sorted_tables:
        if table.name != Learner.__tablename__ and LEARNER_COLUMN in table.c:
            _delete_where(connection, meta, table, table.c[LEARNER_COLUMN] == learner_id)


def delete_referencing(connection: Connection, parent: str, key: str) -> None:
    """Delete what points at ``parent``'s row ``key`` (e.g. the shares of a credential that is
    being removed), at any depth."""
    meta = _reflect(connection)
    table = meta.tables[parent]
    for child in meta.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table and child is not table:
                _delete_where(connection, meta, child, fk.parent == key)


def delete_account(session: Session, context: WalletContext, learner: Learner) -> None:
    """Delete the learner and everything that belongs to them, in one transaction."""
    learner_id, owner = learner.id, learner.key_owner
    account = hashlib.sha256(learner.email.encode()).hexdigest()
    erase_rows(session.connection(), learner_id)
    session.execute(delete(StoredKey).where(StoredKey.owner == owner))  # type: ignore[arg-type]
    session.execute(delete(LoginAttempt).where(LoginAttempt.account == account))  # type: ignore[arg-type]
    session.execute(delete(Learner).where(Learner.id == learner_id))  # type: ignore[arg-type]
    session.commit()
