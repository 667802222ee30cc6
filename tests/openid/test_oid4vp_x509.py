"""OpenID4VP 1.0 §5.9.3 ``x509_san_dns`` over real HTTP: the verifier signs its request object
with a key certified for the host of its public URL (chain in ``x5c``); the Taito wallet checks
the chain against its trust anchors, the dNSName and the response_uri's host, then answers, and
the verifier verifies the response. Requests with an untrusted chain, another dNSName, an expired
leaf, a response_uri on another host or a signature by another key are refused. ``x509_hash``
names the leaf by the hash of its DER: another certificate, even a trusted one, is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ReasonFlags

from keys import jose, x509
from keys.jwk import PrivateKey, generate
from keys.signing import KeySigner
from tests.keys.test_crl import build_crl
from tests.openid.conftest import Server
from tests.openid.test_oid4vp import IDS, create, poll, query_for
from tests.openid.test_wallet_openid import fill_wallet, learner  # noqa: F401  (fixture)
from tests.verifier.test_http import LoopbackServer
from verifier.certificates import CertificateStatusChecker

HOST = "localhost"
NOW = datetime.now(UTC)
CA_KEY = generate("p256")
CA = x509.make_ca("Taito Test Verifier CA", CA_KEY, now=NOW - timedelta(days=1), days=30)
ROGUE_KEY = generate("p256")
ROGUE = x509.make_ca("Rogue CA", ROGUE_KEY, now=NOW - timedelta(days=1), days=30)


def leaf(
    dns_name: str = HOST,
    *,
    ca: x509.Certificate = CA,
    ca_key: PrivateKey = CA_KEY,
    start: datetime = NOW - timedelta(days=1),
    days: int = 10,
    crl_url: str | None = None,
) -> tuple[list[x509.Certificate], PrivateKey]:
    key = generate("p256")
    certificate = x509.make_request_signing_certificate(
        ca, ca_key, key.public_key(), dns_name=dns_name, now=start, days=days, crl_url=crl_url
    )
    return [certificate], key


@pytest.fixture
def public_host() -> str:
    return HOST


@pytest.fixture
def extra_settings(tmp_path: Path) -> dict[str, Any]:
    return certified_verifier(tmp_path)


def certified_verifier(tmp_path: Path) -> dict[str, Any]:
    """Settings for a verifier with a request-signing certificate of CA, which the wallet trusts."""
    chain, key = leaf()
    (tmp_path / "ca.pem").write_bytes(x509.dump_pem(CA))
    (tmp_path / "verifier.pem").write_bytes(x509.dump_pem(chain))
    (tmp_path / "verifier.jwk").write_text(json.dumps(key.to_jwk()))
    return {
        "trust_anchors_file": tmp_path / "ca.pem",
        "verifier_cert_file": tmp_path / "verifier.pem",
        "verifier_key_file": tmp_path / "verifier.jwk",
    }


def read(server: Server, headers: dict[str, str], uri: str) -> Any:
    return server.http.post("/wallet/requests", json={"request_uri": uri}, headers=headers)


def answer(server: Server, headers: dict[str, str], created: dict[str, Any]) -> str:
    """The learner reads the request, picks the first candidate of each query and answers;
    returns the verifier as the wallet showed it."""
    shown = read(server, headers, created["authorization_request"])
    assert shown.status_code == 200, shown.text
    assert shown.json()["satisfiable"] is True
    choices = {q["id"]: [q["candidates"][0]["credential_id"]] for q in shown.json()["queries"]}
    answered = server.http.post(
        "/wallet/requests/response",
        json={"request_uri": created["authorization_request"], "choices": choices},
        headers=headers,
    )
    assert answered.status_code == 200, answered.text
    return str(shown.json()["verifier"])


@pytest.mark.parametrize("by_reference", [True, False])
def test_wallet_answers_an_x509_san_dns_request(
    server: Server,
    learner: dict[str, str],  # noqa: F811
    by_reference: bool,
) -> None:
    fill_wallet(server, learner)
    # by value, the request object (with its x5c chain) fits in a QR code for one query
    formats = list(IDS) if by_reference else ["dc+sd-jwt"]
    queries = [query_for(server, fmt, IDS[fmt]) for fmt in formats]
    created = create(server, queries, client_id_prefix="x509_san_dns", by_reference=by_reference)
    assert created["client_id"] == f"x509_san_dns:{HOST}"
    assert answer(server, learner, created) == HOST
    result = poll(server, created)
    assert result["status"] == "verified", result
    assert set(result["result"]["credentials"]) == {IDS[f] for f in formats}


def _request_parameters(server: Server, created: dict[str, Any]) -> dict[str, Any]:
    query = dict(urllib.parse.parse_qsl(created["authorization_request"].split("?", 1)[1]))
    fetched = server.http.get(query["request_uri"])
    assert fetched.status_code == 200, fetched.text
    header = jose.decode_unverified(fetched.text).header
    assert header["typ"] == "oauth-authz-req+jwt" and len(header["x5c"]) == 1
    assert "kid" not in header
    return dict(json.loads(jose.decode_unverified(fetched.text).payload))


def _san_dns_request(server: Server) -> dict[str, Any]:
    """The parameters of a fresh x509_san_dns request of the verifier, to sign again."""
    created = create(server, [query_for(server, "dc+sd-jwt")], client_id_prefix="x509_san_dns")
    return _request_parameters(server, created)


def forged(
    params: dict[str, Any],
    chain: list[x509.Certificate],
    key: PrivateKey,
    *,
    dns_name: str = HOST,
    client_id: str | None = None,
    **changes: Any,
) -> str:
    client_id = client_id or f"x509_san_dns:{dns_name}"
    claims = {**params, "client_id": client_id, **changes}
    header = {"typ": "oauth-authz-req+jwt", "x5c": x509.x5c(chain)}
    token = jose.sign_compact(json.dumps(claims).encode(), header, KeySigner(key, "forged"))
    return "openid4vp://?" + urllib.parse.urlencode({"client_id": client_id, "request": token})


def test_wallet_refuses_untrusted_x509_san_dns_requests(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    params = _san_dns_request(server)
    good_chain, good_key = leaf()
    # the same request, signed again with a trusted certificate: accepted
    assert read(server, learner, forged(params, good_chain, good_key)).status_code == 200
    other_host = "other.example"
    other_chain, other_key = leaf(other_host)
    cases = {
        "not chaining to an anchor": (
            forged(params, *leaf(ca=ROGUE, ca_key=ROGUE_KEY)),
            "invalid_client",
        ),
        "another dNSName": (forged(params, other_chain, other_key), "invalid_client"),
        "an expired leaf": (
            forged(params, *leaf(start=NOW - timedelta(days=5), days=2)),
            "invalid_client",
        ),
        "signed by another key": (forged(params, good_chain, generate("p256")), "invalid_client"),
        "a response_uri on another host": (
            forged(params, other_chain, other_key, dns_name=other_host),
            "invalid_request",
        ),
    }
    for case, (uri, error) in cases.items():
        refused = read(server, learner, uri)
        assert refused.status_code == 422, (case, refused.text)
        body = refused.json()
        assert body["code"] == "invalid_presentation_request", case
        assert body["error"] == error, (case, body)
    expired = read(server, learner, cases["an expired leaf"][0]).json()
    assert "expired" in expired["detail"]


def test_wallet_refuses_a_request_whose_certificate_its_ca_revoked(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    params = _san_dns_request(server)
    with LoopbackServer() as ca_site:
        url = ca_site.url("/ca.crl")
        revoked_chain, revoked_key = leaf(crl_url=url)
        kept_chain, kept_key = leaf(crl_url=url)
        published = build_crl(
            issuer=CA,
            key=CA_KEY,
            revoked=((revoked_chain[0].serial_number, ReasonFlags.key_compromise),),
            this_update=NOW,
            next_update=NOW + timedelta(days=1),
        )
        ca_site.routes["/ca.crl"] = (200, {}, published)
        assert read(server, learner, forged(params, kept_chain, kept_key)).status_code == 200
        refused = read(server, learner, forged(params, revoked_chain, revoked_key))
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "invalid_client"
        assert "revoked on" in refused.json()["detail"]
        del ca_site.routes["/ca.crl"]  # the CA's site is down: revocation unknown, refused
        server.app.state.verifier.certificates = CertificateStatusChecker(
            server.app.state.verifier.http
        )
        unknown = read(server, learner, forged(params, kept_chain, kept_key))
        assert unknown.status_code == 422 and "revocation status is unknown" in unknown.text


def test_x509_san_dns_needs_a_configured_certificate(server: Server) -> None:
    context = server.app.state.oid4vp
    configured, context.certificate = context.certificate, None
    try:
        response = server.http.post(
            "/verifier/requests",
            json={
                "dcql_query": {"credentials": [query_for(server, "dc+sd-jwt")]},
                "client_id_prefix": "x509_san_dns",
            },
        )
    finally:
        context.certificate = configured
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "TAITO_VERIFIER_CERT_FILE" in response.json()["detail"]


def test_wallet_answers_an_x509_hash_request(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    fill_wallet(server, learner)
    chain, _key = server.app.state.oid4vp.certificate
    created = create(server, [query_for(server, "dc+sd-jwt")], client_id_prefix="x509_hash")
    # §5.9.3: base64url SHA-256 of the DER-encoded leaf certificate
    der = chain[0].public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert created["client_id"] == f"x509_hash:{expected}"
    params = _request_parameters(server, created)
    assert params["client_id"] == created["client_id"]
    # the learner sees where the answer goes (the hash means nothing to a person)
    shown_as = answer(server, learner, created)
    assert shown_as == urllib.parse.urlsplit(params["response_uri"]).netloc
    assert poll(server, created)["status"] == "verified"


def test_wallet_refuses_x509_hash_requests_from_another_certificate(
    server: Server,
    learner: dict[str, str],  # noqa: F811
) -> None:
    created = create(server, [query_for(server, "dc+sd-jwt")], client_id_prefix="x509_hash")
    params = _request_parameters(server, created)
    client_id = created["client_id"]
    chain, key = server.app.state.oid4vp.certificate
    # signed again by the named certificate's key: accepted
    assert read(server, learner, forged(params, chain, key, client_id=client_id)).status_code == 200
    rogue_chain, rogue_key = leaf(ca=ROGUE, ca_key=ROGUE_KEY)
    rogue_id = "x509_hash:" + x509.der_thumbprint_s256(rogue_chain[0])
    cases = {
        "another trusted certificate": forged(params, *leaf(), client_id=client_id),
        "the named certificate, signed by another key": forged(
            params, chain, generate("p256"), client_id=client_id
        ),
        "its own hash, not chaining to an anchor": forged(
            params, rogue_chain, rogue_key, client_id=rogue_id
        ),
    }
    for case, uri in cases.items():
        refused = read(server, learner, uri)
        assert refused.status_code == 422, (case, refused.text)
        assert refused.json()["error"] == "invalid_client", (case, refused.json())
    other = read(server, learner, cases["another trusted certificate"]).json()
    assert "x509_hash" in other["detail"]
