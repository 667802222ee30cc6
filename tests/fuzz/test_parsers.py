"""Parser fuzzing: every parser of untrusted input answers with a typed error, in bounded time.

Each target takes bytes or text an attacker controls — a compact JWS, an SD-JWT with its
disclosures and KB-JWT, a JSON-LD credential, a baked PNG or SVG, a CSV or JSON Lines batch, a
Bitstring or Token status list, a DCQL query — and must either return or raise a
:class:`~schemas.errors.TaitoError` (the verifier's entry point must not raise at all: it returns
a report). Inputs are random, and mutations of valid documents (so the fuzzer gets past the
first check). ``deadline`` bounds the time of each example; the decompression tests bound memory.

``TAITO_FUZZ_EXAMPLES`` scales the number of examples (``make fuzz``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import time
import tracemalloc
import urllib.parse
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from issuer import batches
from keys import base64url, jose, jwk, status_list
from keys.sd_jwt import holder as sd_holder
from keys.sd_jwt import issuer as sd_issuer
from keys.sd_jwt import verifier as sd_verifier
from keys.signing import KeySigner
from schemas import baking, strict_json
from schemas.contexts import ContextCache, StaticLoader
from schemas.errors import TaitoError
from tests.fuzz.conftest import FIGURES, fuzz_examples
from verifier import dcql
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, HttpPolicy

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ISSUER = KeySigner.for_key(jwk.generate("ed25519"))
HOLDER = KeySigner.for_key(jwk.generate("p256"))
PUBLIC = ISSUER.key.public_key()
DEADLINE_MS = 2000  # per example: generous on a loaded 2-core machine, far below a hang


def _settings(factor: int = 1) -> Any:
    return settings(
        max_examples=fuzz_examples() * 10 * factor,
        deadline=DEADLINE_MS,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _typed(target: str, call: Callable[[], Any]) -> None:
    """``call`` returns or raises a TaitoError; anything else fails the property."""
    FIGURES[f"parser fuzz examples: {target}"] += 1
    with contextlib.suppress(TaitoError):
        call()


# ---------------------------------------------------------------------------- inputs and mutations

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, valid: str | bytes) -> Any:
    """``valid`` with a few random edits: overwrite, insert, delete, truncate, duplicate a span."""
    data = bytearray(valid.encode() if isinstance(valid, str) else valid)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "insert", "delete", "truncate", "repeat"]))
        if action == "set":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    if isinstance(valid, str):
        return bytes(data).decode("utf-8", "replace")
    return bytes(data)


def _segment(value: Any) -> str:
    return base64url.encode(json.dumps(value).encode())


@st.composite
def jws_like(draw: st.DrawFn) -> str:
    """Three (or more, or fewer) dot-separated parts, often well-formed base64url JSON."""
    parts = draw(
        st.lists(
            st.one_of(
                json_values.map(_segment),
                st.dictionaries(
                    st.sampled_from(["alg", "typ", "kid", "crit", "jwk", "b64", "cnf"]),
                    json_values,
                ).map(_segment),
                st.text(alphabet="ABCDEFabcdef0123456789-_=+/. ", max_size=40),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return ".".join(parts)


# -------------------------------------------------------------------------------------- valid seeds

JWS = jose.sign_compact(
    json.dumps({"iss": "did:example:1", "vc": {"type": ["VerifiableCredential"]}}).encode(),
    {"alg": "EdDSA", "typ": "vc+jwt", "kid": ISSUER.key_id},
    ISSUER,
)
SD_JWT = sd_issuer.issue(
    {
        "iss": ISSUER.key_id.split("#")[0],
        "vct": "https://example.test/v",
        "name": "Aino",
        "age": 30,
    },
    signer=ISSUER,
    disclosable=["/name", "/age"],
    holder_key=HOLDER.key.public_key(),
)
PRESENTATION = sd_holder.present(
    SD_JWT, holder=HOLDER, nonce="n-1", audience="https://v.test", iat=NOW
)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


BAKED_PNG = baking.bake_png(_png(), JWS)
BAKED_SVG = baking.bake_svg(
    '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>',
    JWS,
)
BITSTRING = status_list.encode_bitstring(bytes(status_list.MIN_BITSTRING_BYTES))
TOKEN_LIST = status_list.encode_token_list({3: 1, 7: 2}, bits=2, size=64)
CSV = b"row_key,email,given_name\nr-1,a@example.fi,Aino\nr-2,b@example.fi,Eino\n"
JSONL = b'{"row_key":"r-1","email":"a@example.fi"}\n{"row_key":"r-2","email":"b@example.fi"}\n'
DCQL = {
    "credentials": [
        {
            "id": "degree",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://example.test/v"]},
            "claims": [{"path": ["name"]}, {"path": ["age"], "values": [30]}],
        }
    ]
}


# ---------------------------------------------------------------------------------------- JOSE


@_settings()
@given(st.one_of(jws_like(), mutated(JWS), st.text(max_size=200)))
def test_compact_jws_parser_raises_only_typed_errors(token: str) -> None:
    def call() -> None:
        decoded = jose.decode_unverified(token)
        jose.verify_decoded(decoded, algorithms=["EdDSA"], resolve_key=lambda _header: PUBLIC)

    _typed("compact JWS", call)


# ---------------------------------------------------------------------------------- SD-JWT / KB


def _resolve(_header: Any, _payload: Any) -> Any:
    return PUBLIC


@st.composite
def sd_jwt_like(draw: st.DrawFn) -> str:
    """Issuer JWT, disclosures and KB-JWT recombined, forged or mutated."""
    issuer_jwt, *rest = PRESENTATION.split("~")
    disclosures, kb = rest[:-1], rest[-1]
    forged = draw(st.lists(json_values.map(_segment), max_size=3))
    picked = draw(st.lists(st.sampled_from(disclosures + forged + [""]), max_size=5))
    tail = draw(st.sampled_from([kb, "", draw(jws_like())]))
    return "~".join([draw(st.sampled_from([issuer_jwt, draw(jws_like())])), *picked, tail])


@_settings()
@given(st.one_of(sd_jwt_like(), mutated(PRESENTATION), st.text(alphabet="~.abcAB0_-", max_size=80)))
def test_sd_jwt_and_kb_jwt_parser_raises_only_typed_errors(presentation: str) -> None:
    _typed(
        "SD-JWT + KB-JWT",
        lambda: sd_verifier.verify(
            presentation,
            resolve_issuer_key=_resolve,
            now=NOW,
            expected_nonce="n-1",
            expected_audience="https://v.test",
            expected_typ=None,
        ),
    )


# ------------------------------------------------------------------------------------ credentials


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


CREDENTIAL = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "urn:uuid:1",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:example:1", "type": ["Profile"], "name": "U"},
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {"type": ["AchievementSubject"], "achievement": {"id": "urn:a"}},
    "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"},
}


def test_the_verifier_never_raises_on_hostile_input(loader: StaticLoader) -> None:
    options = VerifyOptions(now=NOW, loader=loader)
    text = json.dumps(CREDENTIAL)

    @_settings()
    @given(
        st.one_of(
            json_values,
            st.dictionaries(st.sampled_from(sorted(CREDENTIAL)), json_values).map(
                lambda extra: {**CREDENTIAL, **extra}
            ),
            mutated(text),
            mutated(JWS),
            mutated(PRESENTATION),
            st.binary(max_size=64).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
        )
    )
    def check(data: Any) -> None:
        FIGURES["parser fuzz examples: verify_credential"] += 1
        if isinstance(data, str) and data.lstrip().startswith("{"):
            try:
                data = strict_json.loads(data)
            except TaitoError:
                return
        report = verify_credential(data, options)  # a report, never an exception
        assert report.checks

    check()


# ------------------------------------------------------------------------------------------ baking


@_settings()
@given(st.one_of(mutated(BAKED_PNG), st.binary(max_size=200)))
def test_png_unbaking_raises_only_typed_errors(png: bytes) -> None:
    _typed("PNG unbaking", lambda: baking.unbake_png(png))


@st.composite
def hostile_svg(draw: st.DrawFn) -> str:
    doctype = draw(
        st.sampled_from(
            [
                "",
                '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
                '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                '<!DOCTYPE svg SYSTEM "http://127.0.0.1/x.dtd">',
            ]
        )
    )
    body = draw(st.sampled_from(["&b;", "&x;", "", draw(st.text(max_size=40))]))
    return (
        f'<?xml version="1.0"?>{doctype}<svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
        f"<openbadges:credential>{body}</openbadges:credential></svg>"
    )


@_settings()
@given(st.one_of(mutated(BAKED_SVG), hostile_svg(), st.text(max_size=200)))
def test_svg_unbaking_raises_only_typed_errors(svg: str) -> None:
    _typed("SVG unbaking", lambda: baking.unbake_svg(svg))


# ----------------------------------------------------------------------------------------- batches


@_settings()
@given(
    st.sampled_from(["csv", "jsonl"]),
    st.one_of(mutated(CSV), mutated(JSONL), st.binary(max_size=200)),
)
def test_batch_files_raise_only_typed_errors(kind: str, data: bytes) -> None:
    _typed(
        "CSV / JSON Lines batch",
        lambda: batches.parse(data, kind, achievement_id="a-1", formats=["ob3-di"], now=NOW),
    )


# ------------------------------------------------------------------------------------ status lists


@_settings()
@given(
    st.one_of(mutated(BITSTRING), st.text(max_size=100)),
    st.integers(1, 8),
    st.booleans(),
)
def test_bitstring_status_list_raises_only_typed_errors(
    encoded: str, size: int, multibase: bool
) -> None:
    def call() -> None:
        bits = status_list.decode_bitstring(encoded, status_size=size, multibase=multibase)
        status_list.status_at(bits, 0, size)

    _typed("Bitstring Status List", call)


@_settings()
@given(
    st.one_of(
        st.builds(
            lambda lst, bits: {**TOKEN_LIST, "lst": lst, "bits": bits},
            mutated(TOKEN_LIST["lst"]),
            st.sampled_from([1, 2, 4, 8, 3, 0, -1, "2", None]),
        ),
        json_values,
    ),
    st.integers(-2, 1000),
)
def test_token_status_list_raises_only_typed_errors(value: Any, index: int) -> None:
    _typed(
        "Token Status List",
        lambda: status_list.token_status_at(status_list.decode_token_list(value), index),
    )


# -------------------------------------------------------------------------------------------- DCQL


@_settings()
@given(
    st.one_of(
        json_values,
        st.dictionaries(st.sampled_from(["credentials", "credential_sets"]), json_values),
        mutated(json.dumps(DCQL)).map(
            lambda text: _json_or_text(text),
        ),
    )
)
def test_dcql_query_parser_raises_only_typed_errors(query: Any) -> None:
    _typed("DCQL query", lambda: dcql.parse_query(query))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# ------------------------------------------------------------------------- decompression limits


def _gzip_zeros(size: int) -> bytes:
    """GZIP of ``size`` zero bytes, compressed chunk by chunk (never ``size`` bytes at once)."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [out.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + out.flush()


