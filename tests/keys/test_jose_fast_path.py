"""The JOSE / SD-JWT verification fast paths against reference implementations.

What the fast paths replaced, and what they are held to here on many inputs (same accept / reject
outcome, same claims, same error messages where Taito's own code is the reference):

* ``keys.base64url.decode_canonical`` / ``encode`` (one ``bytes.translate`` + ``binascii``) against
  the previous regex + re-encode implementation written out below;
* ``schemas.strict_json.loads`` (bracket depth by regex, ``jiter`` with the standard library as
  fallback) against the previous implementation written out below (outcome *and* message), and
  ``jiter`` itself against ``json``: whatever it accepts, ``json`` accepts with the same value;
* ``keys.jose.verify_compact`` and ``keys.vc_jwt.verify_jwt_credential`` against PyJWT's
  ``decode_complete`` / ``decode``: genuine tokens of the three algorithms and tampered ones
  (signature bits flipped or truncated, header ``alg`` changed, payload changed, another key);
* ``keys.sd_jwt.verify`` against the PyPI ``sd-jwt`` package's ``SDJWTVerifier``: genuine
  presentations revealing various claims, and forged ones (issuer / KB-JWT signature, payload,
  header alg, a Disclosure changed or doubled, another holder, nonce or audience).

No timing is asserted anywhere.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jiter
import jwt as pyjwt
import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from keys import base64url, jose, sd_jwt, vc_jwt
from keys.did import did_key
from keys.jwk import KeyType, PrivateKey, PublicKey, generate
from keys.signing import KeySigner
from schemas import strict_json
from schemas.errors import TaitoError

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
ISSUED = datetime.now(UTC) - timedelta(hours=1)  # PyJWT checks iat against its own clock
ALGORITHM = {"ed25519": "EdDSA", "p256": "ES256", "rsa": "RS256"}
KEY_TYPES: tuple[KeyType, ...] = ("ed25519", "p256", "rsa")
NONCE, AUDIENCE = "n-0S6_WzA2Mj", "https://verifier.example"


@functools.cache
def key(key_type: KeyType, which: int = 0) -> PrivateKey:
    return generate(key_type)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- base64url -----------------------------------------------------------------------------------

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def reference_decode(text: str) -> bytes | None:
    """The previous ``keys.base64url.decode``: regex, stdlib decode, then re-encode to compare."""
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if b64(data) == text else None


def test_base64url_matches_the_reference_on_random_and_mutated_inputs() -> None:
    rnd = random.Random(7)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n.!\x00é~\t"
    accepted = 0
    for _ in range(20000):
        data = rnd.randbytes(rnd.randrange(0, 40))
        assert base64url.encode(data) == b64(data)
        text = b64(data)
        if text and rnd.random() < 0.7:  # one character replaced by anything, canonical or not
            at = rnd.randrange(len(text))
            text = text[:at] + rnd.choice(chars) + text[at + 1 :]
        if rnd.random() < 0.1:
            text += rnd.choice(chars)
        expected = reference_decode(text)
        assert base64url.decode_canonical(text) == expected, text
        if expected is None:
            with pytest.raises(base64url.InvalidBase64Url):
                base64url.decode(text)
        else:
            assert base64url.decode(text) == expected
            accepted += 1
    assert accepted > 5000
    assert base64url.decode_canonical(b"QQ") is None  # type: ignore[arg-type]


def test_joint_base64url_decoding_equals_one_by_one() -> None:
    # decode_canonical_all: the list decode_canonical gives one by one, or None when any is None
    rnd = random.Random(11)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n.!\x00é"
    outcomes = {True: 0, False: 0}
    for _ in range(5000):
        texts = [b64(rnd.randbytes(rnd.randrange(0, 60))) for _ in range(rnd.randrange(0, 8))]
        if texts and rnd.random() < 0.7:  # one character of one text replaced by anything
            which = rnd.randrange(len(texts))
            text = texts[which] or "A"
            at = rnd.choice(
                (len(text) - 1, rnd.randrange(len(text)))
            )  # trailing bits half the time
            texts[which] = text[:at] + rnd.choice(chars) + text[at + 1 :] + rnd.choice(("", "A"))
        one_by_one = [base64url.decode_canonical(text) for text in texts]
        expected = None if None in one_by_one else one_by_one
        assert base64url.decode_canonical_all(texts) == expected, texts
        outcomes[expected is not None] += 1
    assert min(outcomes.values()) > 1000
    # every trailing-bit value of a 2- and 3-character last group, after a text that fills its own
    for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
        for text in ("Q" + last, "QU" + last):
            expected_one = base64url.decode_canonical(text)
            joint = base64url.decode_canonical_all(["QUJD", text, "QQ"])
            assert joint == (None if expected_one is None else [b"ABC", expected_one, b"A"])
    assert base64url.decode_canonical_all([b"QUJD"]) is None  # type: ignore[list-item]
    assert base64url.decode_canonical_all([]) == []
    # four texts of 4n+1 characters fill whole groups together: still refused
    assert base64url.decode_canonical_all(["QUJD", "QUJDR", "QUJDR", "Q", "QUJDRQUJD"]) is None


# --- strict JSON ---------------------------------------------------------------------------------

_PIECES = [
    "{", "}", "[", "]", '"', "\\", '"a"', '"b"', ":", ",", "1", "-0.5e3", "NaN", "Infinity",
    "-Infinity", " ", "\n", "\t", "\r", "é", "\ufeff", '"k":1', "true", "null", '{"a":1,"a":2}',
    '"\\"', "\\u0041", "1e400", "[[[[", "]]]]", '"x\\\\"', '{"a":{"b":1},"b":2}', '":"',
    "\\ud800", "\\udc00", "\\u00e9", "0", "-", ".", "e", "E", "+", "00", "\x00", "\x0c", "\xa0",
]  # fmt: skip


def reference_bracket_depth(text: str) -> int:
    """The previous ``strict_json._bracket_depth``: a Python loop over every character."""
    level = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def reference_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise strict_json.MalformedJson(f"Duplicate member name {name!r}.")
        result[name] = value
    return result


def reference_constant(name: str) -> Any:
    raise strict_json.MalformedJson(f"{name} is not JSON.")


def reference_loads(data: str | bytes, *, max_bytes: int = 1 << 20, max_depth: int = 64) -> Any:
    """The previous ``strict_json.loads``: ``json.loads`` with per-call hooks."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise strict_json.MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise strict_json.MalformedJson("The JSON document is not UTF-8.") from exc
    if len(data) > max_bytes:
        raise strict_json.MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
    if ("[" in data or "{" in data) and reference_bracket_depth(data) > max_depth:
        raise strict_json.MalformedJson(
            f"The JSON document is nested deeper than {max_depth} levels."
        )
    try:
        return json.loads(
            data, object_pairs_hook=reference_no_duplicates, parse_constant=reference_constant
        )
    except strict_json.MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise strict_json.MalformedJson(f"Not valid JSON: {exc}"[:200]) from exc


