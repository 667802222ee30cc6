"""``taito housekeeping``: delete what each role keeps only for a while, in pages.

Each role says what has outlived its use (``issuer.housekeeping``, ``wallet.housekeeping``,
``verifier.housekeeping``: a table and a condition on its rows, and for rows that stay, the
columns to clear); this module counts, deletes or clears those rows, :data:`PAGE` by primary key
a transaction, so neither memory nor row locks grow with the tables, and a run cut short leaves
every row either as it was or done (the next run finishes).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, inspect, select, update
from sqlmodel import Session

import issuer.housekeeping
import verifier.housekeeping
import wallet.housekeeping

PAGE = 500
log = logging.getLogger("taito.housekeeping")


def rules(
    now: datetime, *, retention: timedelta, presentation_retention: timedelta
) -> dict[str, tuple[Any, Any, dict[str, Any] | None]]:
    """Every role's rules, in the order to apply them: (table, condition, columns to clear, or
    ``None`` to delete the rows)."""
    deleted = {
        **issuer.housekeeping.expired(now, retention),
        **wallet.housekeeping.expired(now, retention),
        **verifier.housekeeping.expired(now, presentation_retention),
    }
    plan: dict[str, tuple[Any, Any, dict[str, Any] | None]] = {
        name: (table, condition, None) for name, (table, condition) in deleted.items()
    }
    plan.update(issuer.housekeeping.cleared(now, retention))
    return plan


def run(
    engine: Engine,
    now: datetime,
    *,
    retention: timedelta,
    presentation_retention: timedelta,
    dry_run: bool = False,
    page: int = PAGE,
) -> dict[str, int]:
    """Rows deleted or cleared (``dry_run``: that would be) under each rule."""
    counts: dict[str, int] = {}
    plan = rules(now, retention=retention, presentation_retention=presentation_retention)
    with Session(engine) as session:
        for name, (table, condition, changes) in plan.items():
            if dry_run:
                query = select(func.count()).select_from(table).where(condition)
                counts[name] = int(session.execute(query).scalar_one())
            else:
                counts[name] = _in_pages(session, table, condition, changes, page)
            if counts[name]:
                log.info("housekeeping: %s: %d%s", name, counts[name], " (dry run)" * dry_run)
    return counts


def _in_pages(
    session: Session, table: Any, condition: Any, changes: dict[str, Any] | None, page: int
) -> int:
    (key,) = inspect(table).primary_key
    done, last = 0, None
    while True:
        # by primary key from where the last page ended: each row is met once, even one the
        # change leaves matching the condition
        query = select(key).where(condition).order_by(key).limit(page)
        if last is not None:
            query = query.where(key > last)
        chosen = list(session.execute(query).scalars())
        if not chosen:
            return done
        last = chosen[-1]
        # the condition again: a row that stopped matching since the select is left alone
        chosen_rows = (key.in_(chosen), condition)
        if changes is None:
            session.execute(delete(table).where(*chosen_rows))
        else:
            session.execute(update(table).where(*chosen_rows).values(changes))
        session.commit()
        done += len(chosen)