def _bounded(call: Callable[[], Any], error: type[Exception]) -> tuple[float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(error):
            call()
        return time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("inflated_mib", [256])
def test_a_status_list_bomb_is_refused_early_in_time_and_memory(inflated_mib: int) -> None:
    """A GZIP of 256 MiB of zeros (~250 KB on the wire) stops at the 16 MiB limit."""
    bomb = _gzip_zeros(inflated_mib << 20)
    assert len(bomb) < (inflated_mib << 20) // 500
    encoded = "u" + base64url.encode(bomb)
    token = {"bits": 1, "lst": base64url.encode(zlib.compress(bytes(inflated_mib << 20), 9))}
    for what, call in (
        ("Bitstring", lambda: status_list.decode_bitstring(encoded)),
        ("Token", lambda: status_list.decode_token_list(token)),
    ):
        elapsed, peak = _bounded(call, status_list.StatusListTooLarge)
        FIGURES[f"{what} bomb {inflated_mib} MiB: peak KiB"] = peak // 1024
        assert peak < 3 * status_list.DEFAULT_MAX_BYTES, (what, peak)
        assert elapsed < 10, (what, elapsed)


def test_a_gzip_member_of_the_http_client_is_the_same_bounded_inflate() -> None:
    """gzip.compress and the bounded inflater agree on a small list (the bomb test's premise)."""
    small = bytes(status_list.MIN_BITSTRING_BYTES)
    encoded = "u" + base64url.encode(gzip.compress(small, mtime=0))
    assert status_list.decode_bitstring(encoded).data == small


# ------------------------------------------------------------------------------ offer URIs


def _offer_client() -> Any:
    """``wallet.oid4vci_client`` when the holder side of OpenID4VCI exists, else skip."""
    return pytest.importorskip("wallet.oid4vci_client", reason="no OpenID4VCI holder client")


OFFER = {
    "credential_issuer": "https://issuer.example/issuers/uni",
    "credential_configuration_ids": ["ob3"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "x"}
    },
}


