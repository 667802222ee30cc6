"""SSRF (OWASP ASVS V12.6 / V13.1): every URL a credential names goes through ``GuardedHttp``.

The verifier runs with the production policy (``TAITO_ALLOW_PRIVATE_NETWORK`` unset); DNS is
faked so host names can resolve to internal addresses, and the in-memory transport records what
was really sent: a blocked fetch never reaches it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from keys import data_integrity, sd_jwt
from keys.signing import KeySigner
from schemas.contexts import StaticLoader
from tests.security.conftest import NOW, Network, checks, did_of, options, signer
from verifier.context import VerifierContext
from verifier.credential import VerificationReport, verify_credential

V2 = "https://www.w3.org/ns/credentials/v2"
INTERNAL = [
    "127.0.0.1",
    "169.254.169.254",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.10",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "fd00::1",
    "fe80::1",
    "::ffff:169.254.169.254",
]


def _credential(issuer: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:learner"},
        **extra,
    }


def _sign(loader: StaticLoader, document: dict[str, Any], key: KeySigner) -> dict[str, Any]:
    return data_integrity.add_proof(
        document, signer=key, cryptosuite="eddsa-rdfc-2022", loader=loader, created=NOW
    )


def _did_web_credential(loader: StaticLoader, host: str) -> dict[str, Any]:
    key = signer()
    web = KeySigner(key.key, f"did:web:{host}#key-1")
    return _sign(loader, _credential(f"did:web:{host}"), web)


@pytest.mark.parametrize("address", INTERNAL)
def test_did_web_resolving_to_an_internal_address_is_not_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network, address: str
) -> None:
    network.dns["issuer.attacker.example"] = [address]
    signed = _did_web_credential(loader, "issuer.attacker.example")
    report = verify_credential(signed, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "verification_method")
    assert "non-public address" in report.check("issuer_key").message  # type: ignore[union-attr]
    assert network.requests == []


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.5", "192.168.1.10"])
def test_did_web_naming_an_internal_address_is_not_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network, host: str
) -> None:
    report = verify_credential(_did_web_credential(loader, host), options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "verification_method")
    assert network.requests == []


def test_did_web_on_loopback_is_not_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    """``did:web:127.0.0.1%3A8000`` maps to plain http: refused by scheme before any address."""
    report = verify_credential(_did_web_credential(loader, "127.0.0.1%3A8000"), options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "verification_method")
    assert network.requests == []


def test_did_web_redirect_to_an_internal_address_is_not_followed(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    network.routes["issuer.example/.well-known/did.json"] = lambda _r: httpx.Response(
        302, headers={"location": "https://169.254.169.254/latest/meta-data/iam"}
    )
    report = verify_credential(_did_web_credential(loader, "issuer.example"), options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "verification_method")
    assert network.hosts() == ["issuer.example"]


def _status_message(report: VerificationReport) -> str:
    return next(c.message for c in report.checks if c.id == "status")


def _with_status(loader: StaticLoader, url: str) -> dict[str, Any]:
    issuer = signer()
    entry = {
        "id": f"{url}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": url,
    }
    return _sign(loader, _credential(did_of(issuer), credentialStatus=entry), issuer)


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3"])
def test_status_list_url_resolving_to_an_internal_address_is_not_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network, address: str
) -> None:
    network.dns["status.attacker.example"] = [address]
    signed = _with_status(loader, "https://status.attacker.example/lists/1")
    report = verify_credential(signed, options(verifier))
    assert checks(report)["proof"] == ("passed", "ok")
    assert checks(report)["status"] == ("failed", "status_list_unreachable")
    assert "(fetch_blocked)" in _status_message(report)
    assert network.requests == []


def test_status_list_redirect_to_an_internal_address_is_not_followed(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    network.routes["status.example/lists/1"] = lambda _r: httpx.Response(
        307, headers={"location": "http://10.0.0.1/admin"}
    )
    report = verify_credential(
        _with_status(loader, "https://status.example/lists/1"), options(verifier)
    )
    assert checks(report)["status"] == ("failed", "status_list_unreachable")
    assert "(fetch_blocked)" in _status_message(report)
    assert network.hosts() == ["status.example"]


def test_status_list_over_plain_http_is_not_fetched(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    report = verify_credential(
        _with_status(loader, "http://status.example/lists/1"), options(verifier)
    )
    assert checks(report)["status"] == ("failed", "status_list_unreachable")
    assert "(fetch_blocked)" in _status_message(report)
    assert network.requests == []


def test_jwt_vc_issuer_metadata_on_an_internal_address_is_not_fetched(
    verifier: VerifierContext, network: Network
) -> None:
    """An SD-JWT VC whose ``iss`` is an https URL: its metadata fetch is guarded too."""
    network.dns["issuer.attacker.example"] = ["169.254.169.254"]
    claims = {"vct": "https://x.example/v", "iss": "https://issuer.attacker.example/t"}
    token = sd_jwt.issue({**claims, "iat": int(NOW.timestamp())}, signer=signer(), disclosable=[])
    report = verify_credential(token, options(verifier))
    assert checks(report)["issuer_key"] == ("failed", "did_resolution")
    assert network.requests == []
