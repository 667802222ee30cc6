"""Share links in a real headless Chromium (JavaScript off), against a real Taito server with an
institution and a learner (``tests/e2e/conftest.py``).

The employer opens the link and sees each credential with its verdict; the issuer revokes a
credential and the page says so; the learner revokes the link and it is gone; a password link asks
for its password. Needs ``/usr/bin/chromium`` and ``npm ci --prefix tests/browser``; screenshots
land in ``var/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import Learner, Server, learner, server  # noqa: F401 - the fixtures
from tests.e2e.sharing import REVEAL, create_share, issue_into_wallet

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("TAITO_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "var" / "screenshots"
SCRIPT = HERE / "share_page.mjs"
PASSWORD = "harbour-lights-42"

pytestmark = pytest.mark.browser


def _visit(tmp_path: Path, *visits: dict[str, str]) -> list[dict[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.skip("tests/browser/node_modules is missing: npm ci --prefix tests/browser")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"visits": list(visits)}))
    run = subprocess.run(
        [node, str(SCRIPT), str(plan), str(SCREENSHOTS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = json.loads(run.stdout)["results"]
    for result in results:
        # No CSP violation, nothing broken (Chromium logs a 401 / 404 document as a console error).
        expected = {
            f"Failed to load resource: the server responded with a status of {status} ({reason})"
            for status, reason in ((401, "Unauthorized"), (404, "Not Found"))
        }
        assert set(result["consoleErrors"]) <= expected, result["consoleErrors"]
        assert result["firstFocus"] == "Skip to main content"  # the first Tab stop
        assert Path(result["screenshot"]).stat().st_size > 5_000
    return results


def _checks(credential: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["id"]: c for c in credential["checks"]}


def test_employer_opens_a_share_link(
    server: Server,  # noqa: F811
    learner: Learner,  # noqa: F811
    tmp_path: Path,
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di", "sd-jwt-vc"])
    expires = datetime.now(UTC) + timedelta(days=14)
    created = create_share(
        learner,
        {
            "credentials": [
                {"id": held.ids["ob3-di"]},
                {"id": held.ids["sd-jwt-vc"], "reveal": REVEAL},
            ],
            "expires_at": expires.isoformat(),
            "max_views": 10,
        },
    ).json()
    url = created["url"]

    (opened,) = _visit(tmp_path, {"name": "share-open", "url": url})
    assert opened["status"] == 200
    assert opened["title"] == "Shared learning credentials - Taito"
    assert opened["linkExpires"] == expires.strftime("%d %B %Y, %H:%M UTC")
    assert opened["viewsLeft"] == "9"
    badge, sd_jwt = opened["credentials"]
    for credential in (badge, sd_jwt):
        assert credential["title"] == "Introduction to Data Science"
        assert credential["verdict"] == "Verified"
        assert credential["verdictBackground"] == "rgb(231, 244, 236)"  # the stylesheet applied
        assert credential["validity"].startswith("From ")  # the credential's, not the link's
        checks = _checks(credential)
        assert checks["proof"]["status"] == "passed" and checks["proof"]["label"] == "Signature"
        assert checks["status"]["status"] == "passed"
    assert badge["claims"] == []
    # only the chosen claims of the SD-JWT VC are shown
    assert sorted(sd_jwt["claims"]) == [
        "achievement › ects credits",  # noqa: RUF001
        "achievement › name",  # noqa: RUF001
        "given name",
        "issuer name",  # always visible (SD-JWT VC: not selectively disclosable)
    ]

    # The issuer revokes the badge: the page says so on the next visit.
    revoked = server.http.post(
        f"/issuers/{server.slug}/credentials/{held.issued_id}/revoke", headers=server.issuing
    )
    assert revoked.status_code == 200, revoked.text
    server.forget()
    (after,) = _visit(tmp_path, {"name": "share-credential-revoked", "url": url})
    assert after["status"] == 200
    badge = after["credentials"][0]
    assert badge["verdict"] == "Not verified"
    assert badge["verdictBackground"] == "rgb(253, 236, 236)"
    status = _checks(badge)["status"]
    assert status["status"] == "failed" and "revoked" in status["message"].lower()

    # The learner revokes the link: it is gone, as if it had never existed.
    share_id = created["share"]["id"]
    server.http.post(f"/wallet/shares/{share_id}/revoke", headers=learner.headers)
    gone, never = _visit(
        tmp_path,
        {"name": "share-link-revoked", "url": url},
        {"name": "share-never-existed", "url": f"{server.base}/s/{'Q' * 43}"},
    )
    assert gone["status"] == never["status"] == 404
    assert gone["heading"] == never["heading"] == "This link is not available"
    assert gone["notFound"] == never["notFound"]
    assert gone["credentials"] == []


def test_employer_enters_the_password(
    server: Server,  # noqa: F811
    learner: Learner,  # noqa: F811
    tmp_path: Path,
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    url = create_share(
        learner, {"credentials": [{"id": held.ids["ob3-di"]}], "password": PASSWORD}
    ).json()["url"]
    wrong, right = _visit(
        tmp_path,
        {"name": "share-password-wrong", "url": url, "password": "not-it-at-all"},
        {"name": "share-password", "url": url, "password": PASSWORD},
    )
    assert wrong["firstStatus"] == 401 and wrong["status"] == 401
    assert wrong["heading"] == "This link is protected by a password"
    assert "not the one for this link" in wrong["passwordError"]
    assert wrong["credentials"] == []
    assert right["status"] == 200
    assert right["linkExpires"].startswith("Never")
    assert right["credentials"][0]["verdict"] == "Verified"
