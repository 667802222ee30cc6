"""Access control on the issuer API (OWASP ASVS V4 / V2): tenants, scopes, revoked keys.

Every route that takes ``CallerDep`` is listed in :data:`AUTHENTICATED`; a test checks the list
against the app's routes, so a new authenticated route cannot slip past the isolation tests.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import time
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from issuer import context as issuer_context
from tests.issuer.conftest import ACHIEVEMENT, Env, make_institution, make_key

RECIPIENT = {"email": "aino@example.fi", "given_name": "Aino", "family_name": "Virtanen"}


@dataclass
class Target:
    """What one institution owns: ids other institutions' keys must not reach."""

    slug: str
    achievement: str
    credential: str
    batch: str
    api_key: int


# (method, route template) -> concrete path and body, given the victim's ids.
AUTHENTICATED: dict[tuple[str, str], Any] = {
    ("POST", "/issuers"): lambda t: ("/issuers", {"json": _institution_body("mallory")}),
    ("POST", "/issuers/{slug}/keys/rotate"): lambda t: (
        f"/issuers/{t.slug}/keys/rotate",
        {"json": {"key_type": "ed25519"}},
    ),
    ("POST", "/issuers/{slug}/api-keys"): lambda t: (
        f"/issuers/{t.slug}/api-keys",
        {"json": {"name": "backdoor", "scopes": ["issuer:admin"]}},
    ),
    ("GET", "/issuers/{slug}/api-keys"): lambda t: (f"/issuers/{t.slug}/api-keys", {}),
    ("DELETE", "/issuers/{slug}/api-keys/{key_id}"): lambda t: (
        f"/issuers/{t.slug}/api-keys/{t.api_key}",
        {},
    ),
    ("POST", "/issuers/{slug}/achievements"): lambda t: (
        f"/issuers/{t.slug}/achievements",
        {"json": ACHIEVEMENT},
    ),
    ("POST", "/issuers/{slug}/credentials"): lambda t: (
        f"/issuers/{t.slug}/credentials",
        {"json": {"achievement_id": t.achievement, "recipient": RECIPIENT}},
    ),
    ("GET", "/issuers/{slug}/credentials/{credential_id}"): lambda t: (
        f"/issuers/{t.slug}/credentials/{t.credential}",
        {},
    ),
    ("GET", "/issuers/{slug}/credentials/{credential_id}/download/{fmt}"): lambda t: (
        f"/issuers/{t.slug}/credentials/{t.credential}/download/ob3-jwt",
        {},
    ),
    ("GET", "/issuers/{slug}/credentials/{credential_id}/image.{kind}"): lambda t: (
        f"/issuers/{t.slug}/credentials/{t.credential}/image.png",
        {},
    ),
    ("GET", "/issuers/{slug}/audit"): lambda t: (f"/issuers/{t.slug}/audit", {}),
    ("GET", "/metrics"): lambda t: ("/metrics", {}),  # the operator's alone
    ("POST", "/issuers/{slug}/seal-certificate/renew"): lambda t: (
        f"/issuers/{t.slug}/seal-certificate/renew",
        {},
    ),
    ("POST", "/issuers/{slug}/offers"): lambda t: (
        f"/issuers/{t.slug}/offers",
        {"json": {"achievement_id": t.achievement, "recipient": RECIPIENT}},
    ),
    ("POST", "/issuers/{slug}/credentials/revoke"): lambda t: (
        f"/issuers/{t.slug}/credentials/revoke",
        {"json": {"ids": [t.credential]}},
    ),
    ("POST", "/issuers/{slug}/credentials/{credential_id}/status-message"): lambda t: (
        f"/issuers/{t.slug}/credentials/{t.credential}/status-message",
        {"json": {"value": 1}},
    ),
    ("POST", "/issuers/{slug}/credentials/{credential_id}/{action}"): lambda t: (
        f"/issuers/{t.slug}/credentials/{t.credential}/revoke",
        {},
    ),
    ("POST", "/issuers/{slug}/clr"): lambda t: (
        f"/issuers/{t.slug}/clr",
        {"json": {"recipient": RECIPIENT}},
    ),
    ("PUT", "/issuers/{slug}/seal-certificate"): lambda t: (
        f"/issuers/{t.slug}/seal-certificate",
        {"content": b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"},
    ),
    ("POST", "/issuers/{slug}/seal-certificate/revoke"): lambda t: (
        f"/issuers/{t.slug}/seal-certificate/revoke",
        {"json": {"reason": "keyCompromise"}},
    ),
    ("POST", "/issuers/{slug}/batches"): lambda t: (
        f"/issuers/{t.slug}/batches?achievement_id={t.achievement}",
        {"content": b"row_key,email\nr-1,a@example.fi\n", "headers": {"content-type": "text/csv"}},
    ),
    ("GET", "/issuers/{slug}/batches/{batch_id}"): lambda t: (
        f"/issuers/{t.slug}/batches/{t.batch}",
        {},
    ),
}


def _institution_body(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "legal_name": {"en": slug},
        "url": f"https://{slug}.example",
        "country": "FI",
    }


def _uses_caller(route: APIRoute) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is issuer_context.get_caller:
            return True
        pending.extend(dependant.dependencies)
    return False


def _victim(env: Env) -> Target:
    client = env.client
    achievement = client.post(
        f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
    ).json()["id"]
    credential = client.post(
        f"/issuers/{env.slug}/credentials",
        json={"achievement_id": achievement, "recipient": RECIPIENT, "formats": ["ob3-jwt"]},
        headers=env.issuing,
    ).json()["id"]
    batch = client.post(
        f"/issuers/{env.slug}/batches",
        params={"achievement_id": achievement},
        content=b"row_key,email\nr-1,a@example.fi\n",
        headers={**env.issuing, "content-type": "text/csv"},
    ).json()["id"]
    if client.app.state.batch_worker is not None:  # type: ignore[attr-defined]
        # SQLite: the in-process worker issues the batch in the background; let it finish, so
        # the victim's audit trail stands still while the attacks run
        deadline = time.monotonic() + 60
        path = f"/issuers/{env.slug}/batches/{batch}"
        while client.get(path, headers=env.issuing).json()["state"] in ("pending", "running"):
            assert time.monotonic() < deadline, "the batch was not issued within a minute"
            time.sleep(0.05)
    api_key = client.get(f"/issuers/{env.slug}/api-keys", headers=env.admin).json()[0]["id"]
    return Target(env.slug, achievement, credential, batch, api_key)


def _send(client: TestClient, method: str, path: str, kwargs: dict[str, Any], auth: Any) -> Any:
    headers = {**kwargs.get("headers", {}), **(auth or {})}
    return client.request(method, path, **{**kwargs, "headers": headers})


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside routers FastAPI keeps as included (un-prefixed here)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            found.extend(_api_routes(route.original_router.routes))
    return found


def test_every_authenticated_route_is_under_test(env: Env) -> None:
    routes = {
        (method, route.path)
        for route in _api_routes(env.client.app.routes)  # type: ignore[attr-defined]
        if _uses_caller(route)
        for method in route.methods
    }
    assert routes == set(AUTHENTICATED)


def test_another_institutions_api_key_is_refused_on_every_route(env: Env) -> None:
    victim = _victim(env)
    make_institution(env.client, "mallory-uni")
    mallory = make_key(env.client, "mallory-uni", ["issuer:admin"])
    before = env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json()
    refused = {}
    for (method, template), build in AUTHENTICATED.items():
        path, kwargs = build(victim)
        response = _send(env.client, method, path, kwargs, mallory)
        refused[(method, template)] = (response.status_code, response.json().get("code"))
    assert refused == {key: (403, "forbidden") for key in AUTHENTICATED}
    after = env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json()
    assert after == before  # nothing happened to the victim's data


def test_anonymous_callers_are_refused_on_every_route(env: Env) -> None:
    victim = _victim(env)
    refused = {}
    for (method, template), build in AUTHENTICATED.items():
        path, kwargs = build(victim)
        response = _send(env.client, method, path, kwargs, None)
        refused[(method, template)] = (response.status_code, response.json().get("code"))
    assert refused == {key: (401, "unauthorized") for key in AUTHENTICATED}


@pytest.mark.parametrize(
    "authorization",
    ["Basic b3BlcmF0b3I6eA==", "Bearer", "Bearer taito_", "Bearer taito_00_x", "bearer  "],
)
def test_malformed_or_guessed_credentials_are_unauthorized(env: Env, authorization: str) -> None:
    response = env.client.get(
        f"/issuers/{env.slug}/api-keys", headers={"Authorization": authorization}
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


def test_api_key_with_a_forged_secret_is_unauthorized(env: Env) -> None:
    """The right prefix with another secret: the hash comparison fails."""
    token = env.admin["Authorization"].removeprefix("Bearer ")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = env.client.get(
        f"/issuers/{env.slug}/api-keys", headers={"Authorization": f"Bearer {forged}"}
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("scopes", "method", "template"),
    [
        (["credentials:revoke"], "POST", "/issuers/{slug}/achievements"),
        (["achievements:write"], "POST", "/issuers/{slug}/credentials"),
        (["credentials:issue"], "POST", "/issuers/{slug}/credentials/{credential_id}/{action}"),
        (["credentials:issue"], "POST", "/issuers/{slug}/credentials/revoke"),
        (["credentials:issue", "credentials:revoke"], "POST", "/issuers/{slug}/api-keys"),
        (["credentials:issue", "credentials:revoke"], "GET", "/issuers/{slug}/audit"),
        (["achievements:write"], "POST", "/issuers/{slug}/keys/rotate"),
        (["credentials:issue"], "PUT", "/issuers/{slug}/seal-certificate"),
        (["credentials:revoke"], "POST", "/issuers/{slug}/seal-certificate/revoke"),
        (["achievements:write"], "POST", "/issuers/{slug}/batches"),
    ],
)
def test_api_key_with_a_wrong_scope_is_forbidden(
    env: Env, scopes: list[str], method: str, template: str
) -> None:
    victim = _victim(env)
    narrow = make_key(env.client, env.slug, scopes, env.admin)
    path, kwargs = AUTHENTICATED[(method, template)](victim)
    response = _send(env.client, method, path, kwargs, narrow)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert "lacks the scope" in response.json()["detail"]


def test_revoked_api_key_is_unauthorized(env: Env) -> None:
    keys = env.client.get(f"/issuers/{env.slug}/api-keys", headers=env.admin).json()
    issuing_id = next(k["id"] for k in keys if "credentials:issue" in k["scopes"])
    revoked = env.client.delete(f"/issuers/{env.slug}/api-keys/{issuing_id}", headers=env.admin)
    assert revoked.status_code == 200
    response = env.client.post(
        f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


def test_operator_token_is_not_an_api_key_of_an_institution_prefix(env: Env) -> None:
    """The operator token with a stray suffix is not the operator (exact comparison)."""
    operator = "Bearer operator-token-for-tests-0123456789x"
    response = env.client.get(f"/issuers/{env.slug}/api-keys", headers={"Authorization": operator})
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


def _comparisons_of_secrets(function: Any) -> list[str]:
    """``==`` / ``!=`` comparisons in ``function`` that involve a secret-looking name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    secrets = {"token", "secret", "operator_token", "secret_hash", "expected"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            if names & secrets:
                found.append(ast.unparse(node))
    return found


def test_secrets_are_compared_in_constant_time() -> None:
    """Regression guard: the operator token and API key hashes go through hmac.compare_digest."""
    source = inspect.getsource(issuer_context.get_caller)
    assert source.count("hmac.compare_digest(") == 2
    assert _comparisons_of_secrets(issuer_context.get_caller) == []
