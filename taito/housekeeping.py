"""``taito housekeeping``: delete what each role keeps only for a while, in pages.

Each role says what has outlived its use (``issuer.housekeeping``, ``wallet.housekeeping``,
``verifier.housekeeping``: a table and a condition on its rows); this module counts or deletes
those rows, :data:`PAGE` by primary key a transaction, so neither memory nor row locks grow with
the tables, and a run cut short leaves every row either kept or gone (the next run finishes).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, inspect, select
from sqlmodel import Session

import issuer.housekeeping
import verifier.housekeeping
import wallet.housekeeping

PAGE = 500
log = logging.getLogger("taito.housekeeping")


def rules(
    now: datetime, *, retention: timedelta, presentation_retention: timedelta
) -> dict[str, tuple[Any, Any]]:
    """Every role's rules, in the order to apply them."""
    return {
        **issuer.housekeeping.expired(now, retention),
        **wallet.housekeeping.expired(now, retention),
        **verifier.housekeeping.expired(now, presentation_retention),
    }


def run(
    engine: Engine,
    now: datetime,
    *,
    retention: timedelta,
    presentation_retention: timedelta,
    dry_run: bool = False,
    page: int = PAGE,
) -> dict[str, int]:
    """Rows deleted (``dry_run``: that would be) under each rule."""
    counts: dict[str, int] = {}
    plan = rules(now, retention=retention, presentation_retention=presentation_retention)
    with Session(engine) as session:
        for name, (table, condition) in plan.items():
            if dry_run:
                query = select(func.count()).select_from(table).where(condition)
                counts[name] = int(session.execute(query).scalar_one())
            else:
                counts[name] = _delete_in_pages(session, table, condition, page)
            if counts[name]:
                log.info(
                    "housekeeping: %s %s: %d",
                    "would delete" if dry_run else "deleted",
                    name,
                    counts[name],
                )
    return counts


def _delete_in_pages(session: Session, table: Any, condition: Any, page: int) -> int:
    (key,) = inspect(table).primary_key
    deleted = 0
    while True:
        ids = session.execute(select(key).where(condition).order_by(key).limit(page)).scalars()
        chosen = list(ids)
        if not chosen:
            return deleted
        # the condition again: a row that stopped matching since the select stays
        session.execute(delete(table).where(key.in_(chosen), condition))
        session.commit()
        deleted += len(chosen)
