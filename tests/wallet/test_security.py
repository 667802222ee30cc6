"""Security of the wallet: authentication on every route, no learner reaches another's data,
access-token expiry, refresh rotation with reuse detection, login rate limit, the encrypted
archive with a wrong passphrase, and account erasure leaving no row behind."""

from __future__ import annotations

import concurrent.futures
import re
from datetime import timedelta
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, table, text
from sqlmodel import col

from keys.store import StoredKey
from tests.taito.test_metrics import counted
from tests.wallet.conftest import (
    PASSWORD,
    Account,
    import_archive,
    loader_of,
    register,
    session_of,
    signed_badge,
    signed_jwt,
    wallet_of,
)
from wallet import portability
from wallet import routes as wallet_routes
from wallet.erasure import learner_tables
from wallet.tables import LoginAttempt

PUBLIC_ROUTES = {
    ("POST", "/wallet/auth/register"),
    ("POST", "/wallet/auth/login"),
    ("POST", "/wallet/auth/refresh"),
    ("POST", "/wallet/auth/logout"),
    ("POST", "/wallet/auth/verify-email"),
    ("POST", "/wallet/auth/forgot-password"),
    ("POST", "/wallet/auth/reset-password"),
    ("GET", "/wallet/verify-email"),
}


def _wallet_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every route of the wallet's router, as mounted in the app (checked against OpenAPI)."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = []
    for route in wallet_routes.router.routes:
        assert isinstance(route, APIRoute) and route.path in paths
        routes += [(method, route.path) for method in route.methods]
    return sorted(routes)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    return client.request(method, path, headers=headers, **kw)


def _fill(path: str, credential_id: str) -> str:
    return re.sub(r"\{[^}]+\}", credential_id, path)


