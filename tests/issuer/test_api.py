"""The issuer API end to end: institution -> API key -> achievement -> credentials in every format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from issuer.tables import AuditEvent, IssuedCredential
from keys import jwk, sd_jwt
from keys.signing import KeySigner
from schemas import json_schemas
from tests.issuer.conftest import ACHIEVEMENT, Env, make_institution, make_key, operator
from verifier.credential import VerifyOptions, verify_credential

RECIPIENT = {
    "email": "Aino.Virtanen@example.fi",
    "given_name": "Aino",
    "family_name": "Virtanen",
    "student_number": "0123456",
}


def _achievement(env: Env) -> str:
    response = env.client.post(
        f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _issue(env: Env, achievement_id: str, formats: list[str], **extra: Any) -> Any:
    body = {"achievement_id": achievement_id, "recipient": RECIPIENT, "formats": formats, **extra}
    return env.client.post(f"/issuers/{env.slug}/credentials", json=body, headers=env.issuing)


def _options(env: Env, **extra: Any) -> VerifyOptions:
    loader = env.client.app.state.issuer.loader  # type: ignore[attr-defined]
    return VerifyOptions(now=datetime.now(UTC), loader=loader, resolve_method=env.resolve, **extra)


def test_issue_every_format_and_verify(env: Env) -> None:
    achievement_id = _achievement(env)
    holder = jwk.generate("p256")
    response = _issue(
        env,
        achievement_id,
        ["ob3-di", "ob3-jwt", "sd-jwt-vc"],
        holder_jwk=holder.public_key().to_jwk(),
        results=[{"name": "Grade", "value": "5"}],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    formats = body["formats"]
    assert set(formats) == {"ob3-di", "ob3-jwt", "sd-jwt-vc"}

    di = formats["ob3-di"]
    assert di["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert di["issuer"]["id"] == "did:web:uni.example.test:issuers:helsinki"
    assert di["credentialSubject"]["identifier"][0]["identityType"] == "emailAddress"
    report = verify_credential(di, _options(env))
    assert report.verified, report.to_json()

    jwt_report = verify_credential(formats["ob3-jwt"], _options(env, issuer_key=_jwt_key(env)))
    assert jwt_report.verified, jwt_report.to_json()
    assert jwt_report.document["credentialSubject"] == di["credentialSubject"]

    presentation = sd_jwt.present(
        formats["sd-jwt-vc"],
        reveal=["/achievement/name", "/achievement/ects_credits"],
        holder=KeySigner.for_key(holder),
        nonce="n",
        audience="https://employer.test",
        iat=datetime.now(UTC),
    )
    sd_report = verify_credential(
        presentation,
        _options(
            env, nonce="n", audience="https://employer.test", issuer_key=_key_of_type(env, "EC")
        ),
    )
    assert sd_report.verified, sd_report.to_json()
    assert sd_report.document["achievement"] == {
        "name": "Introduction to Data Science",
        "ects_credits": 5,
    }
    assert "given_name" not in sd_report.document

    again = env.client.get(f"/issuers/{env.slug}/credentials/{body['id']}", headers=env.issuing)
    assert again.status_code == 200
    assert again.json()["formats"] == formats
    raw = env.client.get(
        f"/issuers/{env.slug}/credentials/{body['id']}/download/ob3-di", headers=env.issuing
    )
    assert json.loads(raw.content) == di
    token = env.client.get(
        f"/issuers/{env.slug}/credentials/{body['id']}/download/ob3-jwt", headers=env.issuing
    )
    assert token.text == formats["ob3-jwt"]


def _key_of_type(env: Env, kty: str) -> jwk.PublicKey:
    document = env.client.get(f"/issuers/{env.slug}/did.json").json()
    for method in document["verificationMethod"]:
        key = env.resolve(method["id"]).public_key
        if key.to_jwk()["kty"] == kty:
            return key
    raise AssertionError(kty)


def _jwt_key(env: Env) -> jwk.PublicKey:
    return _key_of_type(env, "RSA")


def test_issued_open_badge_matches_the_official_schema(env: Env, conformance: Path) -> None:
    schema = json.loads((conformance / "ob3/schemas/json/achievementcredential.json").read_text())
    credential = _issue(env, _achievement(env), ["ob3-di"]).json()["formats"]["ob3-di"]
    credential = {**credential, "proof": [credential["proof"]]}  # the 1EdTech schema wants an array
    json_schemas.validate(credential, schema)


def test_public_documents(env: Env) -> None:
    profile = env.client.get(f"/issuers/{env.slug}")
    assert profile.status_code == 200
    assert profile.headers["content-type"].startswith("application/ld+json")
    assert profile.json()["type"] == ["Profile"]
    did_doc = env.client.get(f"/issuers/{env.slug}/did.json").json()
    assert did_doc["id"] == "did:web:uni.example.test:issuers:helsinki"
    assert len(did_doc["verificationMethod"]) == 3
    achievement_id = _achievement(env)
    achievement = env.client.get(f"/issuers/{env.slug}/achievements/{achievement_id}").json()
    assert achievement["name"] == "Introduction to Data Science"
    eqf = [a for a in achievement["alignment"] if a.get("targetFramework") == "EQF"]
    assert [(a["targetCode"], a["targetUrl"]) for a in eqf] == [
        ("6", "http://data.europa.eu/snb/eqf/6")
    ]
    assert (
        env.client.get("/vct/learning-credential/v1")
        .json()["vct"]
        .endswith("/vct/learning-credential/v1")
    )


def test_idempotency_key(env: Env) -> None:
    achievement_id = _achievement(env)
    headers = {**env.issuing, "Idempotency-Key": "batch-7-row-1"}
    body = {"achievement_id": achievement_id, "recipient": RECIPIENT, "formats": ["ob3-jwt"]}
    first = env.client.post(f"/issuers/{env.slug}/credentials", json=body, headers=headers)
    second = env.client.post(f"/issuers/{env.slug}/credentials", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    changed = env.client.post(
        f"/issuers/{env.slug}/credentials",
        headers=headers,
        json={**body, "recipient": {"email": "other@example.fi"}},
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "conflict"
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(IssuedCredential)).one() == 1


def test_audit_log(env: Env) -> None:
    _issue(env, _achievement(env), ["ob3-di"])
    events = env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json()
    actions = [e["action"] for e in events]
    assert actions[0] == "credential.issued"
    assert {"institution.created", "key.created", "api_key.created", "achievement.created"} <= set(
        actions
    )
    assert all(e["request_id"] for e in events if e["actor"].startswith("api_key"))
    assert env.client.get(f"/issuers/{env.slug}/audit", headers=env.issuing).status_code == 403


def test_key_rotation_keeps_old_credentials_verifiable(env: Env) -> None:
    achievement_id = _achievement(env)
    old = _issue(env, achievement_id, ["ob3-di"]).json()["formats"]["ob3-di"]
    rotated = env.client.post(
        f"/issuers/{env.slug}/keys/rotate", json={"key_type": "ed25519"}, headers=env.admin
    )
    assert rotated.status_code == 201
    new = _issue(env, achievement_id, ["ob3-di"]).json()["formats"]["ob3-di"]
    assert (
        new["proof"]["verificationMethod"]
        == rotated.json()["kid"]
        != old["proof"]["verificationMethod"]
    )
    assert verify_credential(old, _options(env)).verified
    assert verify_credential(new, _options(env)).verified


def test_did_key_institution_verifies_offline(env: Env) -> None:
    make_institution(env.client, "tampere", did_method="key", key_types=["ed25519"])
    key = make_key(env.client, "tampere", ["achievements:write", "credentials:issue"])
    achievement = env.client.post(
        "/issuers/tampere/achievements", json=ACHIEVEMENT, headers=key
    ).json()
    issued = env.client.post(
        "/issuers/tampere/credentials",
        headers=key,
        json={
            "achievement_id": achievement["id"],
            "recipient": RECIPIENT,
            "formats": ["ob3-di", "ob3-jwt"],
        },
    ).json()
    loader = env.client.app.state.issuer.loader  # type: ignore[attr-defined]
    for document in issued["formats"].values():
        assert verify_credential(
            document, VerifyOptions(now=datetime.now(UTC), loader=loader)
        ).verified


def test_isolation_between_institutions(env: Env) -> None:
    make_institution(env.client, "turku")
    turku = make_key(
        env.client, "turku", ["achievements:write", "credentials:issue", "issuer:admin"]
    )
    achievement_id = _achievement(env)
    credential_id = _issue(env, achievement_id, ["ob3-jwt"]).json()["id"]
    calls = [
        ("post", f"/issuers/{env.slug}/achievements", ACHIEVEMENT),
        (
            "post",
            f"/issuers/{env.slug}/credentials",
            {"achievement_id": achievement_id, "recipient": RECIPIENT},
        ),
        ("get", f"/issuers/{env.slug}/credentials/{credential_id}", None),
        ("get", f"/issuers/{env.slug}/credentials/{credential_id}/download/ob3-jwt", None),
        ("get", f"/issuers/{env.slug}/api-keys", None),
        ("post", f"/issuers/{env.slug}/api-keys", {"name": "x", "scopes": ["issuer:admin"]}),
        ("delete", f"/issuers/{env.slug}/api-keys/1", None),
        ("post", f"/issuers/{env.slug}/keys/rotate", {"key_type": "ed25519"}),
        ("get", f"/issuers/{env.slug}/audit", None),
    ]
    for method, path, body in calls:
        kwargs: dict[str, Any] = {"headers": turku}
        if body is not None:
            kwargs["json"] = body
        response = env.client.request(method, path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "forbidden"
        anonymous = env.client.request(method, path, **({"json": body} if body is not None else {}))
        assert anonymous.status_code == 401, (method, path)
    turku_issue = env.client.post(
        "/issuers/turku/credentials",
        headers=turku,
        json={"achievement_id": achievement_id, "recipient": RECIPIENT},
    )
    assert turku_issue.status_code == 404  # Helsinki's achievement does not exist for Turku
    assert (
        env.client.get(f"/issuers/turku/credentials/{credential_id}", headers=turku).status_code
        == 404
    )


def test_scopes_and_api_key_revocation(env: Env) -> None:
    reader = make_key(env.client, env.slug, ["credentials:revoke"], env.admin)
    assert (
        env.client.post(
            f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=reader
        ).status_code
        == 403
    )
    keys = env.client.get(f"/issuers/{env.slug}/api-keys", headers=env.admin).json()
    assert all("key" not in k and "secret_hash" not in k for k in keys)
    issuing_id = keys[1]["id"]
    revoked = env.client.delete(f"/issuers/{env.slug}/api-keys/{issuing_id}", headers=env.admin)
    assert revoked.json()["revoked_at"] is not None
    assert (
        env.client.post(
            f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
        ).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"achievement_id": "nope", "recipient": RECIPIENT}, 404, "not_found"),
        ({"achievement_id": "ACH", "recipient": {}}, 422, "validation_failed"),
        (
            {"achievement_id": "ACH", "recipient": {"email": "not-an-email"}},
            422,
            "validation_failed",
        ),
        (
            {"achievement_id": "ACH", "recipient": RECIPIENT, "formats": ["pdf"]},
            422,
            "validation_failed",
        ),
        (
            {
                "achievement_id": "ACH",
                "recipient": RECIPIENT,
                "valid_from": "2026-01-02T00:00:00Z",
                "valid_until": "2026-01-01T00:00:00Z",
            },
            422,
            "validation_failed",
        ),
        (
            {
                "achievement_id": "ACH",
                "recipient": RECIPIENT,
                "holder_jwk": {"kty": "oct", "k": "AAAA"},
                "formats": ["sd-jwt-vc"],
            },
            422,
            "validation_failed",
        ),
        (
            {"achievement_id": "ACH", "recipient": RECIPIENT, "surprise": 1},
            422,
            "validation_failed",
        ),
    ],
)
def test_bad_issue_requests_change_nothing(
    env: Env, body: dict[str, Any], status: int, code: str
) -> None:
    achievement_id = _achievement(env)
    body = {k: (achievement_id if v == "ACH" else v) for k, v in body.items()}
    engine = env.client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        before = (
            session.exec(select(func.count()).select_from(IssuedCredential)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )
    response = env.client.post(f"/issuers/{env.slug}/credentials", json=body, headers=env.issuing)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    with Session(engine) as session:
        after = (
            session.exec(select(func.count()).select_from(IssuedCredential)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )
    assert after == before


def test_institution_creation_rules(env: Env) -> None:
    duplicate = env.client.post(
        "/issuers",
        headers=operator(),
        json={
            "slug": env.slug,
            "legal_name": {"en": "Again"},
            "url": "https://x.test",
            "country": "FI",
        },
    )
    assert duplicate.status_code == 409
    by_key = env.client.post(
        "/issuers",
        headers=env.admin,
        json={
            "slug": "rogue",
            "legal_name": {"en": "Rogue"},
            "url": "https://x.test",
            "country": "FI",
        },
    )
    assert by_key.status_code == 403
    invalid = env.client.post(
        "/issuers",
        headers=operator(),
        json={"slug": "Bad Slug", "legal_name": {}, "url": "ftp://x", "country": "Finland"},
    )
    assert invalid.status_code == 422
    paths = {e["path"] for e in invalid.json()["errors"]}
    assert {"body.slug", "body.url", "body.country"} <= paths
    assert env.client.get("/issuers/rogue").status_code == 404


def test_elm_needs_a_seal_certificate(env: Env) -> None:
    make_institution(env.client, "oulu", key_types=["ed25519"])  # no P-256 key: no seal
    key = make_key(env.client, "oulu", ["achievements:write", "credentials:issue"])
    achievement = env.client.post(
        "/issuers/oulu/achievements", json=ACHIEVEMENT, headers=key
    ).json()
    refused = env.client.post(
        "/issuers/oulu/credentials",
        headers=key,
        json={
            "achievement_id": achievement["id"],
            "recipient": RECIPIENT,
            "formats": ["elm", "ob3-di"],
        },
    )
    assert refused.status_code == 409
    assert "seal certificate" in refused.json()["detail"]
    events = env.client.get("/issuers/oulu/audit", headers=operator()).json()
    assert "credential.issued" not in [e["action"] for e in events]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_badges_carry_the_credential(env: Env, kind: str) -> None:
    from schemas import baking

    issued = _issue(env, _achievement(env), ["ob3-di", "ob3-jwt"]).json()
    response = env.client.get(
        f"/issuers/{env.slug}/credentials/{issued['id']}/image.{kind}", headers=env.issuing
    )
    assert response.status_code == 200
    baked = (
        baking.unbake_png(response.content)
        if kind == "png"
        else baking.unbake_svg(response.content)
    )
    assert json.loads(baked) == issued["formats"]["ob3-di"]
    assert verify_credential(baked, _options(env)).verified
    only_sd = _issue(env, _achievement(env), ["sd-jwt-vc"]).json()
    missing = env.client.get(
        f"/issuers/{env.slug}/credentials/{only_sd['id']}/image.{kind}", headers=env.issuing
    )
    assert missing.status_code == 404
