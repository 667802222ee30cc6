"""Resource exhaustion (OWASP ASVS V13 / Bitstring Status List §6.x): bombs and deep nesting."""

from __future__ import annotations

import gzip
import json
import struct
import time
import zlib
from typing import Any

import httpx

from keys import base64url, data_integrity
from keys.signing import KeySigner
from schemas.contexts import StaticLoader
from tests.security.conftest import NOW, Network, checks, did_of, options, resign, signer
from verifier.context import VerifierContext
from verifier.credential import VerificationReport, verify_credential

V2 = "https://www.w3.org/ns/credentials/v2"
LIST_URL = "https://status.example/lists/1"
SIXTY_FOUR_MIB = 64 * 1024 * 1024


def _sign(loader: StaticLoader, document: dict[str, Any], key: KeySigner) -> dict[str, Any]:
    return data_integrity.add_proof(
        document, signer=key, cryptosuite="eddsa-rdfc-2022", loader=loader, created=NOW
    )


def _status_message(report: VerificationReport) -> str:
    return next(c.message for c in report.checks if c.id == "status")


def _credential_with_status(loader: StaticLoader, issuer: KeySigner) -> dict[str, Any]:
    entry = {
        "id": f"{LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }
    document = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": did_of(issuer),
        "credentialStatus": entry,
        "credentialSubject": {"id": "did:example:learner"},
    }
    return _sign(loader, document, issuer)


def _status_list(loader: StaticLoader, issuer: KeySigner, encoded: str) -> bytes:
    document = {
        "@context": [V2],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did_of(issuer),
        "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    return json.dumps(_sign(loader, document, issuer)).encode()


def test_status_list_decompression_bomb_is_refused(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    """A signed list whose 64 KB ``encodedList`` inflates to 64 MiB: stopped, not inflated."""
    issuer = signer()
    bomb = gzip.compress(bytes(SIXTY_FOUR_MIB), mtime=0)
    assert len(bomb) < 100_000
    network.serve(LIST_URL, _status_list(loader, issuer, "u" + base64url.encode(bomb)))
    started = time.monotonic()
    report = verify_credential(_credential_with_status(loader, issuer), options(verifier))
    assert time.monotonic() - started < 5
    assert checks(report)["status"] == ("failed", "status_list_too_large")


def test_gzip_content_encoding_bomb_is_refused(
    verifier: VerifierContext, loader: StaticLoader, network: Network
) -> None:
    """The HTTP body itself inflating past the fetch limit (``Content-Encoding: gzip``)."""
    issuer = signer()
    bomb = gzip.compress(b" " * SIXTY_FOUR_MIB, mtime=0)
    network.routes["status.example/lists/1"] = lambda _r: httpx.Response(
        200, content=bomb, headers={"content-encoding": "gzip", "content-type": "application/json"}
    )
    report = verify_credential(_credential_with_status(loader, issuer), options(verifier))
    assert checks(report)["status"] == ("failed", "status_list_unreachable")
    assert "(fetch_too_large)" in _status_message(report)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_with(*chunks: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + b"".join(chunks)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def test_baked_png_decompression_bomb_is_refused(verifier: VerifierContext) -> None:
    """A compressed ``iTXt`` credential chunk (OB 3.0 §5.3.1) that inflates to 64 MiB."""
    text = b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(b"{" * SIXTY_FOUR_MIB, 9)
    bomb = _png_with(_png_chunk(b"iTXt", text))
    assert len(bomb) < 200_000
    started = time.monotonic()
    report = verify_credential(bomb, options(verifier))
    assert time.monotonic() - started < 5
    assert checks(report)["format"] == ("failed", "credential_too_large")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "ha">'
    + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + ']><svg xmlns="http://www.w3.org/2000/svg">'
    '<openbadges:credential xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    "&i;</openbadges:credential></svg>"
)

XXE = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg">'
    '<openbadges:credential xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    "&xxe;</openbadges:credential></svg>"
)


def test_svg_billion_laughs_is_refused(verifier: VerifierContext) -> None:
    started = time.monotonic()
    report = verify_credential(BILLION_LAUGHS, options(verifier))
    assert time.monotonic() - started < 2
    assert checks(report)["format"] == ("failed", "unsafe_xml")


def test_svg_external_entity_is_refused(verifier: VerifierContext) -> None:
    report = verify_credential(XXE, options(verifier))
    assert checks(report)["format"] == ("failed", "unsafe_xml")
    assert "root:" not in json.dumps(report.to_json())


def test_deeply_nested_json_credential_is_refused(verifier: VerifierContext) -> None:
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    report = verify_credential(deep, options(verifier))
    assert checks(report)["format"] == ("failed", "malformed_json")


def test_deeply_nested_jwt_payload_is_refused(verifier: VerifierContext) -> None:
    issuer = signer()
    payload = ('{"iss":"' + did_of(issuer) + '","x":' + "[" * 5000 + "]" * 5000 + "}").encode()
    token = resign({"alg": "EdDSA", "typ": "JWT", "kid": issuer.key_id}, payload, issuer)
    report = verify_credential(token, options(verifier))
    assert checks(report)["proof"] == ("failed", "malformed_jwt")