def test_every_private_route_needs_a_valid_token(client: TestClient) -> None:
    account = register(client)
    routes = [r for r in _wallet_routes(client) if r not in PUBLIC_ROUTES]
    assert len(routes) >= 12
    forged = {"Authorization": "Bearer " + account.headers["Authorization"][7:-2] + "AA"}
    for method, path in routes:
        url = _fill(path, "00000000-0000-4000-8000-000000000000")
        for headers in ({}, forged, {"Authorization": "Basic eDp5"}):
            response = _call(client, method, url, headers, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["code"] == "unauthorized"


def _aino_with_credential(client: TestClient) -> tuple[Account, str]:
    aino = register(client, "aino@example.fi")
    response = client.post(
        "/wallet/credentials", json=signed_badge(loader_of(client)), headers=aino.headers
    )
    assert response.status_code == 201, response.text
    return aino, response.json()["id"]


def test_no_learner_reaches_another_learners_data(client: TestClient) -> None:
    aino, credential_id = _aino_with_credential(client)
    ben = register(client, "ben@example.fi")
    # Every route with a credential id in the path: Ben gets 404, as for an unknown id.
    id_routes = [r for r in _wallet_routes(client) if "{" in r[1]]
    assert len(id_routes) >= 4
    for method, path in id_routes:
        response = _call(client, method, _fill(path, credential_id), ben.headers)
        assert response.status_code == 404, (method, path, response.text)
    # Routes without an id act on the caller's own wallet only.
    assert client.get("/wallet/credentials", headers=ben.headers).json()["total"] == 0
    assert client.get("/wallet/profile/skills", headers=ben.headers).json()["credentials"] == 0
    ben_keys = {k["kid"] for k in client.get("/wallet/keys", headers=ben.headers).json()}
    aino_keys = {k["kid"] for k in client.get("/wallet/keys", headers=aino.headers).json()}
    assert ben_keys and aino_keys and not (ben_keys & aino_keys)
    assert client.get("/wallet/me", headers=ben.headers).json()["email"] == "ben@example.fi"
    archive = client.post(
        "/wallet/export", json={"passphrase": "ben's long passphrase"}, headers=ben.headers
    )
    payload = portability.open_archive(archive.content, "ben's long passphrase")
    assert payload["credentials"] == [] and payload["learner"]["email"] == "ben@example.fi"
    # Ben deleting his account leaves Aino's credential where it was.
    deleted = client.request(
        "DELETE", "/wallet/me", json={"password": PASSWORD}, headers=ben.headers
    )
    assert deleted.status_code == 204
    assert (
        client.get(f"/wallet/credentials/{credential_id}", headers=aino.headers).status_code == 200
    )


def test_access_token_expires(client: TestClient) -> None:
    account = register(client)
    context = wallet_of(client)
    assert client.get("/wallet/me", headers=account.headers).status_code == 200
    start = context.clock()
    context.clock = lambda: start + timedelta(minutes=15, seconds=1)
    expired = client.get("/wallet/me", headers=account.headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    # A refresh still works (30 days) and gives a token valid at the new time.
    refreshed = client.post("/wallet/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 200
    fresh = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert client.get("/wallet/me", headers=fresh).status_code == 200
    context.clock = lambda: start + timedelta(days=31)
    late = client.post(
        "/wallet/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert late.status_code == 401 and late.json()["code"] == "invalid_refresh_token"


def test_refresh_rotation_and_reuse_revokes_the_family(client: TestClient) -> None:
    account = register(client)
    other_login = client.post(
        "/wallet/auth/login", json={"email": account.email, "password": PASSWORD}
    ).json()
    first = client.post("/wallet/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    second_token = first.json()["refresh_token"]
    assert second_token != account.refresh_token
    # The spent token is presented again (a thief, or the victim after the thief): the whole
    # family is revoked, including the token rotated from it.
    reuse = client.post("/wallet/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reuse.status_code == 401 and reuse.json()["code"] == "invalid_refresh_token"
    revoked = client.post("/wallet/auth/refresh", json={"refresh_token": second_token})
    assert revoked.status_code == 401
    # Another sign-in (another family) is untouched.
    other = client.post(
        "/wallet/auth/refresh", json={"refresh_token": other_login["refresh_token"]}
    )
    assert other.status_code == 200
    # Logout revokes that family too.
    latest = other.json()["refresh_token"]
    assert client.post("/wallet/auth/logout", json={"refresh_token": latest}).status_code == 204
    assert client.post("/wallet/auth/refresh", json={"refresh_token": latest}).status_code == 401
    assert (
        client.post("/wallet/auth/refresh", json={"refresh_token": "rt_unknown"}).status_code == 401
    )
    # Sign-out everywhere ends every family at once.
    sessions = [
        client.post(
            "/wallet/auth/login", json={"email": account.email, "password": PASSWORD}
        ).json()["refresh_token"]
        for _ in range(2)
    ]
    fresh = client.post("/wallet/auth/login", json={"email": account.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert client.post("/wallet/auth/logout-all", headers=headers).status_code == 204
    for token in [*sessions, fresh.json()["refresh_token"]]:
        assert client.post("/wallet/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_login_rate_limit_per_account_and_per_client(client: TestClient) -> None:
    account = register(client)
    context = wallet_of(client)
    wrong = {"email": account.email, "password": "not the password"}
    for _ in range(context.login_max_failures_account_client):
        assert client.post("/wallet/auth/login", json=wrong).status_code == 401
    limited = client.post("/wallet/auth/login", json={"email": account.email, "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    retry = int(limited.headers["retry-after"])
    assert 0 < retry <= 15 * 60 + 1
    # After the window the right password works again, and clears the account's counter.
    start = context.clock()
    context.clock = lambda: start + timedelta(minutes=15, seconds=2)
    assert (
        client.post(
            "/wallet/auth/login", json={"email": account.email, "password": PASSWORD}
        ).status_code
        == 200
    )
    # Per client: failures spread over many accounts from one address are limited too.
    for i in range(context.login_max_failures_client):
        client.post("/wallet/auth/login", json={"email": f"nobody{i}@example.fi", "password": "x"})
    blocked = client.post("/wallet/auth/login", json={"email": account.email, "password": PASSWORD})
    assert blocked.status_code == 429
    with session_of(client) as session:
        assert session.exec(select(func.count()).select_from(LoginAttempt)).one()[0] >= 20


def test_one_addresss_guesses_do_not_lock_the_learner_out(client: TestClient) -> None:
    """Failures from one client address stop that address at the per-address limit; the learner,
    signing in from another, is let in until failures from all addresses reach the account
    limit, which takes several addresses (OWASP ASVS 4.0.3 V2.2.1)."""
    context = wallet_of(client)
    account = register(client)
    right = {"email": account.email, "password": PASSWORD}
    wrong = {"email": account.email, "password": "not the password"}
    per_address = context.login_max_failures_account_client
    addresses = -(-context.login_max_failures_account // per_address)  # to reach the account's

    def at(host: str) -> TestClient:
        return TestClient(client.app, client=(host, 40000))

    learner = at("203.0.113.80")
    guessers = [at(f"198.51.100.{i}") for i in range(1, addresses + 1)]
    for _ in range(per_address):
        assert guessers[0].post("/wallet/auth/login", json=wrong).status_code == 401
    assert guessers[0].post("/wallet/auth/login", json=right).status_code == 429
    assert learner.post("/wallet/auth/login", json=right).status_code == 200
    # the learner's sign-in cleared only the learner's address's failures
    for guesser in guessers[1:]:
        for _ in range(per_address):
            assert guesser.post("/wallet/auth/login", json=wrong).status_code == 401
    locked = learner.post("/wallet/auth/login", json=right)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_probing_for_addresses_by_registering_is_under_the_sign_in_limit(
    client: TestClient,
) -> None:
    """A registration that finds its address taken counts as a failed sign-in (per account and
    per client); new accounts do not count."""
    context = wallet_of(client)
    taken = register(client)
    # new accounts from one address are not failures: more than the per-client limit succeed
    others = [register(client) for _ in range(context.login_max_failures_client + 2)]
    probe = {"email": taken.email, "password": "some password 123"}
    for _ in range(context.login_max_failures_account_client):
        assert client.post("/wallet/auth/register", json=probe).status_code == 409
    limited = client.post("/wallet/auth/register", json=probe)
    assert limited.status_code == 429, limited.text
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) > 0
    # the account's sign-in is under the same limit (as after as many wrong passwords)
    right = {"email": taken.email, "password": PASSWORD}
    assert client.post("/wallet/auth/login", json=right).status_code == 429
    # per client: probing many addresses is limited, and then even a free address must wait
    start = context.clock()
    context.clock = lambda: start + timedelta(minutes=15, seconds=2)
    for account in others[: context.login_max_failures_client]:
        probe = {"email": account.email, "password": "some password 123"}
        assert client.post("/wallet/auth/register", json=probe).status_code == 409
    free = {"email": "free-address@example.fi", "password": PASSWORD}
    assert client.post("/wallet/auth/register", json=free).status_code == 429
    with session_of(client) as session:
        count = session.connection().execute(text("SELECT count(*) FROM learner")).scalar_one()
    assert count == len(others) + 1  # nothing was created by the refused registrations


def test_the_operators_metrics_count_sign_ins_registrations_and_reused_tokens(
    client: TestClient,
) -> None:
    def figures() -> dict[str, float]:
        return {
            **{
                f"sign_in {o}": counted("taito_wallet_sign_ins", outcome=o)
                for o in ("succeeded", "failed", "rate_limited")
            },
            **{
                f"registration {o}": counted("taito_wallet_registrations", outcome=o)
                for o in ("created", "address_taken", "rate_limited")
            },
            "reuse": counted("taito_wallet_refresh_token_reuse"),
        }

    before = figures()
    context = wallet_of(client)
    account = register(client)
    taken = {"email": account.email, "password": "some password 123"}
    assert client.post("/wallet/auth/register", json=taken).status_code == 409
    right = {"email": account.email, "password": PASSWORD}
    assert client.post("/wallet/auth/login", json=right).status_code == 200
    assert client.post(
        "/wallet/auth/refresh", json={"refresh_token": account.refresh_token}
    ).is_success
    spent = client.post("/wallet/auth/refresh", json={"refresh_token": account.refresh_token})
    assert spent.status_code == 401
    wrong = {"email": account.email, "password": "not the password"}
    for _ in range(context.login_max_failures_account_client):  # the right password cleared the 409
        assert client.post("/wallet/auth/login", json=wrong).status_code == 401
    assert client.post("/wallet/auth/login", json=right).status_code == 429
    assert client.post("/wallet/auth/register", json=taken).status_code == 429
    after = figures()
    assert {name: after[name] - before[name] for name in after} == {
        "sign_in succeeded": 1,
        "sign_in failed": context.login_max_failures_account_client,
        "sign_in rate_limited": 1,
        "registration created": 1,
        "registration address_taken": 1,
        "registration rate_limited": 1,
        "reuse": 1,
    }


def test_export_import_round_trip_and_wrong_passphrase(client: TestClient) -> None:
    aino, credential_id = _aino_with_credential(client)
    token = signed_jwt()
    assert (
        client.post(
            "/wallet/credentials",
            content=token,
            headers={**aino.headers, "content-type": "text/plain"},
        ).status_code
        == 201
    )
    passphrase = "a long passphrase of Aino's"
    archive = client.post("/wallet/export", json={"passphrase": passphrase}, headers=aino.headers)
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/vnd.taito.wallet-archive"
    assert token.encode() not in archive.content and b"Data Science" not in archive.content
    original = client.get(f"/wallet/credentials/{credential_id}/raw", headers=aino.headers).content

    ben = register(client, "ben@example.fi")
    wrong = import_archive(client, ben.headers, archive.content, "not the passphrase")
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_passphrase"
    assert client.get("/wallet/credentials", headers=ben.headers).json()["total"] == 0
    tampered = bytearray(archive.content)
    tampered[-5] ^= 1
    broken = import_archive(client, ben.headers, bytes(tampered), passphrase)
    assert broken.status_code == 400
    junk = import_archive(client, ben.headers, b"PK\x03\x04 not ours", passphrase)
    assert junk.status_code == 422 and junk.json()["code"] == "invalid_archive"
    assert client.get("/wallet/credentials", headers=ben.headers).json()["total"] == 0

    imported = import_archive(client, ben.headers, archive.content, passphrase)
    assert imported.status_code == 200, imported.text
    # Holder keys already in this server's store (Aino's) are not duplicated.
    assert imported.json() == {
        "imported": 2,
        "skipped_duplicates": 0,
        "unverified": 0,
        "holder_keys": 0,
    }
    listed = client.get("/wallet/credentials", headers=ben.headers).json()["items"]
    assert {i["source"] for i in listed} == {"import"}
    ids = {i["name"]: i["id"] for i in listed}
    raw = client.get(
        f"/wallet/credentials/{ids['Introduction to Data Science']}/raw", headers=ben.headers
    )
    assert raw.content == original  # bytes as received survive the round trip
    again = import_archive(client, ben.headers, archive.content, passphrase).json()
    assert again["imported"] == 0 and again["skipped_duplicates"] == 2


def _rows_of(client: TestClient, learner_id: str) -> dict[str, int]:
    """Rows that name the learner, in every table of the database with a learner column."""
    counts = {}
    with session_of(client) as session:
        connection = session.connection()
        for name in learner_tables(connection):
            counts[name] = connection.execute(
                select(func.count()).select_from(table(name)).where(text("learner_id = :id")),
                {"id": learner_id},
            ).scalar_one()
        counts["key"] = session.exec(
            select(func.count())
            .select_from(StoredKey)
            .where(col(StoredKey.owner) == f"learner:{learner_id}")
        ).one()[0]
        counts["learner"] = connection.execute(
            text("SELECT count(*) FROM learner WHERE id = :id"), {"id": learner_id}
        ).scalar_one()
    return counts


def _count(client: TestClient, name: str) -> int:
    with session_of(client) as session:
        return int(
            session.connection().execute(select(func.count()).select_from(table(name))).scalar_one()
        )


def test_account_deletion_leaves_no_rows(client: TestClient) -> None:
    aino, credential_id = _aino_with_credential(client)
    client.post("/wallet/auth/login", json={"email": aino.email, "password": "wrong password"})
    share = client.post(
        "/wallet/shares", json={"credentials": [{"id": credential_id}]}, headers=aino.headers
    )
    assert share.status_code == 201, share.text
    viewed = client.get(f"/s/{share.json()['token']}", headers={"accept": "application/json"})
    assert viewed.status_code == 200, viewed.text
    linked = ("share", "share_credential", "share_access")
    assert all(_count(client, name) == 1 for name in linked)
    client.post("/wallet/auth/refresh", json={"refresh_token": aino.refresh_token})
    ben = register(client, "ben@example.fi")
    before = _rows_of(client, aino.id)
    assert before["wallet_credential"] == 1 and before["key"] == 2 and before["learner"] == 1
    assert {"refresh_token", "outbox_mail", "email_token", "wallet_credential"} <= set(before)
    wrong = client.request(
        "DELETE", "/wallet/me", json={"password": "not it"}, headers=aino.headers
    )
    assert wrong.status_code == 401 and _rows_of(client, aino.id) == before
    deleted = client.request(
        "DELETE", "/wallet/me", json={"password": PASSWORD}, headers=aino.headers
    )
    assert deleted.status_code == 204
    after = _rows_of(client, aino.id)
    assert set(after) == set(before) and not any(after.values()), after
    with session_of(client) as session:
        assert session.exec(select(func.count()).select_from(LoginAttempt)).one()[0] == 0
    assert [_count(client, name) for name in linked] == [0, 0, 0]
    # The token of the deleted account no longer works; Ben's account is untouched.
    assert client.get("/wallet/me", headers=aino.headers).status_code == 401
    assert _rows_of(client, ben.id)["learner"] == 1


def test_secrets_never_in_responses(client: TestClient) -> None:
    account = register(client)
    me = client.get("/wallet/me", headers=account.headers).text
    assert PASSWORD not in me and "argon2" not in me and account.refresh_token not in me
    listing = client.get("/wallet/credentials", headers=account.headers).text
    assert "ciphertext" not in listing and "wrapped" not in listing


def test_concurrent_registrations_of_one_address(client: TestClient) -> None:
    """Of simultaneous sign-ups with one address exactly one account exists; the others get a
    409 problem, never a 500."""
    body = {"email": "same@example.fi", "password": PASSWORD}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = sorted(
            pool.map(
                lambda _: client.post("/wallet/auth/register", json=body).status_code, range(4)
            )
        )
    assert codes == [201, 409, 409, 409]
    with session_of(client) as session:
        count = session.connection().execute(text("SELECT count(*) FROM learner")).scalar_one()
    assert count == 1
