"""Runs last (``tests/conftest.py`` moves it): no secret in any log of the whole session."""

from __future__ import annotations

import logging

from tests.hygiene import capture
from tests.hygiene.scanner import scan
from tests.hygiene.test_scanner import KNOWN_TEST_SECRETS


def test_no_secret_in_the_logs_of_the_session() -> None:
    findings = scan("\n".join(capture.SESSION.lines), "log records", KNOWN_TEST_SECRETS)
    for path in capture.files_written_during_the_session():
        findings += scan(path.read_text(errors="replace"), str(path), KNOWN_TEST_SECRETS)
    assert capture.SESSION in logging.getLogger().handlers  # the capture is live
    assert not findings, "\n".join(str(f) for f in findings[:50])
