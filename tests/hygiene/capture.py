"""Every log record of the test session, kept for the secrets scan (``test_session_logs.py``).

``install`` (called from ``tests/conftest.py`` at configure time) puts one handler on the root
logger; records reach it at the levels the loggers have during the session (tests that raise a
logger to DEBUG, as the attack suite does, are scanned at DEBUG). Files that tests and ``bench``
servers write under ``var/test-logs/`` during the session are scanned too.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

LOG_DIR = Path(__file__).resolve().parents[2] / "var" / "test-logs"


class SessionLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.lines: list[str] = []
        self.started = time.time()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format is scanned as its template
            self.lines.append(str(record.msg))


SESSION = SessionLog()


def install() -> None:
    root = logging.getLogger()
    if SESSION not in root.handlers:
        root.addHandler(SESSION)


def files_written_during_the_session() -> list[Path]:
    if not LOG_DIR.is_dir():
        return []
    return sorted(p for p in LOG_DIR.rglob("*.log") if p.stat().st_mtime >= SESSION.started)