def outcome(parse: Callable[..., Any], data: str | bytes, **limits: int) -> tuple[str, Any]:
    try:
        return "ok", json.dumps(parse(data, **limits), sort_keys=False)
    except strict_json.MalformedJson as exc:
        return "error", exc.detail


def test_strict_json_matches_the_reference_outcomes_and_messages() -> None:
    rnd = random.Random(11)
    parsed = {str: 0, bytes: 0}
    for _ in range(20000):
        text = "".join(rnd.choice(_PIECES) for _ in range(rnd.randrange(0, 14)))
        assert strict_json._bracket_depth(text) == reference_bracket_depth(text), text
        # bytes take jiter first when shallow (strict_json.loads); some are not UTF-8
        data = text.encode("utf-8", "surrogatepass") + (b"\xff" if rnd.random() < 0.1 else b"")
        for document in (text, data):
            for limits in ({}, {"max_depth": 2}, {"max_depth": 0}, {"max_bytes": 10}):
                expected = outcome(reference_loads, document, **limits)
                assert outcome(strict_json.loads, document, **limits) == expected, (
                    document,
                    limits,
                )
                parsed[type(document)] += expected[0] == "ok"
    assert min(parsed.values()) > 1000
    for depth in (0, 1, 63, 64, 65, 200):
        for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            assert outcome(strict_json.loads, text) == outcome(reference_loads, text)


