"""Fuzzing budgets: small in CI, large in ``make fuzz`` (``TAITO_FUZZ_EXAMPLES``).

``TAITO_FUZZ_EXAMPLES`` sets how many examples hypothesis draws per property and per API
operation (and mode); the figures the fuzzers reach are printed in the terminal summary, so a long
run can be reported.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.issuer.conftest import app_client, env  # noqa: F401  (fixtures re-used here)

CI_EXAMPLES = 3
FIGURES: Counter[str] = Counter()


def fuzz_examples() -> int:
    return max(1, int(os.environ.get("TAITO_FUZZ_EXAMPLES", CI_EXAMPLES)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fuzzing figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
