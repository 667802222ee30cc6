"""The wallet API: accounts, import of each input shape, list and search, raw bytes, status
re-check, deletion, holder keys and the skills profile."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from keys import jwk, vc_jwt
from keys.signing import KeySigner
from schemas import baking
from tests.wallet.conftest import (
    ISSUER_DID,
    PASSWORD,
    loader_of,
    register,
    session_of,
    signed_badge,
    signed_jwt,
)
from wallet.tables import OutboxMail


def _import(client: TestClient, headers: dict[str, str], body: Any, **kwargs: Any) -> Any:
    if isinstance(body, dict):
        return client.post("/wallet/credentials", json=body, headers=headers, **kwargs)
    return client.post(
        "/wallet/credentials",
        content=body,
        headers={**headers, "content-type": kwargs.pop("content_type", "text/plain")},
        **kwargs,
    )


def test_register_verify_email_login(client: TestClient) -> None:
    account = register(client, "Aino.Virtanen@Example.fi")
    me = client.get("/wallet/me", headers=account.headers).json()
    assert me["email"] == "aino.virtanen@example.fi" and me["email_verified"] is False
    with session_of(client) as session:
        mail = session.exec(select(OutboxMail)).one()
    assert mail.to_address == "aino.virtanen@example.fi"
    token = mail.body.split("token=")[1].split()[0]
    assert client.post("/wallet/auth/verify-email", json={"token": "nope"}).status_code == 400
    verified = client.get("/wallet/verify-email", params={"token": token})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True
    again = client.post("/wallet/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.json()["code"] == "invalid_email_token"

    duplicate = client.post(
        "/wallet/auth/register", json={"email": "aino.virtanen@example.fi", "password": PASSWORD}
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "account_exists"
    short = client.post("/wallet/auth/register", json={"email": "x@y.fi", "password": "short"})
    assert short.status_code == 422

    login = client.post(
        "/wallet/auth/login", json={"email": " AINO.virtanen@example.fi", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    wrong = client.post(
        "/wallet/auth/login", json={"email": "aino.virtanen@example.fi", "password": "wrong-one"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_login"
    assert PASSWORD not in wrong.text


def test_import_list_search_raw_delete(client: TestClient) -> None:
    account = register(client)
    loader = loader_of(client)
    badge = signed_badge(loader, name="Statistics for Data Science")
    response = _import(client, account.headers, badge)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/wallet/credentials/{created['id']}"
    assert created["verified"] and created["status"] == "valid" and created["format"] == "ldp_vc"
    assert created["issuer_id"] == ISSUER_DID and created["report"]["verified"] is True

    token = signed_jwt("Relational Databases")
    jwt_created = _import(client, account.headers, token, content_type="application/vc+jwt")
    assert jwt_created.status_code == 201, jwt_created.text
    assert jwt_created.json()["format"] == "jwt_vc"
    assert jwt_created.json()["media_type"] == "application/vc+jwt"

    # A baked PNG through multipart upload.
    png = baking.bake_png(_png(), json.dumps(signed_badge(loader, name="Machine Learning")))
    upload = client.post(
        "/wallet/credentials",
        files={"file": ("badge.png", png, "image/png")},
        headers=account.headers,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["container"] == "png" and upload.json()["name"] == "Machine Learning"

    duplicate = _import(client, account.headers, badge)
    assert duplicate.status_code == 409
    assert duplicate.json()["existing"] == created["id"]

    listing = client.get("/wallet/credentials", headers=account.headers).json()
    assert listing["total"] == 3 and len(listing["items"]) == 3
    assert "report" not in listing["items"][0]
    found = client.get(
        "/wallet/credentials", params={"q": "databases"}, headers=account.headers
    ).json()
    assert [i["name"] for i in found["items"]] == ["Relational Databases"]
    words = client.get(
        "/wallet/credentials", params={"q": "science  STATISTICS"}, headers=account.headers
    ).json()
    assert [i["name"] for i in words["items"]] == ["Statistics for Data Science"]
    skill = client.get("/wallet/credentials", params={"q": "ESCO"}, headers=account.headers).json()
    assert skill["total"] == 3  # skills are searchable: every credential aligns to ESCO
    page = client.get("/wallet/credentials", params={"limit": 2}, headers=account.headers).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = client.get(
        "/wallet/credentials", params={"limit": 2, "offset": 2}, headers=account.headers
    ).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    assert (
        client.get("/wallet/credentials", params={"q": "50%_"}, headers=account.headers).json()[
            "total"
        ]
        == 0
    )

    raw = client.get(f"/wallet/credentials/{upload.json()['id']}/raw", headers=account.headers)
    assert raw.content == png and raw.headers["content-type"] == "image/png"
    raw_jwt = client.get(
        f"/wallet/credentials/{jwt_created.json()['id']}/raw", headers=account.headers
    )
    assert raw_jwt.text == token

    recheck = client.post(f"/wallet/credentials/{created['id']}/status", headers=account.headers)
    assert recheck.status_code == 200 and recheck.json()["status"] == "valid"

    assert (
        client.delete(f"/wallet/credentials/{created['id']}", headers=account.headers).status_code
        == 204
    )
    gone = client.get(f"/wallet/credentials/{created['id']}", headers=account.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_refused_inputs_leave_nothing(client: TestClient) -> None:
    account = register(client)
    badge = signed_badge(loader_of(client))
    badge["credentialSubject"]["achievement"]["name"] = "Forged"
    refused = _import(client, account.headers, badge)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "credential_rejected" and body["report"]["verified"] is False
    assert {c["id"] for c in body["report"]["checks"] if c["status"] == "failed"} == {"proof"}
    for bad, content_type in (
        (b"", "text/plain"),
        (b"not a credential", "text/plain"),
        (b"\xff\xfe", "application/octet-stream"),
        (b'{"a": 1', "application/json"),
    ):
        response = _import(client, account.headers, bad, content_type=content_type)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # A presentation is not a credential to keep, even when its learner insists.
    holder = jwk.generate("ed25519")
    presentation = vc_jwt.sign_presentation_jwt(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [badge],
        },
        signer=KeySigner.for_key(holder),
    )
    for insist in (False, True):
        response = _import(
            client, account.headers, presentation, params={"accept_unverified": str(insist)}
        )
        assert response.status_code == 422 and response.json()["code"] == "unsupported_input"
    assert client.get("/wallet/credentials", headers=account.headers).json()["total"] == 0
    kept = _import(client, account.headers, badge, params={"accept_unverified": "true"})
    assert kept.status_code == 201
    assert kept.json()["accepted_unverified"] is True and kept.json()["status"] == "unverified"


def test_keys_and_skills_profile(client: TestClient) -> None:
    account = register(client)
    loader = loader_of(client)
    keys = client.get("/wallet/keys", headers=account.headers).json()
    assert sorted(k["algorithm"] for k in keys) == ["ES256", "EdDSA"]
    assert all(
        k["did_key"].startswith("did:key:z") and k["did_jwk"].startswith("did:jwk:") for k in keys
    )
    first = _import(client, account.headers, signed_badge(loader, name="A", alignments=2)).json()
    second = _import(client, account.headers, signed_badge(loader, name="B", alignments=1)).json()
    profile = client.get("/wallet/profile/skills", headers=account.headers).json()
    assert profile["credentials"] == 2
    assert profile["ects_total"] == 10
    top = profile["skills"][0]
    assert top["name"] == "ESCO skill 0" and top["framework"] == "ESCO"
    assert {e["credential_id"] for e in top["credentials"]} == {first["id"], second["id"]}
    assert [e["credential_id"] for e in profile["skills"][1]["credentials"]] == [first["id"]]
