"""A short soak (``bench/soak.py``): mixed load on uvicorn with 2 workers and PostgreSQL, then the
reconciliation of every acknowledged write. ``make soak`` runs the long one (60 s, 32 clients).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import soak


def test_a_short_mixed_load_serves_no_5xx_and_reconciles(shared: Path) -> None:
    database_url = os.environ.get("TAITO_TEST_DATABASE_URL")
    if not database_url:
        pytest.skip("the soak needs PostgreSQL (TAITO_TEST_DATABASE_URL; CI sets it)")
    figures = soak.run(
        seconds=5, clients=8, database_url=database_url, shared=shared, quiet=True,
        prove_reconciler=True,
    )  # fmt: skip
    assert figures["by status"].get("5xx", 0) == 0, figures["problems"]
    assert figures["mismatches"] == [], figures
    assert soak.ok(figures), figures
    assert figures["credentials reconciled"] > 0 and figures["revocations reconciled"] > 0
    # The same reconciliation, given a ledger with a phantom write and a lost one, objects.
    assert any(m.startswith("issued:") for m in figures["caught"]), figures["caught"]
    assert any(m.startswith("revoked:") for m in figures["caught"]), figures["caught"]
