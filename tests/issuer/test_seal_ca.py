"""The seal CA's revocation services (issuer/seal_ca.py): its certificates name a CRL and an OCSP
responder, both answer for every certificate it issued, and a superseded seal shows as revoked.
The answers are read with the verifier's own checks (keys.crl, keys.ocsp)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as pyca_ocsp
from fastapi.testclient import TestClient
from sqlmodel import Session

from issuer import seal_ca
from issuer.context import IssuerContext
from issuer.tables import SealCrl
from keys import base64url, crl, jwk, ocsp
from keys.store import KeyVault
from keys.x509 import (
    Certificate,
    dump_pem,
    load_der,
    load_pem_chain,
    make_ca,
    make_seal_certificate,
    public_key_of,
)
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from tests.issuer.conftest import ACHIEVEMENT, PUBLIC_URL, Env, operator
from tests.issuer.test_api import RECIPIENT

OCSP_URL = f"{PUBLIC_URL}/seal-ca/ocsp"


def _seal_chain(env: Env) -> tuple[Certificate, Certificate]:
    """(leaf, CA) from the x5c of a freshly issued Europass credential."""
    achievement = env.client.post(
        f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
    ).json()
    issued = env.client.post(
        f"/issuers/{env.slug}/credentials",
        json={"achievement_id": achievement["id"], "recipient": RECIPIENT, "formats": ["elm"]},
        headers=env.issuing,
    )
    assert issued.status_code == 201, f"{issued.status_code} {issued.text}"
    header = json.loads(base64url.decode(issued.json()["formats"]["elm"].split(".")[0]))
    leaf, ca = (load_der(base64.b64decode(c)) for c in header["x5c"])
    return leaf, ca


def _certify(ca: Certificate, ca_key: jwk.PrivateKey, leaf: Certificate) -> Certificate:
    """A seal certificate for the key ``leaf`` certifies, issued by ``ca`` outside the server."""
    return make_seal_certificate(
        ca,
        ca_key,
        public_key_of(leaf),
        organisation="University helsinki",
        country="FI",
        organisation_identifier=None,
        now=_now(),
        days=30,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _crl(env: Env, ca: Certificate) -> crl.x509.CertificateRevocationList:
    response = env.client.get("/seal-ca/crl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-crl"
    return crl.verified(response.content, ca)


def _ocsp(env: Env, leaf: Certificate, ca: Certificate) -> ocsp.Good:
    response = env.client.get(ocsp.request_url(OCSP_URL, leaf, ca).removeprefix(PUBLIC_URL))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    return ocsp.check_response(response.content, leaf, ca, now=_now())


def test_seals_name_the_cas_crl_and_responder_and_both_answer_good(env: Env) -> None:
    leaf, ca = _seal_chain(env)
    assert crl.distribution_points(leaf) == [f"{PUBLIC_URL}/seal-ca/crl"]
    assert ocsp.responders(leaf) == [OCSP_URL]
    assert load_pem_chain(env.client.get("/seal-ca/certificate").content) == [ca]
    crl.check_listed(_crl(env, ca), leaf, now=_now())  # not listed
    assert len({env.client.get("/seal-ca/crl").content for _ in range(3)}) == 1  # stored
    assert _ocsp(env, leaf, ca).next_update is not None
    # OCSP over POST, with a SHA-256 CertID (RFC 6960 Appendix A.1.1)
    request = pyca_ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA256()).build()
    posted = env.client.post(
        "/seal-ca/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert ocsp.check_response(posted.content, leaf, ca, now=_now())


def test_rotating_the_seal_key_certifies_the_new_key_and_keeps_the_old_valid(env: Env) -> None:
    old, ca = _seal_chain(env)
    rotated = env.client.post(
        f"/issuers/{env.slug}/keys/rotate", json={"key_type": "p256"}, headers=env.admin
    )
    assert rotated.status_code == 201, rotated.text
    new, _ = _seal_chain(env)  # Europass issuance goes on, sealed with the new key
    assert new.serial_number != old.serial_number
    assert public_key_of(new) != public_key_of(old)
    # the old certificate is not revoked: the credentials it sealed (baseline-B, no time-stamp)
    # would all fail verification
    listed = _crl(env, ca)
    for certificate in (old, new):
        crl.check_listed(listed, certificate, now=_now())
        assert _ocsp(env, certificate, ca)
    events = env.client.get(f"/issuers/{env.slug}/audit", headers=operator()).json()
    assert "seal_certificate.issued" in [e["action"] for e in events]
    # rotating another key type leaves the seal alone
    env.client.post(
        f"/issuers/{env.slug}/keys/rotate", json={"key_type": "ed25519"}, headers=env.admin
    )
    assert _seal_chain(env)[0] == new


def test_a_revoked_seal_shows_in_crl_and_ocsp_and_seals_nothing_more(env: Env) -> None:
    leaf, ca = _seal_chain(env)
    revoke = f"/issuers/{env.slug}/seal-certificate/revoke"
    assert env.client.post(revoke, json={"reason": "keyCompromise"}).status_code == 401
    response = env.client.post(revoke, json={"reason": "keyCompromise"}, headers=env.admin)
    assert response.status_code == 200, response.text
    assert response.json()["serial"] == f"{leaf.serial_number:x}"
    assert response.json()["reason"] == "keyCompromise"
    with pytest.raises(crl.CertificateRevoked, match="keyCompromise"):
        crl.check_listed(_crl(env, ca), leaf, now=_now())
    with pytest.raises(crl.CertificateRevoked, match="keyCompromise"):
        _ocsp(env, leaf, ca)
    # uninstalled: no credential is sealed with it again ...
    with pytest.raises(AssertionError, match="409"):
        _seal_chain(env)
    # ... until the key rotates and the CA certifies the new one
    env.client.post(
        f"/issuers/{env.slug}/keys/rotate", json={"key_type": "p256"}, headers=env.admin
    )
    new, _ = _seal_chain(env)
    assert _ocsp(env, new, ca)
    # again: the first date and reason stand; unknown serials and bad reasons are refused
    again = env.client.post(
        revoke,
        json={"serial": f"{leaf.serial_number:X}", "reason": "superseded"},
        headers=env.admin,
    )
    assert again.json()["reason"] == "keyCompromise", again.text
    missing = env.client.post(revoke, json={"serial": "abc123"}, headers=env.admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (
        env.client.post(revoke, json={"reason": "cACompromise"}, headers=env.admin).status_code
        == 422
    )
    events = env.client.get(f"/issuers/{env.slug}/audit", headers=operator()).json()
    assert "seal_certificate.revoked" in [e["action"] for e in events]


def _number(der: bytes) -> int:
    listed = pyca_x509.load_der_x509_crl(der)
    return int(listed.extensions.get_extension_for_class(pyca_x509.CRLNumber).value.crl_number)


def test_the_crl_is_stored_and_signed_again_on_a_revocation_or_after_half_a_day(env: Env) -> None:
    started = int(_now().timestamp() * 1_000_000)
    leaf, ca = _seal_chain(env)
    first = env.client.get("/seal-ca/crl").content
    # RFC 5280 §5.2.3: numbers only grow, also past those the clock gave before (microseconds)
    assert _number(first) >= started
    assert env.client.get("/seal-ca/crl").content == first  # served as stored, not signed again
    tag = env.client.get("/seal-ca/crl").headers["etag"]
    unchanged = env.client.get("/seal-ca/crl", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    revoked = env.client.post(
        f"/issuers/{env.slug}/seal-certificate/revoke",
        json={"reason": "keyCompromise"},
        headers=env.admin,
    )
    assert revoked.status_code == 200, revoked.text
    after = env.client.get("/seal-ca/crl").content
    assert _number(after) == _number(first) + 1  # the revocation is listed at once
    with pytest.raises(crl.CertificateRevoked):
        crl.check_listed(crl.verified(after, ca), leaf, now=_now())
    assert env.client.get("/seal-ca/crl").content == after
    changed = env.client.get("/seal-ca/crl", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.content == after  # a new ETag
    assert changed.headers["etag"] != tag
    # half a day on, the next GET signs a new one (a CRL served has half a day to nextUpdate)
    context: IssuerContext = env.client.app.state.issuer  # type: ignore[attr-defined]
    later = dataclasses.replace(context, clock=lambda: _now() + seal_ca.CRL_REISSUE)
    with Session(context.engine) as session:
        renewed = seal_ca.crl(session, later)
        assert _number(renewed) == _number(after) + 1
        with pytest.raises(crl.CertificateRevoked):  # still listed, and current then
            crl.check_listed(crl.verified(renewed, ca), leaf, now=later.clock())
        # two requests that read the same stale CRL: only the first stores the next one
        state = session.get(SealCrl, seal_ca._fingerprint(ca))
        assert state is not None
        session.expunge(state)
        much_later = _now() + 2 * seal_ca.CRL_REISSUE
        assert seal_ca._publish(session, later, state, much_later) is not None
        assert seal_ca._publish(session, later, state, much_later) is None
    assert _number(env.client.get("/seal-ca/crl").content) == _number(after) + 2


def test_installing_another_cas_chain_revokes_nothing(env: Env) -> None:
    leaf, ca = _seal_chain(env)
    other_key = jwk.generate("p256")
    other = make_ca("Another Seal CA", other_key, now=_now() - timedelta(days=1), days=365)
    theirs = _certify(other, other_key, leaf)
    put = f"/issuers/{env.slug}/seal-certificate"
    installed = env.client.put(put, content=dump_pem([theirs, other]), headers=env.admin)
    assert installed.status_code == 200, installed.text
    assert _ocsp(env, leaf, ca)
    assert _seal_chain(env)[0] == theirs


def test_the_responder_answers_what_it_does_not_know_as_rfc_6960_says(env: Env) -> None:
    leaf, ca = _seal_chain(env)
    known = pyca_ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1()).build()

    def ask(request: pyca_ocsp.OCSPRequest) -> pyca_ocsp.OCSPResponse:
        der = request.public_bytes(serialization.Encoding.DER)
        answer = env.client.post("/seal-ca/ocsp", content=der)
        return pyca_ocsp.load_der_ocsp_response(answer.content)

    never_issued = pyca_ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        known.issuer_name_hash,
        known.issuer_key_hash,
        leaf.serial_number + 1,
        hashes.SHA1(),
    )
    answer = ask(never_issued.build())
    assert answer.certificate_status == pyca_ocsp.OCSPCertStatus.UNKNOWN  # RFC 6960 §2.2
    other_ca = make_ca("Another CA", jwk.generate("p256"), now=_now(), days=30)
    foreign = pyca_ocsp.OCSPRequestBuilder().add_certificate(leaf, other_ca, hashes.SHA1())
    assert ask(foreign.build()).response_status == pyca_ocsp.OCSPResponseStatus.UNAUTHORIZED
    malformed = pyca_ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    for body in (b"", b"\x30\x03\x02\x01\x00", b"\x30" * 9000):
        response = env.client.post("/seal-ca/ocsp", content=body)
        assert response.status_code == 200  # an OCSP error travels as an OCSP response (§2.3)
        assert pyca_ocsp.load_der_ocsp_response(response.content).response_status == malformed
    for path in ("/seal-ca/ocsp/not-base64!", "/seal-ca/ocsp/MAo%3D", "/seal-ca/ocsp/a/b/c"):
        response = env.client.get(path)
        assert pyca_ocsp.load_der_ocsp_response(response.content).response_status == malformed


def test_without_a_seal_ca_the_services_are_not_found(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        public_url=PUBLIC_URL,
        context_dir=tmp_path / "contexts",
    )
    with TestClient(create_app(settings)) as client:
        for method, path in (
            ("GET", "/seal-ca/certificate"),
            ("GET", "/seal-ca/crl"),
            ("GET", "/seal-ca/ocsp/MAo"),
            ("POST", "/seal-ca/ocsp"),
        ):
            response = client.request(method, path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"


def _install_legacy(env: Env, tmp_path: Path) -> tuple[Certificate, Certificate, Certificate]:
    """(leaf, CA, legacy): a certificate for the leaf's key as the CA issued them before it kept
    records (no CRL, OCSP or row), installed."""
    leaf, ca = _seal_chain(env)
    ca_key = jwk.private_key_from_jwk(json.loads((tmp_path / "seal-ca.jwk").read_text()))
    legacy = _certify(ca, ca_key, leaf)
    put = f"/issuers/{env.slug}/seal-certificate"
    assert env.client.put(put, content=dump_pem([legacy, ca]), headers=env.admin).status_code == 200
    assert _seal_chain(env)[0] == legacy
    return leaf, ca, legacy


def test_a_chain_the_ca_signed_before_it_kept_records_is_renewed_on_rotation(
    env: Env, tmp_path: Path
) -> None:
    _, ca, legacy = _install_legacy(env, tmp_path)
    env.client.post(
        f"/issuers/{env.slug}/keys/rotate", json={"key_type": "p256"}, headers=env.admin
    )
    renewed, _ = _seal_chain(env)
    assert renewed != legacy and ocsp.responders(renewed) == [OCSP_URL]
    assert _ocsp(env, renewed, ca)


def test_renewing_certifies_the_same_key_with_today_s_profile_and_keeps_the_old_valid(
    env: Env, tmp_path: Path
) -> None:
    leaf, ca, legacy = _install_legacy(env, tmp_path)
    put = f"/issuers/{env.slug}/seal-certificate"
    renew = f"/issuers/{env.slug}/seal-certificate/renew"
    renewed = env.client.post(renew, headers=env.admin)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["crl"] == [f"{PUBLIC_URL}/seal-ca/crl"]
    assert renewed.json()["ocsp"] == [OCSP_URL]
    sealing, _ = _seal_chain(env)
    assert f"{sealing.serial_number:x}" == renewed.json()["serial"]
    assert public_key_of(sealing) == public_key_of(legacy) == public_key_of(leaf)  # same key
    assert _ocsp(env, sealing, ca)
    crl.check_listed(_crl(env, ca), legacy, now=_now())  # the old one is not revoked
    events = env.client.get(f"/issuers/{env.slug}/audit", headers=operator()).json()
    assert "seal_certificate.issued" in [e["action"] for e in events]
    # another CA's chain is not this CA's to renew; a revoked (uninstalled) one is rotated instead
    other_key = jwk.generate("p256")
    other = make_ca("Another Seal CA", other_key, now=_now() - timedelta(days=1), days=365)
    assert env.client.put(
        put, content=dump_pem([_certify(other, other_key, leaf), other]), headers=env.admin
    ).is_success
    refused = env.client.post(renew, headers=env.admin)
    assert refused.status_code == 409 and "another CA" in refused.json()["detail"]
    assert env.client.put(put, content=dump_pem([sealing, ca]), headers=env.admin).is_success
    assert env.client.post(
        f"/issuers/{env.slug}/seal-certificate/revoke",
        json={"reason": "keyCompromise"},
        headers=env.admin,
    ).is_success
    refused = env.client.post(renew, headers=env.admin)
    assert refused.status_code == 409 and "rotate" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
