"""Passwords and sign-ins of the wallet: an access token dies with its sign-in, a password change
ends every other sign-in, and a forgotten password is reset by a mailed one-time code without
revealing which addresses have accounts and without losing a credential."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.wallet.conftest import (
    PASSWORD,
    loader_of,
    register,
    session_of,
    signed_badge,
    wallet_of,
)
from wallet.tables import EmailToken, OutboxMail

NEW_PASSWORD = "a new and longer passphrase"


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _login(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post("/wallet/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _mails(client: TestClient, address: str) -> list[OutboxMail]:
    with session_of(client) as session:
        return list(
            session.exec(
                select(OutboxMail)
                .where(OutboxMail.to_address == address)
                .order_by(col(OutboxMail.created_at))
            )
        )


def _reset_code(client: TestClient, address: str) -> str:
    bodies = [m.body for m in _mails(client, address) if m.subject.startswith("Reset")]
    assert bodies, "no reset mail"
    found = re.search(r"\n\n([A-Za-z0-9_-]{40,})\n\n", bodies[-1])
    assert found, bodies[-1]
    return found.group(1)


def test_access_token_ends_with_its_sign_in(client: TestClient) -> None:
    account = register(client)
    other = _login(client, account.email, PASSWORD)
    assert client.get("/wallet/me", headers=account.headers).status_code == 200
    # Signing out one sign-in ends its access token at once, not 15 minutes later...
    assert (
        client.post(
            "/wallet/auth/logout", json={"refresh_token": account.refresh_token}
        ).status_code
        == 204
    )
    ended = client.get("/wallet/me", headers=account.headers)
    assert ended.status_code == 401 and ended.json()["code"] == "unauthorized"
    assert "sign in again" in ended.json()["detail"]
    # ... and leaves the other sign-in alone, even after it rotates its refresh token.
    assert client.get("/wallet/me", headers=_bearer(other)).status_code == 200
    rotated = client.post("/wallet/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert client.get("/wallet/me", headers=_bearer(rotated.json())).status_code == 200
    assert client.get("/wallet/me", headers=_bearer(other)).status_code == 200
    # Reusing a spent refresh token revokes the family: its access tokens end too.
    reuse = client.post("/wallet/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert reuse.status_code == 401
    assert client.get("/wallet/me", headers=_bearer(rotated.json())).status_code == 401


def test_change_password_ends_every_other_sign_in(client: TestClient) -> None:
    account = register(client)
    laptop = _login(client, account.email, PASSWORD)
    wrong = client.post(
        "/wallet/auth/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=account.headers,
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_login"
    assert client.get("/wallet/me", headers=_bearer(laptop)).status_code == 200  # nothing changed
    short = client.post(
        "/wallet/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=account.headers,
    )
    assert short.status_code == 422
    changed = client.post(
        "/wallet/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=account.headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert client.get("/wallet/me", headers=_bearer(fresh)).status_code == 200
    for ended in (account.headers, _bearer(laptop)):
        assert client.get("/wallet/me", headers=ended).status_code == 401
    for token in (account.refresh_token, laptop["refresh_token"]):
        assert client.post("/wallet/auth/refresh", json={"refresh_token": token}).status_code == 401
    old = client.post("/wallet/auth/login", json={"email": account.email, "password": PASSWORD})
    assert old.status_code == 401
    _login(client, account.email, NEW_PASSWORD)
    assert any(m.subject.endswith("was changed") for m in _mails(client, account.email))
    assert NEW_PASSWORD not in changed.text


def test_wrong_current_passwords_are_rate_limited(client: TestClient) -> None:
    account = register(client)
    limit = wallet_of(client).login_max_failures_account_client
    for _ in range(limit):
        response = client.post(
            "/wallet/auth/password",
            json={"current_password": "guess guess", "new_password": NEW_PASSWORD},
            headers=account.headers,
        )
        assert response.status_code == 401
    blocked = client.post(
        "/wallet/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=account.headers,
    )
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    login_blocked = client.post(
        "/wallet/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert login_blocked.status_code == 429  # the same counter as sign-in


def test_forgotten_password_is_reset_with_the_mailed_code(client: TestClient) -> None:
    account = register(client)
    stored = client.post(
        "/wallet/credentials", json=signed_badge(loader_of(client)), headers=account.headers
    )
    assert stored.status_code == 201, stored.text
    # The answer is the same for an address without an account, and nothing is mailed there.
    for address in (account.email.upper(), "nobody@example.fi"):
        response = client.post("/wallet/auth/forgot-password", json={"email": address})
        assert response.status_code == 202 and response.content == b""
    assert _mails(client, "nobody@example.fi") == []
    code = _reset_code(client, account.email)
    bad = client.post(
        "/wallet/auth/reset-password", json={"token": code + "x", "new_password": NEW_PASSWORD}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_email_token"
    # A verification code is not a reset code.
    with session_of(client) as session:
        purposes = {t.purpose for t in session.exec(select(EmailToken))}
    assert purposes == {"verify", "reset"}
    reset = client.post(
        "/wallet/auth/reset-password", json={"token": code, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    assert client.get("/wallet/me", headers=account.headers).status_code == 401
    again = client.post(
        "/wallet/auth/reset-password", json={"token": code, "new_password": "yet another one!"}
    )
    assert again.status_code == 400  # one use
    tokens = _login(client, account.email, NEW_PASSWORD)
    me = client.get("/wallet/me", headers=_bearer(tokens)).json()
    assert me["email_verified"] is True  # the learner read mail sent to the address
    # The credential is still there and still opens (the data key is not the password's).
    credential = client.get(f"/wallet/credentials/{stored.json()['id']}", headers=_bearer(tokens))
    assert credential.status_code == 200


def test_reset_codes_expire_and_are_limited(client: TestClient) -> None:
    account = register(client)
    context = wallet_of(client)
    for _ in range(5):
        client.post("/wallet/auth/forgot-password", json={"email": account.email})
    resets = [m for m in _mails(client, account.email) if m.subject.startswith("Reset")]
    assert len(resets) == 3  # at most three an hour: the form cannot flood a mailbox
    code = _reset_code(client, account.email)
    start = context.clock()
    context.clock = lambda: start + timedelta(hours=1, seconds=1)
    late = client.post(
        "/wallet/auth/reset-password", json={"token": code, "new_password": NEW_PASSWORD}
    )
    assert late.status_code == 400 and "expired" in late.json()["detail"]
    _login(client, account.email, PASSWORD)  # unchanged
