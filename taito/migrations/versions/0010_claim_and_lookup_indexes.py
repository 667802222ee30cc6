"""indexes that keep bulk issuance flat as the tables grow

A single-column index that a unique constraint's index already leads with is dropped: on
statistics gathered while a table was small, the planner chose it for an idempotency lookup
(``issuer_id = ? AND idempotency_key IN (...)``) and filtered every credential of the issuer,
so each chunk of a batch took longer than the last. The claim query gets a partial index on the
rows still open, so it no longer walks the ones done.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN_ROWS = "state IN ('pending', 'running')"
REDUNDANT = (  # (table, index, column): each covered by the table's unique constraint
    ("issued_credential", "ix_issued_credential_issuer_id", "issuer_id"),
    ("status_entry", "ix_status_entry_list_id", "list_id"),
    ("batch_row", "ix_batch_row_batch_id", "batch_id"),
    ("batch", "ix_batch_issuer_id", "issuer_id"),
)


def upgrade() -> None:
    for table, index, _ in REDUNDANT:
        op.drop_index(index, table_name=table)
    op.create_index(
        "ix_batch_row_open",
        "batch_row",
        ["id"],
        postgresql_where=sa.text(OPEN_ROWS),
        sqlite_where=sa.text(OPEN_ROWS),
    )


def downgrade() -> None:
    op.drop_index("ix_batch_row_open", table_name="batch_row")
    for table, index, column in REDUNDANT:
        op.create_index(index, table, [column])
