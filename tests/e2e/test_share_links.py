"""Share links end to end over HTTP: the learner shares credentials (a subset of SD-JWT claims,
the skills profile), an employer opens the link as HTML or JSON and sees each credential verified
live; the link's expiry and view limit are its own, apart from the credentials' validity.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from tests.e2e.conftest import PASSWORD, Learner, Server
from tests.e2e.sharing import (
    CHROME_ANDROID,
    JSON,
    REVEAL,
    create_share,
    disclosed_paths,
    issue_into_wallet,
    link_path,
)


def test_share_subset_and_credential_then_open_as_html_and_json(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di", "sd-jwt-vc"])
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    created = create_share(
        learner,
        {
            "credentials": [
                {"id": held.ids["ob3-di"]},
                {"id": held.ids["sd-jwt-vc"], "reveal": REVEAL},
            ],
            "label": "for Acme Oy",
            "expires_at": expires.isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    token, share = body["token"], body["share"]
    assert body["url"] == f"{server.base}/s/{token}"
    assert len(token) >= 43  # 256 random bits, base64url
    assert share["state"] == "active" and share["views"] == 0
    assert datetime.fromisoformat(share["expires_at"]) == expires
    assert [c["credential_id"] for c in share["credentials"]] == [
        held.ids["ob3-di"],
        held.ids["sd-jwt-vc"],
    ]

    # Only the SHA-256 of the token is stored.
    with server.app.state.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM share")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    # The learner lists links by id; the token is never shown again.
    listed = server.http.get("/wallet/shares", headers=learner.headers)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [share["id"]]
    assert token not in listed.text

    machine = server.http.get(link_path(body["url"]), headers=JSON)
    assert machine.status_code == 200, machine.text
    assert machine.headers["content-type"] == "application/json"
    data = machine.json()
    assert data["link"]["expires_at"] == expires.isoformat().replace("+00:00", "Z")
    di, sd = data["credentials"]
    assert di["credential"] == json.loads(held.texts["ob3-di"])  # as issued
    assert di["verification"]["verified"], di["verification"]
    assert sd["format"] == "dc+sd-jwt"
    assert disclosed_paths(sd["credential"]) == set(REVEAL)  # only the chosen claims
    assert sd["verification"]["verified"], sd["verification"]
    assert sd["disclosed"] == REVEAL

    page = server.http.get(link_path(body["url"]), headers={"User-Agent": CHROME_ANDROID})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    html = page.text
    assert "Introduction to Data Science" in html
    assert html.count('class="verdict ok"') == 2
    assert "Link expires" in html and "Credential valid" in html
    assert "Virtanen" not in html.split("credential-2")[1]  # family_name was not disclosed

    # The employer's verifier page opens the link and verifies what it finds there.
    verdict = server.http.get("/verify", params={"link": body["url"]})
    assert verdict.status_code == 200
    assert "Not verified" not in verdict.text and "Verified" in verdict.text

    log = server.http.get(f"/wallet/shares/{share['id']}/access", headers=learner.headers).json()
    assert log["views"] == 3
    assert log["views_by_user_agent"]["Chrome on Android"] == 1
    assert {e["outcome"] for e in log["entries"]} == {"view"}


def test_skills_profile_share(server: Server, learner: Learner) -> None:
    issue_into_wallet(server, learner, ["ob3-di"])
    created = create_share(learner, {"kind": "skills"})
    assert created.status_code == 201, created.text
    assert len(created.json()["share"]["credentials"]) == 1
    data = server.http.get(link_path(created.json()["url"]), headers=JSON).json()
    skills = {s["name"] for s in data["skills"]["skills"]}
    assert "use statistical techniques" in skills
    assert data["skills"]["ects_total"] == 5
    assert data["credentials"][0]["verification"]["verified"]
    page = server.http.get(link_path(created.json()["url"])).text
    assert "Skills profile" in page and "use statistical techniques" in page


def test_revoked_credential_shows_revoked_on_the_link(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    url = create_share(learner, {"credentials": [{"id": held.ids["ob3-di"]}]}).json()["url"]
    assert server.http.get(link_path(url), headers=JSON).json()["credentials"][0]["verification"][
        "verified"
    ]
    revoked = server.http.post(
        f"/issuers/{server.slug}/credentials/{held.issued_id}/revoke", headers=server.issuing
    )
    assert revoked.status_code == 200, revoked.text
    server.forget()
    report = server.http.get(link_path(url), headers=JSON).json()["credentials"][0]["verification"]
    assert not report["verified"]
    status = next(c for c in report["checks"] if c["id"] == "status")
    assert (status["status"], status["code"]) == ("failed", "revoked")
    # the link itself is still live: its state is the learner's, the credential's the issuer's
    page = server.http.get(link_path(url))
    assert page.status_code == 200 and 'class="verdict bad"' in page.text


def test_edit_revoke_and_delete(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    created = create_share(learner, {"credentials": [{"id": held.ids["ob3-di"]}]}).json()
    share_id, path = created["share"]["id"], link_path(created["url"])
    base = f"/wallet/shares/{share_id}"

    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    edited = server.http.patch(
        base,
        headers=learner.headers,
        json={"label": "LinkedIn", "expires_at": later.isoformat(), "max_views": 10},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["label"] == "LinkedIn" and edited.json()["max_views"] == 10
    assert edited.json()["views_left"] == 10

    # A bad change is refused and changes nothing.
    past = server.http.patch(
        base, headers=learner.headers, json={"label": "x", "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 422 and past.json()["code"] == "invalid_share"
    assert server.http.get(base, headers=learner.headers).json()["label"] == "LinkedIn"

    cleared = server.http.patch(base, headers=learner.headers, json={"expires_at": None})
    assert cleared.json()["expires_at"] is None and cleared.json()["label"] == "LinkedIn"

    assert server.http.get(path, headers=JSON).status_code == 200
    revoked = server.http.post(f"{base}/revoke", headers=learner.headers)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert server.http.get(path, headers=JSON).status_code == 404
    assert server.http.get(path).status_code == 404
    # still listed with its log; a revoked link cannot be edited back to life
    assert server.http.get(f"{base}/access", headers=learner.headers).json()["views"] == 1
    again = server.http.patch(base, headers=learner.headers, json={"label": "y"})
    assert again.status_code == 422

    assert server.http.delete(base, headers=learner.headers).status_code == 204
    assert server.http.get(base, headers=learner.headers).status_code == 404
    with server.app.state.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM share_access")).scalar_one() == 0


def test_view_limit_holds_under_concurrency(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    created = create_share(
        learner, {"credentials": [{"id": held.ids["ob3-di"]}], "max_views": 3}
    ).json()
    path = link_path(created["url"])

    def open_once(_: int) -> int:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            return client.get(path, headers=JSON).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(open_once, range(12)))
    assert sorted(statuses) == [200] * 3 + [404] * 9
    share = server.http.get(
        f"/wallet/shares/{created['share']['id']}", headers=learner.headers
    ).json()
    assert (share["views"], share["views_left"], share["state"]) == (3, 0, "used_up")


def test_removed_credential_and_erased_account_take_their_links(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di", "sd-jwt-vc"])
    both = create_share(
        learner, {"credentials": [{"id": held.ids["ob3-di"]}, {"id": held.ids["sd-jwt-vc"]}]}
    ).json()
    path = link_path(both["url"])
    assert server.http.get(path, headers=JSON).status_code == 200

    # A credential removed from the wallet is gone from its links too.
    removed = server.http.delete(
        f"/wallet/credentials/{held.ids['sd-jwt-vc']}", headers=learner.headers
    )
    assert removed.status_code == 204
    shown = server.http.get(path, headers=JSON).json()["credentials"]
    assert [c["format"] for c in shown] == ["ldp_vc"]

    # Erasing the account erases its links and their access log with it.
    erased = server.http.request(
        "DELETE", "/wallet/me", headers=learner.headers, json={"password": PASSWORD}
    )
    assert erased.status_code == 204, erased.text
    assert server.http.get(path, headers=JSON).status_code == 404
    with server.app.state.engine.connect() as connection:
        for table in ("share", "share_credential", "share_access"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
