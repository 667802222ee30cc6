"""Secrets never leave the server (OWASP ASVS V7 logging, V8 data protection, RFC 8725 §3.x keys).

One session of real work is driven through the API with every logger at DEBUG; then every
private key member (``d``, and RSA's CRT values), every API key secret, the operator token and
the master key are looked for in the captured log records and in every response body. The one
allowed appearance is an API key in the response that created it (shown once).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from issuer import institutions
from tests.issuer.conftest import ACHIEVEMENT, OPERATOR, make_institution, operator

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _private_values(client: TestClient, slug: str) -> list[str]:
    state = client.app.state  # type: ignore[attr-defined]
    store = state.issuer.keys()
    with Session(state.engine) as session:
        rows = store.keys(session, institutions.owner(slug))
        keys = [store.private_key(row).to_jwk() for row in rows]
    assert {k["kty"] for k in keys} >= {"OKP", "EC", "RSA"}
    values = [k[m] for k in keys for m in PRIVATE_MEMBERS if m in k]
    ca_file = state.settings.seal_ca_key_file
    if ca_file is not None:
        values.append(json.loads(Path(ca_file).read_text())["d"])
    return values


def _secret_part(api_key: str) -> str:
    """``taito_<prefix>_<secret>``: the secret (base64url, may itself contain ``_``)."""
    return api_key.removeprefix("taito_").partition("_")[2]


def test_no_secret_reaches_a_response_or_a_log(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_client
    bodies: list[tuple[str, str]] = []

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = client.request(method, path, **kwargs)
        bodies.append(
            (f"{method} {path} -> {response.status_code}", response.content.decode("latin-1"))
        )
        return response

    make_institution(client, "vault-uni", key_types=["ed25519", "p256", "rsa"])
    created = call(
        "POST",
        "/issuers/vault-uni/api-keys",
        json={"name": "a", "scopes": ["issuer:admin"]},
        headers=operator(),
    )
    admin_secret = created.json()["key"]
    admin = {"Authorization": f"Bearer {admin_secret}"}
    second = call(
        "POST",
        "/issuers/vault-uni/api-keys",
        json={"name": "b", "scopes": ["credentials:issue"]},
        headers=admin,
    )
    issuing_secret = second.json()["key"]
    one_time = {0, 1}  # the two creation responses: each shows its key once

    achievement = call(
        "POST", "/issuers/vault-uni/achievements", json=ACHIEVEMENT, headers=admin
    ).json()["id"]
    issued = call(
        "POST",
        "/issuers/vault-uni/credentials",
        json={
            "achievement_id": achievement,
            "recipient": {"email": "aino@example.fi", "given_name": "Aino"},
            "formats": ["ob3-di", "ob3-jwt", "sd-jwt-vc", "elm"],
        },
        headers={"Authorization": f"Bearer {issuing_secret}"},
    )
    assert issued.status_code == 201, issued.text
    credential = issued.json()["id"]
    for fmt in ("ob3-di", "ob3-jwt", "sd-jwt-vc", "elm"):
        call("GET", f"/issuers/vault-uni/credentials/{credential}/download/{fmt}", headers=admin)
    for path in (
        "/issuers/vault-uni",
        "/issuers/vault-uni/did.json",
        "/issuers/vault-uni/api-keys",
        "/issuers/vault-uni/audit",
        f"/issuers/vault-uni/credentials/{credential}",
        f"/issuers/vault-uni/credentials/{credential}/image.svg",
        f"/issuers/vault-uni/credentials/{credential}/image.png",
    ):
        call("GET", path, headers=admin)
    call("POST", "/issuers/vault-uni/keys/rotate", json={"key_type": "p256"}, headers=admin)
    call("POST", f"/issuers/vault-uni/credentials/{credential}/revoke", headers=admin)
    status_url = issued.json()["formats"]["ob3-di"]["credentialStatus"]["statusListCredential"]
    call("GET", status_url.removeprefix("https://uni.example.test"))
    # Failures log at ERROR: make some, with secrets in the request.
    call("GET", "/issuers/vault-uni/api-keys", headers={"Authorization": f"Bearer {admin_secret}x"})
    call("POST", "/issuers", json={"slug": "vault-uni"}, headers=operator())
    call("POST", "/verifier/verify", json=issued.json()["formats"]["ob3-di"])

    master = client.app.state.settings.master_key_value()  # type: ignore[attr-defined]
    secrets = {
        "master key": [master],
        "operator token": [OPERATOR],
        "API key secret": [_secret_part(admin_secret), _secret_part(issuing_secret)],
        "private key member": _private_values(client, "vault-uni"),
    }
    logs = "\n".join(
        [
            caplog.text,
            *(r.getMessage() for r in caplog.records),
            *(str(r.args) for r in caplog.records),
        ]
    )
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    leaks = []
    for kind, values in secrets.items():
        for value in values:
            assert len(value) >= 16
            if value in logs:
                leaks.append(f"{kind} in the logs")
            for index, (label, body) in enumerate(bodies):
                if value in body and not (kind == "API key secret" and index in one_time):
                    leaks.append(f"{kind} in {label}")
    assert leaks == []
