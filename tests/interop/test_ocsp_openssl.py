"""OCSP against a responder we did not write: ``openssl ocsp`` serving a CA index over HTTP.

Taito's request (a SHA-1 CertID in a GET URL, RFC 5019 / RFC 6960 Appendix A.1) must be one
OpenSSL answers, and OpenSSL's signed answers ("good", "revoked" with its reason) must be what
Taito reads; OpenSSL says "unknown" for a serial its index does not hold.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from keys import jwk
from keys.x509 import Certificate, dump_pem, make_ca
from tests.keys.test_crl import seal_certificate
from verifier.certificates import CertificateStatusChecker
from verifier.http import GuardedHttp, HttpPolicy

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command-line tool is not installed"
)

NOW = datetime.now(UTC)
CA_KEY = jwk.generate("p256")
CA = make_ca("Taito Interop CA", CA_KEY, now=NOW - timedelta(days=30), days=3650)
SEAL_KEY = jwk.generate("p256")
GOOD_SERIAL, REVOKED_SERIAL, UNLISTED_SERIAL = 0x1001, 0x1002, 0x1003


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _leaf(serial: int, responder: str) -> Certificate:
    return seal_certificate(
        ca=CA, ca_key=CA_KEY, key=SEAL_KEY, serial=serial, now=NOW, ocsp_url=responder
    )


def _index_line(flag: str, serial: int, revoked: str = "") -> str:
    # the CA database format of `openssl ca` (index.txt): status, expiry, revocation, serial, file,
    # subject; tab-separated
    expiry = (NOW + timedelta(days=365)).strftime("%y%m%d%H%M%SZ")
    return "\t".join([flag, expiry, revoked, f"{serial:04X}", "unknown", "/CN=Esimerkkiyliopisto"])


@pytest.fixture(scope="module")
def responder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("openssl-ocsp")
    revoked_at = (NOW - timedelta(days=2)).strftime("%y%m%d%H%M%SZ")
    (folder / "index.txt").write_text(
        _index_line("V", GOOD_SERIAL) + "\n"
        + _index_line("R", REVOKED_SERIAL, f"{revoked_at},keyCompromise") + "\n"
    )  # fmt: skip
    (folder / "ca.pem").write_bytes(dump_pem(CA))
    (folder / "ca.key").write_bytes(
        CA_KEY.raw.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = _free_port()
    command = ["openssl", "ocsp", "-index", "index.txt", "-port", str(port)]
    command += ["-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-nmin", "60"]
    log = folder / "responder.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
    try:
        # it says when it listens; a probe connection would hold the one-at-a-time responder
        deadline = time.monotonic() + 10
        while b"waiting for OCSP client connections" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"openssl ocsp did not start: {log.read_text()[:500]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


def _check(responder: str, serial: int) -> tuple[str, str, str]:
    with GuardedHttp(HttpPolicy(allow_hosts=frozenset({"127.0.0.1"}))) as http:
        check = CertificateStatusChecker(http).check([_leaf(serial, responder), CA], now=NOW)
    return check.status, check.code, check.message


def test_openssl_answers_good(responder: str) -> None:
    assert _check(responder, GOOD_SERIAL)[:2] == ("passed", "certificate_not_revoked")


def test_openssl_answers_revoked_with_the_reason(responder: str) -> None:
    status, code, message = _check(responder, REVOKED_SERIAL)
    assert (status, code) == ("failed", "certificate_revoked")
    assert "keyCompromise" in message and "(OCSP)" in message


def test_openssl_answers_unknown_for_a_serial_it_does_not_hold(responder: str) -> None:
    status, code, message = _check(responder, UNLISTED_SERIAL)
    assert (status, code) == ("failed", "certificate_revocation_unknown")
    assert "does not know" in message
