"""The secrets scanner finds what it must (planted secrets), and its session capture is live."""

from __future__ import annotations

import json
import logging

import pytest

from keys import jwk
from tests.fuzz.test_api import WALLET_PASSWORD
from tests.hygiene import capture
from tests.hygiene.scanner import PATTERNS, scan
from tests.issuer.conftest import OPERATOR
from tests.wallet.conftest import PASSWORD as WALLET_TEST_PASSWORD

# Secrets the suite itself uses: none may appear in a log.
KNOWN_TEST_SECRETS = (OPERATOR, WALLET_TEST_PASSWORD, WALLET_PASSWORD)

PLANTED = {
    "PEM private key": "key follows -----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI...",
    "private JWK member": json.dumps(jwk.generate("ed25519").to_jwk()),
    "Taito API key": "caller taito_0a1b2c3d4e5f_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA used",
    "wallet refresh token": "rotated rt_q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9",
    "bearer credential": "headers={'authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x'}",
    "secret JSON member": '{"email": "a@example.fi", "password": "hunter2hunter2"}',
    "master key": "TAITO_MASTER_KEY=3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
}


def test_every_pattern_has_a_planted_secret() -> None:
    assert set(PLANTED) == set(PATTERNS)


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_secret_is_found_and_masked(kind: str) -> None:
    findings = scan(PLANTED[kind], "planted")
    assert kind in {f.kind for f in findings}
    secret_tail = PLANTED[kind][-20:-3]
    assert all(secret_tail not in str(f) for f in findings)  # the report does not leak it again


def test_known_literals_are_found() -> None:
    findings = scan(
        f"login failed for aino with {WALLET_TEST_PASSWORD!r}", "planted", KNOWN_TEST_SECRETS
    )
    assert [f.kind for f in findings] == ["known secret"]


@pytest.mark.parametrize(
    "harmless",
    [
        "request 1f2e3d: unhandled error",
        'problem {"code": "unauthorized", "detail": "No or unknown API key"}',
        "Authorization header missing; expected Bearer",
        "key did:web:uni.example.test:issuers:helsinki#abc rotated",
        '{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}',
        "taito_00_x refused",
    ],
)
def test_public_material_is_not_a_finding(harmless: str) -> None:
    assert scan(harmless, "harmless") == []


def test_the_session_capture_sees_a_real_log_record() -> None:
    """A record logged now reaches the capture the final scan reads (the chain can fail)."""
    before = len(capture.SESSION.lines)
    logging.getLogger("taito.hygiene-check").warning("a harmless line with no secret")
    assert len(capture.SESSION.lines) == before + 1
    assert scan(capture.SESSION.lines[-1], "capture") == []
    # The same path with a secret in it is a finding (checked on a copy; the log stays clean).
    planted = capture.SESSION.format(
        logging.LogRecord(
            "taito", logging.ERROR, __file__, 1, "key %s", (PLANTED["Taito API key"],), None
        )
    )
    assert [f.kind for f in scan(planted, "capture")] == ["Taito API key"]