def test_joint_strict_json_parsing_equals_one_by_one() -> None:
    """``loads_all``: the values ``loads`` gives one by one, or ``None`` (never another value, never
    a document ``loads`` refuses); and a list whenever every document is one jiter takes as is."""
    rnd = random.Random(13)
    outcomes = {True: 0, False: 0}
    for _ in range(6000):
        documents = [
            "".join(rnd.choice(_PIECES) for _ in range(rnd.randrange(1, 8))).encode(
                "utf-8", "surrogatepass"
            )
            if rnd.random() < 0.15
            else json.dumps([f"s{rnd.randrange(99)}", "n", rnd.randrange(9)]).encode()
            for _ in range(rnd.randrange(0, 8))
        ]
        for limits in ({}, {"max_depth": 3}, {"max_depth": 1}, {"max_bytes": 14}):
            one_by_one = [outcome(strict_json.loads, d, **limits) for d in documents]
            joint = strict_json.loads_all(documents, **limits)
            if joint is not None:
                assert [("ok", json.dumps(v)) for v in joint] == one_by_one, (documents, limits)
            depth, size = limits.get("max_depth", 64), limits.get("max_bytes", 1 << 20)

            def plain(d: bytes, depth: int = depth, size: int = size) -> bool:
                try:
                    jiter.from_json(d, allow_inf_nan=False, catch_duplicate_keys=True)
                except ValueError:
                    return False
                return len(d) <= size and d.count(b"[") + d.count(b"{") <= depth

            if all(plain(d) for d in documents):
                assert joint is not None, (documents, limits)
            outcomes[joint is not None] += 1
    assert min(outcomes.values()) > 2000
    # a sum of brackets over the limit, each document within it: still one call
    assert strict_json.loads_all([b"[[1]]"] * 40, max_depth=2) == [[[1]]] * 40
    assert strict_json.loads_all([b"[[1]]", b"[[[1]]]"], max_depth=2) is None
    assert strict_json.loads_all([]) == []


def _number_texts(rnd: random.Random) -> list[str]:
    """Numbers as JSON writes them and as people do: every magnitude, exponent forms, huge ints."""
    value = rnd.random() * 10.0 ** rnd.randrange(-320, 308) * rnd.choice((1, -1))
    digits = rnd.randrange(0, 25)
    return [
        json.dumps(value),
        repr(value).replace("e", "E"),
        f"{value:.{digits}e}",
        f"{value:.{digits}f}"[:400],
        str(rnd.getrandbits(rnd.randrange(1, 300)) * rnd.choice((1, -1))),
        "9" * rnd.choice((4300, 4301)),  # json's int_max_str_digits boundary
    ]


def test_jiter_accepts_only_what_json_accepts_and_with_the_same_value() -> None:
    """What makes jiter a safe fast path: never a document the reference refuses, never another
    value. Where it refuses and the reference accepts (a lone surrogate escape), the reference's
    value is what ``strict_json.loads`` returns."""
    rnd = random.Random(23)
    texts = [
        "".join(rnd.choice(_PIECES) for _ in range(rnd.randrange(0, 14))) for _ in range(40000)
    ]
    for _ in range(5000):
        texts += _number_texts(rnd)
    accepted = 0
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        if rnd.random() < 0.05:
            data = data[:-1] + bytes([rnd.randrange(128, 256)])
        try:
            value = jiter.from_json(data, allow_inf_nan=False, catch_duplicate_keys=True)
        except ValueError:
            continue
        accepted += 1
        assert outcome(reference_loads, data) == ("ok", json.dumps(value)), text
    assert accepted > 20000
    assert strict_json.loads('["\\ud800", "\\udc00"]') == ["\ud800", "\udc00"]


