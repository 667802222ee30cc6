"""Security of presentations and share links over HTTP, on SQLite and PostgreSQL.

- Another learner reaches none of a learner's links or credentials on any route (404, as for an
  unknown id), and changes nothing.
- A link's password: refused when wrong, attempts limited per link (also under concurrency),
  stored only as an argon2id hash.
- A never-existing, revoked, expired or used-up link answers the same status and the same bytes.
- The access log keeps time, outcome and a coarse user agent: no IP address, no full header.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from tests.e2e.conftest import PASSWORD, Learner, Server
from tests.e2e.sharing import (
    CHROME_ANDROID,
    JSON,
    create_share,
    issue_into_wallet,
    link_path,
)
from wallet.shares import PASSWORD_MAX_FAILURES

SECRET = "tiger-lily-7734"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _share(learner: Learner, credential_id: str, **extra: Any) -> dict[str, Any]:
    created = create_share(learner, {"credentials": [{"id": credential_id}], **extra})
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_another_learner_reaches_nothing(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di", "sd-jwt-vc"])
    mine = _share(learner, held.ids["ob3-di"], label="mine", max_views=5)
    share_id = mine["share"]["id"]
    intruder = server.register()
    own = issue_into_wallet(server, intruder, ["ob3-di"])
    base = f"/wallet/shares/{share_id}"
    attempts = [
        ("GET", base, None),
        ("PATCH", base, {"label": "taken", "max_views": 1000}),
        ("POST", f"{base}/revoke", None),
        ("DELETE", base, None),
        ("GET", f"{base}/access", None),
        ("POST", "/wallet/shares", {"credentials": [{"id": held.ids["ob3-di"]}]}),
        (
            "POST",
            "/wallet/shares",
            {"credentials": [{"id": own.ids["ob3-di"]}, {"id": held.ids["sd-jwt-vc"]}]},
        ),
        ("POST", "/wallet/shares", {"kind": "skills", "credentials": [{"id": held.ids["ob3-di"]}]}),
        (
            "POST",
            "/wallet/presentations",
            {"format": "ldp_vp", "credentials": [{"id": held.ids["ob3-di"]}], "challenge": "c"},
        ),
        (
            "POST",
            "/wallet/presentations",
            {
                "format": "dc+sd-jwt",
                "credentials": [{"id": held.ids["sd-jwt-vc"]}],
                "nonce": "n",
                "audience": "a",
            },
        ),
    ]
    for method, path, body in attempts:
        answer = server.http.request(method, path, headers=intruder.headers, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == "not_found"
        unknown = server.http.request(
            method,
            path.replace(share_id, "00000000-0000-0000-0000-000000000000"),
            headers=intruder.headers,
            json=body,
        )
        assert unknown.status_code == 404
        anonymous = server.http.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    assert server.http.get("/wallet/shares", headers=intruder.headers).json() == []
    # the intruder made no link of their own with the learner's credentials
    with server.app.state.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM share")).scalar_one() == 1
    # and the learner's link is untouched and still works
    after = server.http.get(base, headers=learner.headers).json()
    assert (after["label"], after["max_views"], after["state"]) == ("mine", 5, "active")
    assert server.http.get(link_path(mine["url"]), headers=JSON).status_code == 200


def test_password_protected_link(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    created = _share(learner, held.ids["ob3-di"], password=SECRET)
    path = link_path(created["url"])
    assert created["share"]["password_protected"]

    with server.app.state.engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM share")).scalar_one()
    assert stored.startswith("$argon2id$") and SECRET not in stored

    asked = server.http.get(path, headers=JSON)
    assert asked.status_code == 401 and asked.json()["code"] == "password_required"
    form = server.http.get(path)
    assert form.status_code == 401 and 'type="password"' in form.text
    assert "Introduction to Data Science" not in form.text

    wrong = server.http.post(path, headers=JSON, json={"password": "not-the-password"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "wrong_password"
    wrong_form = server.http.post(path, data={"password": "nope-nope"})
    assert wrong_form.status_code == 401 and "Not opened" in wrong_form.text

    right = server.http.post(path, data={"password": SECRET})  # the HTML form
    assert right.status_code == 200 and "Introduction to Data Science" in right.text
    right_json = server.http.post(path, headers=JSON, json={"password": SECRET})
    assert right_json.status_code == 200
    assert right_json.json()["credentials"][0]["verification"]["verified"]
    # the password never travels in the URL: a query parameter opens nothing
    assert server.http.get(path, params={"password": SECRET}, headers=JSON).status_code == 401

    # Removing the password opens the link without one.
    share_id = created["share"]["id"]
    cleared = server.http.patch(
        f"/wallet/shares/{share_id}", headers=learner.headers, json={"password": None}
    )
    assert cleared.json()["password_protected"] is False
    assert server.http.get(path, headers=JSON).status_code == 200


def test_password_attempts_are_rate_limited(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    created = _share(learner, held.ids["ob3-di"], password=SECRET)
    path = link_path(created["url"])

    def guess(attempt: int) -> int:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            return client.post(
                path, headers=JSON, json={"password": f"guess-{attempt}"}
            ).status_code

    # Concurrent guesses: at most the limit are checked, the others are refused unchecked.
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(guess, range(PASSWORD_MAX_FAILURES + 5)))
    assert statuses.count(401) == PASSWORD_MAX_FAILURES, statuses
    assert statuses.count(429) == 5, statuses

    limited = server.http.post(path, headers=JSON, json={"password": SECRET})
    assert limited.status_code == 429  # even the right password, until the window passes
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    html = server.http.post(path, data={"password": SECRET})
    assert html.status_code == 429 and "Too many wrong passwords" in html.text

    log = server.http.get(
        f"/wallet/shares/{created['share']['id']}/access", headers=learner.headers
    ).json()
    assert log["by_outcome"]["wrong_password"] == PASSWORD_MAX_FAILURES
    assert log["views"] == 0

    # When the window has passed the right password opens the link.
    context = server.app.state.wallet
    later = datetime.now(UTC) + timedelta(minutes=16)
    context.clock = lambda: later
    try:
        assert server.http.post(path, headers=JSON, json={"password": SECRET}).status_code == 200
    finally:
        context.clock = lambda: datetime.now(UTC)


def _answers(server: Server, path: str) -> list[tuple[int, str, bytes]]:
    """What a link answers to a browser, to a machine and to a password, as comparable bytes."""
    answers = []
    for method, headers, body in (
        ("GET", {}, None),
        ("GET", JSON, None),
        ("POST", JSON, {"password": SECRET}),
    ):
        response = server.http.request(method, path, headers=headers, json=body)
        answers.append((response.status_code, response.headers["content-type"], response.content))
    return answers


def test_dead_links_are_indistinguishable_from_never_existing_ones(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    never = _answers(server, "/s/" + "A" * 43)
    assert [a[0] for a in never] == [404, 404, 404]
    assert never[1][1] == "application/problem+json"

    revoked = _share(learner, held.ids["ob3-di"], password=SECRET)
    server.http.post(f"/wallet/shares/{revoked['share']['id']}/revoke", headers=learner.headers)

    used_up = _share(learner, held.ids["ob3-di"], max_views=1)
    assert server.http.get(link_path(used_up["url"]), headers=JSON).status_code == 200

    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expired = _share(learner, held.ids["ob3-di"], expires_at=soon)
    assert server.http.get(link_path(expired["url"]), headers=JSON).status_code == 200

    deleted = _share(learner, held.ids["ob3-di"])
    server.http.delete(f"/wallet/shares/{deleted['share']['id']}", headers=learner.headers)

    context = server.app.state.wallet
    later = datetime.now(UTC) + timedelta(hours=2)
    context.clock = lambda: later
    try:
        for dead in (revoked, used_up, expired, deleted):
            assert _answers(server, link_path(dead["url"])) == never, dead["share"]
    finally:
        context.clock = lambda: datetime.now(UTC)


def test_access_log_keeps_no_ip_address(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    created = _share(learner, held.ids["ob3-di"], password=SECRET)
    path = link_path(created["url"])
    server.http.post(path, json={"password": "wrong-one"}, headers={"User-Agent": CHROME_ANDROID})
    server.http.post(path, data={"password": SECRET}, headers={"User-Agent": CHROME_ANDROID})
    server.http.post(path, data={"password": SECRET}, headers={"User-Agent": FIREFOX_WINDOWS})
    preview = server.http.get(path, headers={"User-Agent": "LinkedInBot/1.0 (compatible)"})
    assert preview.status_code == 200 and "Introduction to Data Science" not in preview.text

    log = server.http.get(
        f"/wallet/shares/{created['share']['id']}/access", headers=learner.headers
    ).json()
    assert log["views"] == 2  # the preview crawler used up no view
    assert log["views_by_user_agent"] == {"Chrome on Android": 1, "Firefox on Windows": 1}
    assert [(e["outcome"], e["user_agent"]) for e in reversed(log["entries"])] == [
        ("wrong_password", "Chrome on Android"),
        ("view", "Chrome on Android"),
        ("view", "Firefox on Windows"),
        ("preview", "LinkedIn preview"),
    ]
    assert "127.0.0.1" not in str(log)

    engine = server.app.state.engine
    columns = {c["name"] for c in inspect(engine).get_columns("share_access")}
    assert columns == {"id", "share_id", "at", "outcome", "agent"}
    with engine.connect() as connection:
        rows = [
            *connection.execute(text("SELECT * FROM share_access")),
            *connection.execute(text("SELECT * FROM share")),
        ]
    dumped = " ".join(str(value) for row in rows for value in row)
    for secret in ("127.0.0.1", CHROME_ANDROID, FIREFOX_WINDOWS, SECRET, created["token"]):
        assert secret not in dumped


@pytest.mark.parametrize(
    "body",
    [
        {"credentials": []},
        {"credentials": [{"id": "x"}], "expires_at": "2020-01-01T00:00:00Z"},
        {"credentials": [{"id": "x"}], "expires_at": "2999-01-01T00:00:00"},  # no time zone
        {"credentials": [{"id": "x"}], "password": "short"},
        {"credentials": [{"id": "x"}], "max_views": 0},
        {"credentials": [{"id": "x"}], "unknown": 1},
        {"credentials": [{"id": "x", "reveal": ["no-slash"]}]},
    ],
)
def test_bad_share_requests_change_nothing(
    server: Server, learner: Learner, body: dict[str, Any]
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    body = {**body, "credentials": [{**c, "id": held.ids["ob3-di"]} for c in body["credentials"]]}
    answer = create_share(learner, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert server.http.get("/wallet/shares", headers=learner.headers).json() == []


def test_concurrent_sign_in_guesses_stop_at_the_limit(server: Server, learner: Learner) -> None:
    """A burst of wrong passwords at once: at most the account limit reach the password check
    (each guess is recorded before it is counted, a refused one removed), then the account is
    locked, even for the right password."""
    limit = 5  # Settings.wallet_login_max_failures, the default the server runs with

    def guess(attempt: int) -> int:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            return client.post(
                "/wallet/auth/login",
                json={"email": learner.email, "password": f"guess-{attempt}"},
            ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(guess, range(limit + 5)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= limit, statuses  # never more than the limit
    # A refused guess is not counted: guessing on, one at a time, reaches exactly the limit.
    checked = statuses.count(401)
    while (status := guess(checked)) == 401:
        checked += 1
    assert status == 429 and checked == limit, (statuses, checked)
    locked = server.http.post(
        "/wallet/auth/login", json={"email": learner.email, "password": PASSWORD}
    )
    assert locked.status_code == 429 and locked.json()["code"] == "rate_limited"
