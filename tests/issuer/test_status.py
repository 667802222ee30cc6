"""Revocation and suspension through the issuer API, and the status lists it publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from keys import data_integrity, jwk, sd_jwt, status_list, vc_jwt
from keys.signing import KeySigner
from tests.issuer.conftest import Env
from tests.issuer.test_api import RECIPIENT, _achievement, _issue, _key_of_type, _options
from tests.taito.test_metrics import counted


def _entries(credential: dict[str, Any]) -> list[dict[str, Any]]:
    status = credential["credentialStatus"]
    return status if isinstance(status, list) else [status]


def _bit(env: Env, entry: dict[str, Any]) -> int:
    path = entry["statusListCredential"].removeprefix("https://uni.example.test")
    response = env.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vc+ld+json")
    document = response.json()
    data_integrity.verify_proofs(
        document, resolve_key=env.resolve, loader=_options(env).loader, now=datetime.now(UTC)
    )
    assert document["issuer"] == "did:web:uni.example.test:issuers:helsinki"
    assert document["credentialSubject"]["statusPurpose"] == entry["statusPurpose"]
    bits = status_list.decode_bitstring(document["credentialSubject"]["encodedList"])
    return status_list.status_at(bits, int(entry["statusListIndex"]))


def test_revoke_sets_exactly_that_bit(env: Env) -> None:
    achievement_id = _achievement(env)
    first = _issue(env, achievement_id, ["ob3-di"]).json()
    second = _issue(env, achievement_id, ["ob3-di"]).json()
    [entry1] = _entries(first["formats"]["ob3-di"])
    [entry2] = _entries(second["formats"]["ob3-di"])
    assert entry1["type"] == "BitstringStatusListEntry" and entry1["statusPurpose"] == "revocation"
    assert isinstance(entry1["statusListIndex"], str)
    assert entry1["statusListCredential"] == entry2["statusListCredential"]
    assert entry1["statusListIndex"] != entry2["statusListIndex"]
    assert (_bit(env, entry1), _bit(env, entry2)) == (0, 0)

    revoked = env.client.post(
        f"/issuers/{env.slug}/credentials/{first['id']}/revoke",
        json={"reason": "issued in error"},
        headers=env.admin,
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert (_bit(env, entry1), _bit(env, entry2)) == (1, 0)
    again = env.client.post(
        f"/issuers/{env.slug}/credentials/{first['id']}/unsuspend", headers=env.admin
    )
    assert again.status_code == 409  # revocation is final
    audit = env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json()
    assert (
        audit[0]["action"] == "credential.revoke"
        and audit[0]["details"]["reason"] == "issued in error"
    )


def test_suspend_and_unsuspend(env: Env) -> None:
    achievement_id = _achievement(env)
    credential = _issue(env, achievement_id, ["ob3-di"], suspendable=True).json()
    revocation, suspension = _entries(credential["formats"]["ob3-di"])
    assert suspension["statusPurpose"] == "suspension"
    base = f"/issuers/{env.slug}/credentials/{credential['id']}"
    assert env.client.post(f"{base}/suspend", headers=env.admin).json()["status"] == "suspended"
    assert (_bit(env, revocation), _bit(env, suspension)) == (0, 1)
    assert env.client.post(f"{base}/unsuspend", headers=env.admin).json()["status"] == "active"
    assert (_bit(env, revocation), _bit(env, suspension)) == (0, 0)
    plain = _issue(env, achievement_id, ["ob3-di"]).json()
    refused = env.client.post(
        f"/issuers/{env.slug}/credentials/{plain['id']}/suspend", headers=env.admin
    )
    assert refused.status_code == 409


def test_the_operators_metrics_count_what_was_signed_and_changed(env: Env) -> None:
    """One count per signed format of a new credential (a format named twice is one); an
    idempotent repeat, a refused request and a change to the status a credential already has
    count nothing."""

    def figures() -> dict[str, float]:
        issued = {f: counted("taito_credentials_issued", format=f) for f in ("ob3-di", "ob3-jwt")}
        return issued | {
            a: counted("taito_credential_status_changes", action=a)
            for a in ("revoke", "suspend", "unsuspend")
        }

    before = figures()
    achievement_id = _achievement(env)
    body = {"achievement_id": achievement_id, "recipient": RECIPIENT}
    twice = {**env.issuing, "Idempotency-Key": "metrics-1"}
    path = f"/issuers/{env.slug}/credentials"
    for _ in range(2):  # a format named twice is signed, and counted, once
        formats = ["ob3-di", "ob3-jwt", "ob3-di"]
        sent = env.client.post(path, json={**body, "formats": formats}, headers=twice)
        assert sent.status_code in (200, 201), sent.text
    assert set(sent.json()["formats"]) == {"ob3-di", "ob3-jwt"}
    credential_id = sent.json()["id"]
    suspendable = _issue(env, achievement_id, ["ob3-di"], suspendable=True).json()["id"]
    assert _issue(env, "no-such-achievement", ["ob3-di"]).status_code == 404
    for target, action in (
        (credential_id, "revoke"),
        (credential_id, "revoke"),  # already revoked: no change
        (suspendable, "suspend"),
        (suspendable, "suspend"),
        (suspendable, "unsuspend"),
    ):
        answer = env.client.post(f"{path}/{target}/{action}", headers=env.admin)
        assert answer.status_code == 200, answer.text
    after = figures()
    assert {name: after[name] - before[name] for name in after} == {
        "ob3-di": 2,
        "ob3-jwt": 1,
        "revoke": 1,
        "suspend": 1,
        "unsuspend": 1,
    }


def test_list_is_cached_and_resigned_only_on_change(env: Env) -> None:
    credential = _issue(env, _achievement(env), ["ob3-di"]).json()
    [entry] = _entries(credential["formats"]["ob3-di"])
    path = entry["statusListCredential"].removeprefix("https://uni.example.test")
    first, second = env.client.get(path), env.client.get(path)
    assert first.text == second.text  # not re-signed per request
    assert first.headers["etag"] == second.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    assert env.client.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    as_jwt = env.client.get(path, headers={"Accept": "application/vc+jwt"})
    assert as_jwt.headers["content-type"].startswith("application/vc+jwt")
    verified = vc_jwt.verify_jwt_credential(
        as_jwt.text,
        resolve_key=lambda header, payload: env.resolve(header["kid"]).public_key,
        now=datetime.now(UTC),
    )
    assert verified.credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    env.client.post(f"/issuers/{env.slug}/credentials/{credential['id']}/revoke", headers=env.admin)
    third = env.client.get(path)
    assert third.headers["etag"] != first.headers["etag"]


def test_token_status_list_for_sd_jwt_vc(env: Env) -> None:
    holder = jwk.generate("p256")
    credential = _issue(
        env, _achievement(env), ["sd-jwt-vc"], holder_jwk=holder.public_key().to_jwk()
    ).json()
    token = credential["formats"]["sd-jwt-vc"]
    verified = sd_jwt.verify(
        token, resolve_issuer_key=lambda h, p: _key_of_type(env, "EC"), now=datetime.now(UTC)
    )
    reference = verified.claims["status"]["status_list"]
    path = reference["uri"].removeprefix("https://uni.example.test")

    def value() -> int:
        response = env.client.get(path)
        assert response.headers["content-type"].startswith("application/statuslist+jwt")
        decoded = status_list.verify_status_list_token(
            response.text,
            resolve_key=lambda header: env.resolve(header["kid"]).public_key,
            now=datetime.now(UTC),
            expected_uri=reference["uri"],
        )
        return status_list.token_status_at(decoded.status_list, reference["idx"])

    base = f"/issuers/{env.slug}/credentials/{credential['id']}"
    assert value() == 0
    env.client.post(f"{base}/suspend", headers=env.admin)
    assert value() == 2
    env.client.post(f"{base}/unsuspend", headers=env.admin)
    assert value() == 0
    env.client.post(f"{base}/revoke", headers=env.admin)
    assert value() == 1
    assert KeySigner.for_key(holder).algorithm == "ES256"


def test_bulk_revoke_is_all_or_nothing(env: Env) -> None:
    achievement_id = _achievement(env)
    ids = [_issue(env, achievement_id, ["ob3-jwt"]).json()["id"] for _ in range(3)]
    missing = env.client.post(
        f"/issuers/{env.slug}/credentials/revoke",
        headers=env.admin,
        json={"ids": [*ids, "urn:uuid:00000000-0000-4000-8000-000000000000"]},
    )
    assert missing.status_code == 404
    statuses = [
        env.client.get(f"/issuers/{env.slug}/credentials/{i}", headers=env.admin).json()["status"]
        for i in ids
    ]
    assert statuses == ["active"] * 3
    done = env.client.post(
        f"/issuers/{env.slug}/credentials/revoke",
        headers=env.admin,
        json={"ids": ids, "reason": "course withdrawn"},
    )
    assert [c["status"] for c in done.json()] == ["revoked"] * 3


def test_revocation_needs_the_scope_and_the_institution(env: Env) -> None:
    credential_id = _issue(env, _achievement(env), ["ob3-jwt"]).json()["id"]
    url = f"/issuers/{env.slug}/credentials/{credential_id}/revoke"
    assert env.client.post(url, headers=env.issuing).status_code == 403  # no credentials:revoke
    assert env.client.post(url).status_code == 401
    assert env.client.get(f"/issuers/{env.slug}/status/not-a-list").status_code == 404
    assert json.loads(env.client.post(url, headers=env.admin).text)["status"] == "revoked"


def test_elm_is_sealed_and_verifies_to_the_seal_ca(env: Env) -> None:
    from keys import jades, x509

    response = _issue(env, _achievement(env), ["elm"])
    assert response.status_code == 201, response.text
    credential = response.json()
    token = credential["formats"]["elm"]
    settings = env.client.app.state.settings  # type: ignore[attr-defined]
    anchors = x509.load_pem_chain(settings.seal_ca_cert_file.read_bytes())
    sealed = jades.verify_seal(token, anchors=anchors, now=datetime.now(UTC))
    document = json.loads(sealed.payload)
    assert "EuropeanDigitalCredential" in document["type"]
    assert sealed.organisation == "University helsinki"


def test_status_messages(env: Env) -> None:
    messages = ["valid", "under review", "replaced by a newer credential"]
    credential = _issue(env, _achievement(env), ["ob3-di"], status_messages=messages).json()
    entries = _entries(credential["formats"]["ob3-di"])
    [message] = [e for e in entries if e["statusPurpose"] == "message"]
    assert message["statusSize"] == 2
    assert [m["message"] for m in message["statusMessage"]] == messages
    assert [m["status"] for m in message["statusMessage"]] == ["0x0", "0x1", "0x2"]
    base = f"/issuers/{env.slug}/credentials/{credential['id']}/status-message"
    assert env.client.post(base, json={"value": 2}, headers=env.admin).status_code == 200
    path = message["statusListCredential"].removeprefix("https://uni.example.test")
    document = env.client.get(path).json()
    bits = status_list.decode_bitstring(document["credentialSubject"]["encodedList"], status_size=2)
    assert status_list.status_at(bits, int(message["statusListIndex"]), status_size=2) == 2
    assert env.client.post(base, json={"value": 3}, headers=env.admin).status_code == 422
    plain = _issue(env, _achievement(env), ["ob3-di"]).json()
    refused = env.client.post(
        f"/issuers/{env.slug}/credentials/{plain['id']}/status-message",
        json={"value": 1},
        headers=env.admin,
    )
    assert refused.status_code == 409


def test_sealed_europass_in_the_verifier(env: Env) -> None:
    from dataclasses import replace

    from keys import x509
    from verifier.credential import verify_credential

    token = _issue(env, _achievement(env), ["elm"]).json()["formats"]["elm"]
    settings = env.client.app.state.settings  # type: ignore[attr-defined]
    anchors = tuple(x509.load_pem_chain(settings.seal_ca_cert_file.read_bytes()))
    trusted = verify_credential(token, replace(_options(env), trust_anchors=anchors))
    assert trusted.verified, trusted.to_json()
    assert trusted.format == "jades"
    assert {c.id: c.status for c in trusted.checks}["issuer_key"] == "passed"
    unanchored = verify_credential(token, _options(env))
    assert {c.id: (c.status, c.code) for c in unanchored.checks}["issuer_key"] == (
        "warning",
        "no_trust_anchors",
    )
    other_ca = x509.make_ca("Somebody Else", jwk.generate("p256"), now=datetime.now(UTC), days=1)
    untrusted = verify_credential(token, replace(_options(env), trust_anchors=(other_ca,)))
    assert {c.id: c.status for c in untrusted.checks}["issuer_key"] == "failed"
    header, payload, signature = token.split(".")
    forged = verify_credential(f"{header}.{payload[:-4]}AAAA.{signature}", _options(env))
    assert {c.id: c.status for c in forged.checks}["proof"] == "failed"
