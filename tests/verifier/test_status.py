"""Status checking over a real loopback server: signed lists, every mechanism, named failures."""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import base64url, data_integrity, jwk, status_list, vc_jwt
from keys.did import did_key
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from tests.verifier.test_http import LoopbackServer
from verifier.http import GuardedHttp, HttpPolicy
from verifier.report import Check
from verifier.status import StatusChecker, StatusPolicy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ISSUER_KEY = jwk.generate("ed25519")
ISSUER = did_key(ISSUER_KEY.public_key())
SIGNER = KeySigner.for_key(ISSUER_KEY)
OTHER_KEY = jwk.generate("ed25519")
OTHER = did_key(OTHER_KEY.public_key())
OTHER_SIGNER = KeySigner.for_key(OTHER_KEY)
SIZE = 131_072
V2 = "https://www.w3.org/ns/credentials/v2"


@pytest.fixture(scope="module")
def loader(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> StaticLoader:
    shared: Path = request.getfixturevalue("shared")
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


@pytest.fixture
def http() -> Iterator[GuardedHttp]:
    # Tests and development reach loopback: TAITO_ALLOW_PRIVATE_NETWORK=true.
    with GuardedHttp(HttpPolicy.from_settings({"allow_private_network": True})) as client:
        yield client


@pytest.fixture
def checker(http: GuardedHttp, loader: StaticLoader) -> StatusChecker:
    return StatusChecker(http, loader=loader)


def _list_credential(
    url: str,
    purpose: str,
    encoded: str,
    *,
    issuer: str = ISSUER,
    valid_until: datetime | None = NOW + timedelta(days=1),
) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until.isoformat().replace("+00:00", "Z")
    return credential


def _sign(loader: StaticLoader, document: dict[str, Any], signer: KeySigner = SIGNER) -> bytes:
    signed = data_integrity.add_proof(
        document,
        signer=signer,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=NOW - timedelta(days=1),
    )
    return json.dumps(signed).encode()


def _serve(
    server: LoopbackServer,
    path: str,
    body: bytes,
    media: str = "application/vc+ld+json",
    **headers: str,
) -> str:
    server.routes[path] = (200, {"Content-Type": media, **headers}, body)
    return server.url(path)


def _entry(url: str, index: int | str, purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
        **extra,
    }


def _credential(*entries: dict[str, Any], issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "@context": [V2],
        "id": "urn:uuid:6a9c92a9-2530-4e2b-9776-530467e9bbe0",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialStatus": list(entries) if len(entries) != 1 else entries[0],
        "credentialSubject": {"id": "did:example:learner"},
    }


def _one(checks: list[Check]) -> tuple[str, str]:
    (check,) = checks
    assert check.id == "status"
    return check.status, check.code


def _revocation_list(server: LoopbackServer, loader: StaticLoader, revoked: set[int]) -> str:
    path = "/status/revocation"
    url = server.url(path)
    encoded = status_list.encode_bitstring_values(revoked, size=SIZE)
    return _serve(
        server,
        path,
        _sign(loader, _list_credential(url, "revocation", encoded)),
        **{"Cache-Control": "max-age=300"},
    )


# ----------------------------------------------------------------------------- W3C happy paths


def test_revoked_and_not_revoked(
    server: LoopbackServer, loader: StaticLoader, checker: StatusChecker
) -> None:
    url = _revocation_list(server, loader, {42, 1000})
    revoked = checker.check(_credential(_entry(url, 42)), issuer_id=ISSUER, now=NOW)
    assert revoked == [Check("status", "failed", "revoked", "The issuer revoked this credential.")]
    assert _one(checker.check(_credential(_entry(url, 43)), issuer_id=ISSUER, now=NOW)) == (
        "passed",
        "not_revoked",
    )
    assert server.requests[0][1]["accept"].startswith("application/vc+ld+json")


def test_a_cached_list_is_fetched_and_decoded_once(
    server: LoopbackServer,
    loader: StaticLoader,
    checker: StatusChecker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes: list[str] = []
    real = status_list.decode_bitstring

    def counting(encoded: str, **kwargs: Any) -> status_list.Bitstring:
        decodes.append(encoded)
        return real(encoded, **kwargs)

    monkeypatch.setattr(status_list, "decode_bitstring", counting)
    url = _revocation_list(server, loader, {5})
    results = [
        _one(checker.check(_credential(_entry(url, i)), issuer_id=ISSUER, now=NOW))
        for i in (5, 6, 5)
    ]
    assert results == [("failed", "revoked"), ("passed", "not_revoked"), ("failed", "revoked")]
    assert len(server.requests) == 1
    assert len(decodes) == 1


def test_revalidated_list_is_not_decoded_again(
    server: LoopbackServer,
    loader: StaticLoader,
    checker: StatusChecker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes: list[int] = []
    real = status_list.decode_bitstring
    monkeypatch.setattr(
        status_list,
        "decode_bitstring",
        lambda encoded, **kw: decodes.append(1) or real(encoded, **kw),
    )
    path = "/status/etag"
    url = server.url(path)
    body = _sign(
        loader,
        _list_credential(url, "revocation", status_list.encode_bitstring_values({1}, size=SIZE)),
    )

    def route(handler: Any) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("ETag", '"v1"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("ETag", '"v1"')
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server.routes[path] = route
    for _ in range(3):
        assert _one(checker.check(_credential(_entry(url, 1)), issuer_id=ISSUER, now=NOW)) == (
            "failed",
            "revoked",
        )
    assert len(server.requests) == 3  # revalidated every time (no-cache) ...
    assert [h.get("if-none-match") for _, h in server.requests] == [None, '"v1"', '"v1"']
    assert len(decodes) == 1  # ... but decoded once


def test_suspension_and_two_entries(
    server: LoopbackServer, loader: StaticLoader, checker: StatusChecker
) -> None:
    revocation = _revocation_list(server, loader, set())
    path = "/status/suspension"
    url = server.url(path)
    encoded = status_list.encode_bitstring_values({9}, size=SIZE)
    _serve(server, path, _sign(loader, _list_credential(url, "suspension", encoded)))
    checks = checker.check(
        _credential(_entry(revocation, 9), _entry(url, 9, "suspension")), issuer_id=ISSUER, now=NOW
    )
    assert [(c.status, c.code) for c in checks] == [
        ("passed", "not_revoked"),
        ("failed", "suspended"),
    ]
    later = checker.check(_credential(_entry(url, 10, "suspension")), issuer_id=ISSUER, now=NOW)
    assert _one(later) == ("passed", "not_suspended")


def test_message_purpose_with_status_size_2(
    server: LoopbackServer, loader: StaticLoader, checker: StatusChecker
) -> None:
    path = "/status/message"
    url = server.url(path)
    encoded = status_list.encode_bitstring_values({4: 2, 5: 0}, size=SIZE, status_size=2)
    _serve(server, path, _sign(loader, _list_credential(url, "message", encoded)))
    messages = [
        {"status": "0x0", "message": "pending_review"},
        {"status": "0x1", "message": "accepted"},
        {"status": "0x2", "message": "rejected"},
        {"status": "0x3", "message": "undefined"},
    ]
    entry = _entry(url, 4, "message", statusSize=2, statusMessage=messages)
    (check,) = checker.check(_credential(entry), issuer_id=ISSUER, now=NOW)
    assert (check.status, check.code) == ("warning", "status_message")
    assert check.message.endswith("rejected")
    (check,) = checker.check(
        _credential(_entry(url, 5, "message", statusSize=2, statusMessage=messages)),
        issuer_id=ISSUER,
        now=NOW,
    )
    assert (check.status, check.code) == ("passed", "status_message")
    assert check.message.endswith("pending_review")
    missing = _entry(url, 4, "message", statusSize=2)  # §2.1: statusMessage required
    assert _one(checker.check(_credential(missing), issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "status_entry_invalid",
    )


def test_vc_jwt_status_list_credential(server: LoopbackServer, checker: StatusChecker) -> None:
    path = "/status/jwt"
    url = server.url(path)
    credential = _list_credential(
        url, "revocation", status_list.encode_bitstring_values({77}, size=SIZE)
    )
    token = vc_jwt.sign_credential_jwt(credential, signer=SIGNER, profile="vc+jwt", now=NOW)
    _serve(server, path, token.encode(), "application/vc+jwt")
    assert _one(checker.check(_credential(_entry(url, 77)), issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "revoked",
    )
    assert _one(checker.check(_credential(_entry(url, 78)), issuer_id=ISSUER, now=NOW)) == (
        "passed",
        "not_revoked",
    )


def test_status_list_2021(
    server: LoopbackServer, loader: StaticLoader, checker: StatusChecker
) -> None:
    path = "/status/2021"
    url = server.url(path)
    encoded = status_list.encode_bitstring(
        status_list.Bitstring.zeros(SIZE).set(12, 1), multibase=False
    )
    document = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://w3id.org/vc/status-list/2021/v1",
            "https://w3id.org/security/data-integrity/v2",
        ],
        "id": url,
        "type": ["VerifiableCredential", "StatusList2021Credential"],
        "issuer": ISSUER,
        "issuanceDate": "2026-11-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "StatusList2021",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    _serve(server, path, _sign(loader, document), "application/json")
    entry = {**_entry(url, 12), "type": "StatusList2021Entry"}
    assert _one(checker.check(_credential(entry), issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "revoked",
    )
    entry = {**_entry(url, 13), "type": "StatusList2021Entry"}
    assert _one(checker.check(_credential(entry), issuer_id=ISSUER, now=NOW)) == (
        "passed",
        "not_revoked",
    )


# ----------------------------------------------------------------------------- named failures


def _bad_list(server: LoopbackServer, loader: StaticLoader, case: str) -> tuple[str, int]:
    path = f"/status/{case}"
    url = server.url(path)
    good = status_list.encode_bitstring_values({3}, size=SIZE)
    index = 3
    if case == "bad_signature":
        signed = json.loads(_sign(loader, _list_credential(url, "revocation", good)))
        signed["credentialSubject"]["encodedList"] = status_list.encode_bitstring_values(
            set(), size=SIZE
        )  # the issuer's revocation erased after signing
        body = json.dumps(signed).encode()
    elif case == "other_issuer":
        body = _sign(loader, _list_credential(url, "revocation", good, issuer=OTHER), OTHER_SIGNER)
    elif case == "signed_by_other":
        body = _sign(loader, _list_credential(url, "revocation", good), OTHER_SIGNER)
    elif case == "not_gzip":
        encoded = "u" + base64url.encode(zlib.compress(bytes(SIZE // 8)))
        body = _sign(loader, _list_credential(url, "revocation", encoded))
    elif case == "too_short":
        encoded = status_list.encode_bitstring_values({3}, size=1024)
        body = _sign(loader, _list_credential(url, "revocation", encoded))
    elif case == "out_of_range":
        body = _sign(loader, _list_credential(url, "revocation", good))
        index = SIZE
    elif case == "expired":
        body = _sign(
            loader, _list_credential(url, "revocation", good, valid_until=NOW - timedelta(hours=1))
        )
    elif case == "wrong_purpose":
        body = _sign(loader, _list_credential(url, "suspension", good))
    elif case == "unsigned":
        body = json.dumps(_list_credential(url, "revocation", good)).encode()
    elif case == "not_a_list":
        body = b"<html>hello</html>"
    else:
        raise AssertionError(case)
    _serve(server, path, body)
    return url, index


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad_signature", "status_list_unverified"),
        ("signed_by_other", "status_list_unverified"),
        ("unsigned", "status_list_unverified"),
        ("other_issuer", "status_list_issuer_mismatch"),
        ("not_gzip", "malformed_status_list"),
        ("too_short", "status_list_too_short"),
        ("out_of_range", "status_index_out_of_range"),
        ("expired", "status_list_expired"),
        ("wrong_purpose", "status_purpose_mismatch"),
        ("not_a_list", "status_list_invalid"),
    ],
)
def test_bad_lists_are_named_failures(
    server: LoopbackServer, loader: StaticLoader, http: GuardedHttp, case: str, code: str
) -> None:
    url, index = _bad_list(server, loader, case)
    credential = _credential(_entry(url, index))
    strict = StatusChecker(http, loader=loader)
    assert _one(strict.check(credential, issuer_id=ISSUER, now=NOW)) == ("failed", code)
    lenient = StatusChecker(
        http, loader=loader, policy=StatusPolicy(unknown_status_is_warning=True)
    )
    assert _one(lenient.check(credential, issuer_id=ISSUER, now=NOW)) == ("warning", code)


def test_redirect_to_a_private_address_is_a_named_failure(
    server: LoopbackServer, loader: StaticLoader
) -> None:
    server.routes["/status/moved"] = (302, {"Location": "http://169.254.169.254/latest/"}, b"")
    guarded = GuardedHttp(HttpPolicy(allow_http=True, allow_hosts=frozenset({"127.0.0.1"})))
    with guarded:
        checker = StatusChecker(guarded, loader=loader)
        (check,) = checker.check(
            _credential(_entry(server.url("/status/moved"), 1)), issuer_id=ISSUER, now=NOW
        )
    assert (check.status, check.code) == ("failed", "status_list_unreachable")
    assert "fetch_blocked" in check.message
    with GuardedHttp(HttpPolicy(allow_http=True)) as production:  # the guard on, no exemption
        checker = StatusChecker(production, loader=loader)
        (check,) = checker.check(
            _credential(_entry(server.url("/status/any"), 1)), issuer_id=ISSUER, now=NOW
        )
    assert (check.status, check.code) == ("failed", "status_list_unreachable")
    assert "fetch_blocked" in check.message
    assert [path for path, _ in server.requests] == ["/status/moved"]


def test_missing_list_is_unreachable(server: LoopbackServer, checker: StatusChecker) -> None:
    (check,) = checker.check(
        _credential(_entry(server.url("/status/404"), 1)), issuer_id=ISSUER, now=NOW
    )
    assert (check.status, check.code) == ("failed", "status_list_unreachable")
    assert "404" in check.message


@pytest.mark.parametrize(
    "entry",
    [
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "-1",
            "statusListCredential": "https://issuer.example/s",
        },
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "1"},
        {
            "type": "BitstringStatusListEntry",
            "statusListIndex": "1",
            "statusListCredential": "https://issuer.example/s",
        },
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusSize": 9,
            "statusListIndex": "1",
            "statusListCredential": "https://issuer.example/s",
        },
        "not an object",
    ],
)
def test_malformed_entries(checker: StatusChecker, entry: Any) -> None:
    assert _one(checker.check(_credential(entry), issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "status_entry_invalid",
    )


def test_unknown_status_type_fails_by_default_and_warns_by_policy(
    http: GuardedHttp, loader: StaticLoader
) -> None:
    credential = _credential(
        {"id": "https://issuer.example/s#1", "type": "CredentialStatusList2017"}
    )
    (check,) = StatusChecker(http, loader=loader).check(credential, issuer_id=ISSUER, now=NOW)
    assert (check.status, check.code) == ("failed", "status_unknown")
    assert "CredentialStatusList2017" in check.message
    lenient = StatusChecker(
        http, loader=loader, policy=StatusPolicy(unknown_status_is_warning=True)
    )
    assert _one(lenient.check(credential, issuer_id=ISSUER, now=NOW)) == (
        "warning",
        "status_unknown",
    )


def test_no_status_is_skipped(checker: StatusChecker) -> None:
    credential = _credential()
    del credential["credentialStatus"]
    assert _one(checker.check(credential, issuer_id=ISSUER, now=NOW)) == ("skipped", "no_status")


# ----------------------------------------------------------------------------- 1EdTech


def test_1edtech_revocation_list(
    server: LoopbackServer, checker: StatusChecker, conformance: Path
) -> None:
    """The displayer case of the [STATUS] issue: a listed credential must show as revoked."""
    fixture = json.loads(
        (
            conformance / "ob3" / "validator-fixtures" / "ob30" / "credential-status-revoked.json"
        ).read_text()
    )
    assert fixture["credentialStatus"]["type"] == "1EdTechRevocationList"
    issuer = fixture["issuer"]["id"]
    url = server.url("/api/revocations/org")
    revocations = {
        "id": url,
        "issuer": issuer,
        "revokedCredentials": [
            {"id": fixture["id"], "revocationReason": "Awarded in error"},
            {"id": "https://issuer.example/credential/other"},
        ],
    }
    _serve(server, "/api/revocations/org", json.dumps(revocations).encode(), "application/json")
    credential = copy.deepcopy(fixture)
    credential["credentialStatus"]["id"] = url
    (check,) = checker.check(credential, issuer_id=issuer, now=NOW)
    assert (check.status, check.code) == ("failed", "revoked")
    assert check.message == "The issuer revoked this credential. Reason: Awarded in error"
    assert server.requests[0][1]["accept"] == "application/json"

    not_listed = copy.deepcopy(credential)
    not_listed["id"] = "https://issuer.example/credential/not-listed"
    assert _one(checker.check(not_listed, issuer_id=issuer, now=NOW)) == ("passed", "not_revoked")
    # A list published by someone else does not speak for this issuer.
    assert _one(checker.check(credential, issuer_id="did:example:else", now=NOW)) == (
        "failed",
        "status_list_issuer_mismatch",
    )


def test_1edtech_list_malformed(server: LoopbackServer, checker: StatusChecker) -> None:
    url = _serve(server, "/api/revocations/bad", b'{"revoked": []}', "application/json")
    credential = _credential({"id": url, "type": "1EdTechRevocationList"})
    assert _one(checker.check(credential, issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "status_list_invalid",
    )


# ----------------------------------------------------------------------------- IETF token list


def _token_list(
    server: LoopbackServer,
    path: str,
    statuses: dict[int, int],
    signer: KeySigner = SIGNER,
    expires: timedelta = timedelta(hours=1),
) -> str:
    uri = server.url(path)
    token = status_list.sign_status_list_token(
        statuses,
        bits=2,
        size=1024,
        uri=uri,
        signer=signer,
        now=NOW - timedelta(minutes=1),
        ttl=300,
        expires=NOW + expires,
    )
    return _serve(server, path, token.encode(), "application/statuslist+jwt")


def _sd_jwt_claims(uri: str, idx: int, issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "iss": issuer,
        "vct": "https://credentials.example/degree",
        "status": {"status_list": {"idx": idx, "uri": uri}},
    }


def test_token_status_list(server: LoopbackServer, checker: StatusChecker) -> None:
    uri = _token_list(server, "/statuslists/1", {1: 1, 2: 2, 3: 3})
    outcomes = [
        _one(checker.check(_sd_jwt_claims(uri, idx), issuer_id=ISSUER, now=NOW)) for idx in range(5)
    ]
    assert outcomes == [
        ("passed", "not_revoked"),
        ("failed", "revoked"),
        ("failed", "suspended"),
        ("warning", "status_application_specific"),
        ("passed", "not_revoked"),
    ]
    assert server.requests[0][1]["accept"] == "application/statuslist+jwt"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("other_signer", "status_list_issuer_mismatch"),
        ("expired", "invalid_status_list_token"),
        ("out_of_range", "status_index_out_of_range"),
        ("not_a_jwt", "status_list_unverified"),  # (malformed_jws) in the message
    ],
)
def test_token_status_list_failures(
    server: LoopbackServer, checker: StatusChecker, case: str, code: str
) -> None:
    idx = 1
    if case == "other_signer":
        uri = _token_list(server, "/statuslists/x", {1: 1}, signer=OTHER_SIGNER)
    elif case == "expired":
        uri = _token_list(server, "/statuslists/x", {1: 1}, expires=timedelta(hours=-1))
    elif case == "out_of_range":
        uri = _token_list(server, "/statuslists/x", {1: 1})
        idx = 4096
    else:
        uri = _serve(server, "/statuslists/x", b"hello", "application/statuslist+jwt")
    assert _one(checker.check(_sd_jwt_claims(uri, idx), issuer_id=ISSUER, now=NOW)) == (
        "failed",
        code,
    )


def test_token_status_claim_shapes(checker: StatusChecker) -> None:
    bad_idx = {"iss": ISSUER, "status": {"status_list": {"idx": "1", "uri": "https://x.example"}}}
    assert _one(checker.check(bad_idx, issuer_id=ISSUER, now=NOW)) == (
        "failed",
        "status_entry_invalid",
    )
    other = {"iss": ISSUER, "status": {"status_bloom": {"x": 1}}}
    assert _one(checker.check(other, issuer_id=ISSUER, now=NOW)) == ("failed", "status_unknown")


# ----------------------------------------------------------------------------- hostile input

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200_000) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_field_values = {
    "type": st.sampled_from(
        ["BitstringStatusListEntry", "StatusList2021Entry", "1EdTechRevocationList", "Other"]
    )
    | _json,
    "statusPurpose": st.sampled_from(["revocation", "suspension", "message", "refresh"]) | _json,
    "statusListIndex": st.integers(-1, 200_000).map(str) | _json,
    "statusSize": st.integers(0, 9) | _json,
    "statusMessage": _json,
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entry=st.fixed_dictionaries({}, optional=_field_values),
    body=st.binary(max_size=64) | _json.map(lambda v: json.dumps(v).encode()),
    token=st.booleans(),
    idx=_json,
)
def test_any_input_becomes_checks_never_an_exception(
    entry: dict[str, Any], body: bytes, token: bool, idx: Any
) -> None:
    url = "https://issuer.example/status/1"
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, content=iter([body])))
    with GuardedHttp(transport=transport, resolver=lambda _h, _p: ["93.184.215.14"]) as http:
        checker = StatusChecker(http, loader=lambda *_: {})
        if token:
            credential: dict[str, Any] = {"status": {"status_list": {"idx": idx, "uri": url}}}
        else:
            credential = _credential({**entry, "id": url, "statusListCredential": url})
        checks = checker.check(credential, issuer_id=ISSUER, now=NOW)
    assert checks
    for check in checks:
        assert check.id == "status"
        assert check.status in ("passed", "failed", "warning")
        assert check.status != "passed" or check.code in (
            "not_revoked",
            "not_suspended",
            "status_message",
            "no_refresh",
        )