# --- JWS / VC-JWT against PyJWT ------------------------------------------------------------------


def credential(issuer: str, serial: int) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:00000000-0000-4000-8000-{serial:012d}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": f"Institution {serial}"},
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-12-31T00:00:00Z",
        "name": f"Badge {serial} — ünïcode",
        "credentialSubject": {
            "id": f"did:example:learner-{serial}",
            "type": ["AchievementSubject"],
            "achievement": {"id": f"urn:example:{serial}", "name": "A", "criteria": {"n": "c"}},
        },
    }


def token_for(key_type: KeyType, serial: int) -> tuple[str, PublicKey]:
    private = key(key_type)
    signer = KeySigner.for_key(private)
    issuer = signer.key_id.split("#")[0]
    token = vc_jwt.sign_credential_jwt(
        credential(issuer, serial), signer=signer, profile="ob3", now=ISSUED
    )
    return token, private.public_key()


def tampered(token: str, rnd: random.Random) -> list[tuple[str, str]]:
    """(what, token) for tokens no verifier may accept, each changed at the byte level."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(unb64(header_b64))
    signature = bytearray(unb64(signature_b64))
    flipped = bytearray(signature)
    flipped[rnd.randrange(len(flipped))] ^= 1 << rnd.randrange(8)
    payload = json.loads(unb64(payload_b64))
    changed_payload = {**payload, "name": payload["name"] + "!"}
    out = [
        ("signature bit", f"{header_b64}.{payload_b64}.{b64(bytes(flipped))}"),
        ("signature truncated", f"{header_b64}.{payload_b64}.{b64(bytes(signature[:-1]))}"),
        ("payload", f"{header_b64}.{b64(json.dumps(changed_payload).encode())}.{signature_b64}"),
    ]
    for alg in ("EdDSA", "ES256", "RS256", "HS256", "none", "ES384"):
        if alg != header["alg"]:
            relabelled = b64(json.dumps({**header, "alg": alg}).encode())
            out.append((f"alg {alg}", f"{relabelled}.{payload_b64}.{signature_b64}"))
    return out


def pyjwt_jws(token: str, public: PublicKey) -> tuple[dict[str, Any], bytes] | None:
    try:
        decoded = pyjwt.api_jws.PyJWS().decode_complete(
            token, key=public.raw, algorithms=[public.algorithm]
        )
    except (pyjwt.exceptions.PyJWTError, ValueError):
        return None
    return decoded["header"], decoded["payload"]


def taito_jws(token: str, public: PublicKey) -> tuple[dict[str, Any], bytes] | None:
    try:
        result = jose.verify_compact(
            token, algorithms=vc_jwt.DEFAULT_ALGORITHMS, resolve_key=lambda header: public
        )
    except TaitoError:
        return None
    return result.header, result.payload


def pyjwt_claims(token: str, public: PublicKey) -> dict[str, Any] | None:
    try:
        return dict(
            pyjwt.decode(
                token,
                key=public.raw,
                algorithms=[public.algorithm],
                options={"verify_exp": True, "verify_nbf": True},
                leeway=timedelta(seconds=60),
            )
        )
    except (pyjwt.exceptions.PyJWTError, ValueError):
        return None


def taito_claims(token: str, public: PublicKey) -> dict[str, Any] | None:
    try:
        result = vc_jwt.verify_jwt_credential(
            token, resolve_key=lambda header, payload: public, now=datetime.now(UTC)
        )
    except TaitoError:
        return None
    return {**result.credential, **result.claims}


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_jws_and_vc_jwt_verification_agree_with_pyjwt(key_type: KeyType) -> None:
    rnd = random.Random(key_type)
    other = generate(key_type).public_key()
    genuine = rejected = 0
    for serial in range(40 if key_type != "rsa" else 12):
        token, public = token_for(key_type, serial)
        # genuine: both accept, same header, payload bytes and claims
        assert taito_jws(token, public) == pyjwt_jws(token, public) is not None
        expected = pyjwt_claims(token, public)
        assert expected is not None and taito_claims(token, public) == expected
        genuine += 1
        # another key of the same type: both refuse
        assert pyjwt_jws(token, other) is None and taito_jws(token, other) is None
        assert taito_claims(token, other) is None
        # tampered: both refuse
        for what, forged in tampered(token, rnd):
            assert pyjwt_jws(forged, public) is None, what
            assert taito_jws(forged, public) is None, what
            assert taito_claims(forged, public) is None, what
            assert pyjwt_claims(forged, public) is None, what
            rejected += 1
    assert genuine and rejected


def test_the_cached_header_is_never_shared_with_callers() -> None:
    token, _ = token_for("ed25519", 1)
    first = jose.decode_unverified(token).header
    first["alg"] = "none"
    first["kid"] = "changed"
    again = jose.decode_unverified(token)
    assert again.header["alg"] == "EdDSA" and again.header["kid"] != "changed"
    # a header with a nested member is copied deeply
    header = {"alg": "EdDSA", "typ": "JWT", "crit": ["x"], "x": {"y": 1}}
    forged = ".".join([b64(json.dumps(header).encode()), *token.split(".")[1:]])
    one = jose.decode_unverified(forged).header
    one["crit"].append("z")
    one["x"]["y"] = 2
    assert jose.decode_unverified(forged).header == header


# --- SD-JWT against the PyPI sd-jwt package ------------------------------------------------------


def sd_claims(issuer: PrivateKey, count: int) -> dict[str, Any]:
    return {
        "vct": "https://taito.example/vct/learning-credential",
        "iss": did_key(issuer.public_key()),
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 86400,
        **{f"claim_{i}": f"value {i}" for i in range(count)},
        "nested": {"a": [1, 2, {"b": "c"}], "d": None},
    }


def taito_sd(presentation: str, issuer: PublicKey) -> dict[str, Any] | None:
    try:
        return sd_jwt.verify(
            presentation,
            resolve_issuer_key=lambda header, payload: issuer,
            now=NOW,
            expected_nonce=NONCE,
            expected_audience=AUDIENCE,
            require_key_binding=True,
        ).claims
    except TaitoError:
        return None


def pypi_sd(presentation: str, issuer: PublicKey) -> dict[str, Any] | None:
    public = JWK(**issuer.to_jwk())
    try:
        checker = SDJWTVerifier(
            presentation, lambda iss, header: public, expected_aud=AUDIENCE, expected_nonce=NONCE
        )
        return dict(checker.get_verified_payload())
    except Exception:  # noqa: BLE001 - the reference signals every refusal its own way
        return None


def sd_forgeries(
    presentation: str, holder_signer: KeySigner, rnd: random.Random
) -> list[tuple[str, str]]:
    parts = presentation.split("~")
    issuer_jwt, disclosures, kb = parts[0], parts[1:-1], parts[-1]
    h, p, s = issuer_jwt.split(".")

    def flip(signature_b64: str) -> str:
        raw = bytearray(unb64(signature_b64))
        raw[rnd.randrange(len(raw))] ^= 1 << rnd.randrange(8)
        return b64(bytes(raw))

    def with_kb(issuer_part: str, shown: list[str], **changes: Any) -> str:
        """A fresh, correctly signed KB-JWT over ``issuer_part~shown~`` (the holder's key)."""
        without = issuer_part + "~" + "".join(d + "~" for d in shown)
        claims = {
            "iat": int(NOW.timestamp()),
            "nonce": NONCE,
            "aud": AUDIENCE,
            "sd_hash": sd_jwt.sd_hash(without),
            **changes,
        }
        header = {"alg": holder_signer.algorithm, "typ": "kb+jwt"}
        return without + jose.sign_compact(json.dumps(claims).encode(), header, holder_signer)

    kh, kp, ks = kb.split(".")
    payload = json.loads(unb64(p))
    out = [
        ("issuer signature", "~".join([f"{h}.{p}.{flip(s)}", *disclosures, kb])),
        ("kb signature", "~".join([issuer_jwt, *disclosures, f"{kh}.{kp}.{flip(ks)}"])),
        ("nonce", with_kb(issuer_jwt, disclosures, nonce="another")),
        ("audience", with_kb(issuer_jwt, disclosures, aud="https://elsewhere.example")),
        ("sd_hash", with_kb(issuer_jwt, disclosures, sd_hash=b64(b"\x00" * 32))),
    ]
    changed = b64(json.dumps({**payload, "vct": "https://evil.example"}).encode())
    out.append(("issuer payload", with_kb(f"{h}.{changed}.{s}", disclosures)))
    header = json.loads(unb64(h))
    for alg in ("EdDSA", "RS256", "HS256", "none"):
        relabelled = b64(json.dumps({**header, "alg": alg}).encode())
        out.append((f"alg {alg}", with_kb(f"{relabelled}.{p}.{s}", disclosures)))
    if disclosures:
        *salt_and_name, value = json.loads(unb64(disclosures[0]))
        forged = b64(json.dumps([*salt_and_name, f"{value} (forged)"]).encode())
        out.append(("forged disclosure", with_kb(issuer_jwt, [forged, *disclosures[1:]])))
        # a doubled Disclosure, under the original KB-JWT (whose sd_hash no longer matches)
        doubled = "~".join([issuer_jwt, *disclosures, disclosures[0], kb])
        out.append(("doubled disclosure", doubled))
    return out


def test_sd_jwt_verification_agrees_with_pypi_sd_jwt() -> None:
    rnd = random.Random(3)
    issuer, holder, stranger = key("p256"), key("p256", 1), generate("p256")
    issuer_signer, holder_signer = KeySigner.for_key(issuer), KeySigner.for_key(holder)
    stranger_signer = KeySigner.for_key(stranger)
    genuine = rejected = 0
    for count in (0, 1, 5, 12):
        claims = sd_claims(issuer, count)
        pointers = [f"/claim_{i}" for i in range(count)] + ["/nested", "/nested/a/2"]
        issued = sd_jwt.issue(
            claims, signer=issuer_signer, disclosable=pointers, holder_key=holder.public_key()
        )
        for reveal in (pointers, pointers[::2], [], ["/nested/a/2"]):
            presentation = sd_jwt.present(
                issued, reveal=reveal, holder=holder_signer, nonce=NONCE, audience=AUDIENCE, iat=NOW
            )
            expected = pypi_sd(presentation, issuer.public_key())
            assert expected is not None
            assert taito_sd(presentation, issuer.public_key()) == expected
            genuine += 1
            # another issuer key, another holder: both refuse
            assert pypi_sd(presentation, stranger.public_key()) is None
            assert taito_sd(presentation, stranger.public_key()) is None
            by_stranger = sd_jwt.present(
                issued,
                reveal=reveal,
                holder=stranger_signer,
                nonce=NONCE,
                audience=AUDIENCE,
                iat=NOW,
            )
            assert pypi_sd(by_stranger, issuer.public_key()) is None
            assert taito_sd(by_stranger, issuer.public_key()) is None
            for what, forged in sd_forgeries(presentation, holder_signer, rnd):
                assert taito_sd(forged, issuer.public_key()) is None, what
                reference = pypi_sd(forged, issuer.public_key())
                if what == "forged disclosure" and reference is not None:
                    # RFC 9901 §7.1 rejects a Disclosure no digest names; the reference ignores
                    # it (the KB-JWT here covers it): the forged value never reaches its claims
                    assert "(forged)" not in json.dumps(reference)
                else:
                    assert reference is None, what
                rejected += 1
    assert genuine == 16 and rejected > 100
