"""The /verify page in a real headless Chromium (JavaScript off), against a real Taito server.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package) and ``npm ci --prefix tests/browser``
(``playwright-core`` only: no browser is downloaded). Screenshots land in ``var/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.verifier.conftest import Live, live  # noqa: F401 - the fixture, shared with tests/verifier

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("TAITO_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "var" / "screenshots"
SCRIPT = HERE / "verify_page.mjs"

pytestmark = pytest.mark.browser


def _drive(base: str, files: list[Path]) -> list[dict[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.skip("tests/browser/node_modules is missing: npm ci --prefix tests/browser")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    run = subprocess.run(
        [node, str(SCRIPT), base, *map(str, files), str(SCREENSHOTS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = json.loads(run.stdout)["results"]
    return results


def test_employer_verifies_a_valid_and_a_revoked_credential(live: Live, tmp_path: Path) -> None:  # noqa: F811
    valid = live.issue(["ob3-di"])["formats"]["ob3-di"]
    revoked = live.issue(["ob3-di"])
    answer = live.http.post(
        f"/issuers/live/credentials/{revoked['id']}/revoke", headers=live.issuing
    )
    assert answer.status_code == 200
    live.forget()
    files = [tmp_path / "valid.json", tmp_path / "revoked.json"]
    files[0].write_text(json.dumps(valid, indent=2))
    files[1].write_text(json.dumps(revoked["formats"]["ob3-di"], indent=2))

    good, bad = _drive(live.base, files)

    for result in (good, bad):
        assert result["formStatus"] == 200
        assert result["status"] == 200
        assert result["url"] == f"{live.base}/verify#result"
        assert result["firstFocus"] == "Skip to main content"  # the first Tab stop
        assert result["consoleErrors"] == []  # no CSP violation, nothing broken
        assert Path(result["screenshot"]).stat().st_size > 10_000
        ids = [c["id"] for c in result["checks"]]
        assert {"format", "proof", "issuer_key", "validity_period", "status"} <= set(ids)

    assert good["verdictText"] == "Verified"
    assert good["verdict"] == "✓ Verified"
    assert good["title"].startswith("Verified -")
    assert good["verdictBackground"] == "rgb(231, 244, 236)"  # the stylesheet applied
    assert all(c["status"] in ("passed", "skipped") for c in good["checks"]), good["checks"]
    assert all(c["statusText"] in ("Passed", "Not checked") for c in good["checks"])
    labels = {c["id"]: c["label"] for c in good["checks"]}
    assert labels["proof"] == "Signature"
    assert labels["issuer_key"] == "Issuer's key"
    assert labels["validity_period"] == "Validity period"
    assert labels["status"] == "Revocation status"
    assert all(c["message"] for c in good["checks"])

    assert bad["verdictText"] == "Not verified"
    assert bad["verdict"] == "✗ Not verified"
    assert bad["title"].startswith("Not verified -")
    assert bad["verdictBackground"] == "rgb(253, 236, 236)"
    status = next(c for c in bad["checks"] if c["id"] == "status")
    assert status["status"] == "failed"
    assert status["statusText"] == "Failed"
    assert "revoked" in status["message"].lower()
    assert (SCREENSHOTS / "verify-valid.png").is_file()
    assert (SCREENSHOTS / "verify-revoked.png").is_file()
