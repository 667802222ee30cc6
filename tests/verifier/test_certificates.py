"""Revocation of a seal's certificates by CRL, over a real loopback server (verifier.certificates)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as pyca_ocsp

from keys import crl, jades, jwk, ocsp
from keys.signing import KeySigner
from keys.x509 import Certificate, make_ca
from tests.keys.test_crl import build_crl, seal_certificate
from tests.verifier.test_http import LoopbackServer
from verifier.certificates import CertificateStatusChecker
from verifier.credential import VerificationReport, VerifyOptions, verify_credential
from verifier.http import FetchBlocked, GuardedHttp, HttpPolicy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CA_KEY = jwk.generate("p256")
CA = make_ca("Taito Test CA", CA_KEY, now=NOW - timedelta(days=30), days=3650)
SEAL_KEY = jwk.generate("p256")
LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture
def http() -> Iterator[GuardedHttp]:
    # production limits (https only, no private network) but for the test server's address
    with GuardedHttp(HttpPolicy(allow_hosts=LOOPBACK)) as client:
        yield client


def _leaf(crl_url: str | None, serial: int = 4242, ocsp_url: str | None = None) -> Certificate:
    return seal_certificate(
        ca=CA,
        ca_key=CA_KEY,
        key=SEAL_KEY,
        serial=serial,
        now=NOW,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
        organisation_identifier="NTRFI-1234567-8",
    )


def _publish(
    server: LoopbackServer, *revoked: int, published: datetime = NOW - timedelta(minutes=10)
) -> str:
    body = build_crl(
        issuer=CA,
        key=CA_KEY,
        revoked=tuple((serial, None) for serial in revoked),
        this_update=published,
        next_update=published + timedelta(hours=24),
    )
    server.routes["/ca.crl"] = (200, {"Content-Type": crl_media()}, body)
    return server.url("/ca.crl")


def crl_media() -> str:
    return "application/pkix-crl"


def test_a_certificate_on_a_current_crl_is_not_revoked_and_the_crl_is_fetched_once(
    server: LoopbackServer, http: GuardedHttp
) -> None:
    url = _publish(server, 7)
    assert url.startswith("http://")  # plain http, as CAs publish CRLs, though the policy is https
    checker = CertificateStatusChecker(http)
    for _ in range(3):
        check = checker.check([_leaf(url), CA], now=NOW)
        assert (check.id, check.status, check.code) == (
            "issuer_key",
            "passed",
            "certificate_not_revoked",
        )
    assert [path for path, headers in server.requests] == ["/ca.crl"]
    assert server.requests[0][1]["accept"] == "application/pkix-crl"


def test_a_revoked_seal_certificate_fails(server: LoopbackServer, http: GuardedHttp) -> None:
    url = _publish(server, 4242)
    check = CertificateStatusChecker(http).check([_leaf(url), CA], now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revoked")
    assert "Esimerkkiyliopisto" in check.message and "revoked on" in check.message


@pytest.mark.parametrize("case", ["missing", "stale", "garbage", "foreign"])
def test_a_crl_that_cannot_be_relied_on_fails_or_warns_by_policy(
    server: LoopbackServer, http: GuardedHttp, case: str
) -> None:
    url = server.url("/ca.crl")
    if case == "stale":
        _publish(server, published=NOW - timedelta(days=2))  # nextUpdate a day ago
    elif case == "garbage":
        server.routes["/ca.crl"] = (200, {}, b"\x30\x03\x02\x01\x00")
    elif case == "foreign":
        other_key = jwk.generate("p256")
        other = make_ca("Taito Test CA", other_key, now=NOW - timedelta(days=30), days=3650)
        server.routes["/ca.crl"] = (200, {}, build_crl(issuer=other, key=other_key))
    path = [_leaf(url), CA]
    check = CertificateStatusChecker(http).check(path, now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revocation_unknown")
    assert url in check.message
    lenient = CertificateStatusChecker(http, unknown_is_warning=True).check(path, now=NOW)
    assert (lenient.status, lenient.code) == ("warning", "certificate_revocation_unknown")


def test_a_certificate_without_a_distribution_point_is_a_warning(http: GuardedHttp) -> None:
    check = CertificateStatusChecker(http).check([_leaf(None), CA], now=NOW)
    assert (check.status, check.code) == ("warning", "no_revocation_source")


def test_the_address_guard_still_applies_to_crls(server: LoopbackServer) -> None:
    url = _publish(server)
    with GuardedHttp(HttpPolicy()) as production:  # no exemption for the loopback address
        check = CertificateStatusChecker(production).check([_leaf(url), CA], now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revocation_unknown")
    assert "non-public address" in check.message
    assert server.requests == []


def test_plain_http_is_for_signed_documents_only_even_from_the_cache(
    server: LoopbackServer, http: GuardedHttp
) -> None:
    url = _publish(server)
    assert http.get(url, signed=True).content
    with pytest.raises(FetchBlocked, match="scheme 'http'"):
        http.get(url)
    assert len(server.requests) == 1


def _sealed(leaf: Certificate) -> str:
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "issuer": {"id": "https://uni.example", "legalName": {"en": ["Esimerkkiyliopisto"]}},
        "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:8a1a9b9e-0a6f-4a3e-9d5e-1f2a3b4c5d6e"},
    }
    return jades.seal(
        json.dumps(document).encode(),
        signer=KeySigner.for_key(SEAL_KEY),
        chain=[leaf],
        signing_time=NOW - timedelta(hours=2),
    )


def _verify(token: str, checker: CertificateStatusChecker | None) -> VerificationReport:
    options = VerifyOptions(
        now=NOW, loader=lambda url: {}, trust_anchors=(CA,), certificate_status=checker
    )
    return verify_credential(token, options)


def _issuer_key(report: VerificationReport) -> list[tuple[str, str]]:
    return [(c.status, c.code) for c in report.checks if c.id == "issuer_key"]


def test_a_sealed_credential_whose_certificate_was_revoked_does_not_verify(
    server: LoopbackServer, http: GuardedHttp
) -> None:
    url = _publish(server, 4242)
    checker = CertificateStatusChecker(http)
    report = _verify(_sealed(_leaf(url)), checker)
    assert report.format == "jades"
    assert report.check("proof") is not None and report.check("proof").status == "passed"  # type: ignore[union-attr]
    assert _issuer_key(report) == [("failed", "certificate_revoked")]
    (check,) = [c for c in report.checks if c.id == "issuer_key"]
    assert "certified by a trusted anchor" in check.message and "revoked on" in check.message
    assert not report.verified
    good = _verify(_sealed(_leaf(url, serial=4243)), checker)
    assert _issuer_key(good) == [("passed", "certificate_not_revoked")]
    assert good.verified, good.to_json()
    unlisted = _verify(_sealed(_leaf(None)), checker)  # verified, with the caveat shown
    assert _issuer_key(unlisted) == [("warning", "no_revocation_source")]
    assert unlisted.verified


def test_without_a_checker_revocation_is_reported_as_not_checked() -> None:
    report = _verify(_sealed(_leaf("http://crl.example/ca.crl")), None)
    (check,) = [c for c in report.checks if c.id == "issuer_key"]
    assert (check.status, check.code) == ("passed", "ok")
    assert check.message.endswith("(revocation not checked).")


def test_a_revocation_shows_once_the_held_crl_is_older_than_max_age(
    server: LoopbackServer, http: GuardedHttp
) -> None:
    url = _publish(server)
    checker = CertificateStatusChecker(http, max_age=timedelta(hours=1))
    path = [_leaf(url), CA]
    assert checker.check(path, now=NOW).code == "certificate_not_revoked"
    _publish(server, 4242)  # the CA revokes the seal certificate and publishes a new CRL
    assert checker.check(path, now=NOW + timedelta(minutes=30)).code == "certificate_not_revoked"
    assert checker.check(path, now=NOW + timedelta(minutes=61)).code == "certificate_revoked"
    assert len(server.requests) == 2


def test_an_unexpected_error_is_an_unknown_status_not_a_crash(
    server: LoopbackServer, http: GuardedHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a parser bug")

    monkeypatch.setattr(crl, "check_listed", broken)
    check = CertificateStatusChecker(http).check([_leaf(_publish(server)), CA], now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revocation_unknown")
    assert "RuntimeError" in check.message and "a parser bug" not in check.message


# --- OCSP (RFC 6960), for certificates that name a responder ------------------------------------


def _ocsp_leaf(responder: str, *, serial: int = 4242, crl_url: str | None = None) -> Certificate:
    return _leaf(crl_url, serial, ocsp_url=responder)


class Responder:
    """An OCSP responder on the loopback server: it reads the CertID from each GET request
    (RFC 6960 Appendix A.1) and answers from ``revoked`` (serials), signed by the CA."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.url = server.url("/ocsp")
        self.revoked: set[int] = set()
        self.status = 200

    def serve(self, leaf: Certificate) -> Certificate:
        path = ocsp.request_url(self.url, leaf, CA).removeprefix(self.server.url(""))
        self.server.routes[path] = self._answer
        return leaf

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        encoded = handler.path.rpartition("/")[2]
        request = pyca_ocsp.load_der_ocsp_request(base64.b64decode(unquote(encoded)))
        revoked = request.serial_number in self.revoked
        body = (
            pyca_ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=pyca_ocsp.OCSPCertStatus.REVOKED
                if revoked
                else pyca_ocsp.OCSPCertStatus.GOOD,
                this_update=NOW - timedelta(minutes=5),
                next_update=NOW + timedelta(hours=12),
                revocation_time=NOW - timedelta(hours=1) if revoked else None,
                revocation_reason=None,
            )
            .responder_id(pyca_ocsp.OCSPResponderEncoding.HASH, CA)
            .sign(CA_KEY.raw, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        handler.send_response(self.status)
        handler.send_header("Content-Type", ocsp.RESPONSE_MEDIA_TYPE)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def responder(server: LoopbackServer) -> Responder:
    return Responder(server)


def test_a_certificate_naming_only_a_responder_is_checked_by_ocsp_and_the_answer_held(
    responder: Responder, http: GuardedHttp
) -> None:
    leaf = responder.serve(_ocsp_leaf(responder.url))
    checker = CertificateStatusChecker(http)
    for minutes in (0, 30, 59):
        check = checker.check([leaf, CA], now=NOW + timedelta(minutes=minutes))
        assert (check.status, check.code) == ("passed", "certificate_not_revoked")
    assert len(responder.server.requests) == 1  # held for max_age (an hour)
    path, headers = responder.server.requests[0]
    assert path.startswith("/ocsp/") and headers["accept"] == "application/ocsp-response"
    responder.revoked.add(4242)
    http.clear_cache()
    check = checker.check([leaf, CA], now=NOW + timedelta(minutes=61))
    assert (check.status, check.code) == ("failed", "certificate_revoked")
    assert "(OCSP)" in check.message


def test_a_revoked_answer_fails_a_sealed_credential(
    responder: Responder, http: GuardedHttp
) -> None:
    responder.revoked.add(4242)
    report = _verify(
        _sealed(responder.serve(_ocsp_leaf(responder.url))), CertificateStatusChecker(http)
    )
    assert _issuer_key(report) == [("failed", "certificate_revoked")]
    assert not report.verified


def test_ocsp_answers_when_no_crl_can_be_relied_on(responder: Responder, http: GuardedHttp) -> None:
    missing_crl = responder.server.url("/missing.crl")  # 404
    leaf = responder.serve(_ocsp_leaf(responder.url, crl_url=missing_crl))
    check = CertificateStatusChecker(http).check([leaf, CA], now=NOW)
    assert (check.status, check.code) == ("passed", "certificate_not_revoked")
    assert [p.split("/")[1] for p, _ in responder.server.requests] == ["missing.crl", "ocsp"]


def test_a_responder_that_fails_leaves_the_status_unknown(
    responder: Responder, http: GuardedHttp
) -> None:
    responder.status = 500
    leaf = responder.serve(_ocsp_leaf(responder.url))
    check = CertificateStatusChecker(http).check([leaf, CA], now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revocation_unknown")
    assert "OCSP" in check.message and "HTTP 500" in check.message
    lenient = CertificateStatusChecker(http, unknown_is_warning=True).check([leaf, CA], now=NOW)
    assert (lenient.status, lenient.code) == ("warning", "certificate_revocation_unknown")


def test_the_address_guard_applies_to_responders(responder: Responder) -> None:
    leaf = responder.serve(_ocsp_leaf(responder.url))
    with GuardedHttp(HttpPolicy()) as production:
        check = CertificateStatusChecker(production).check([leaf, CA], now=NOW)
    assert (check.status, check.code) == ("failed", "certificate_revocation_unknown")
    assert "non-public address" in check.message
    assert responder.server.requests == []