@st.composite
def offer_uris(draw: st.DrawFn) -> tuple[str, bytes]:
    """An offer URI (by value or by reference) and the body served at the reference."""
    offer = draw(
        st.one_of(
            json_values,
            st.dictionaries(st.sampled_from(sorted(OFFER)), json_values).map(
                lambda extra: {**OFFER, **extra}
            ),
        )
    )
    text = draw(st.one_of(st.just(json.dumps(offer)), mutated(json.dumps(OFFER))))
    scheme = draw(st.sampled_from(["openid-credential-offer://", "haip://", "https://x/"]))
    by_value = draw(st.booleans())
    query = {"credential_offer": text} if by_value else {"credential_offer_uri": "https://o.test/1"}
    if draw(st.booleans()):
        query = {**query, **draw(st.dictionaries(st.text(max_size=20), st.text(max_size=20)))}
    return scheme + "?" + urllib.parse.urlencode(query), text.encode()


def test_offer_uri_parser_raises_only_typed_errors() -> None:
    client = _offer_client()

    grants_true = json.dumps({**OFFER, "grants": True})  # found by this property: kept as a seed

    @_settings()
    @given(offer_uris())
    @example(
        (
            "openid-credential-offer://?"
            + urllib.parse.urlencode({"credential_offer": grants_true}),
            b"",
        )
    )
    def check(case: tuple[str, bytes]) -> None:
        uri, served = case
        http = GuardedHttp(
            HttpPolicy(),
            transport=httpx.MockTransport(
                lambda _request: httpx.Response(
                    200, content=served, headers={"content-type": "application/json"}
                )
            ),
            resolver=lambda _host, _port: ["93.184.215.14"],
        )
        try:
            _typed("offer URI", lambda: client.resolve_offer(http, uri))
        finally:
            http.close()

    check()
