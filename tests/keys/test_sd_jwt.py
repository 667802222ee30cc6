"""SD-JWT (RFC 9901) and SD-JWT VC: spec vectors, reference scenarios, invariants, bad input.

Vectors are read from ``<repo>/../shared/conformance/sd-jwt`` (or ``$TAITO_SHARED_DIR``); see its
SOURCES.md. Nothing of it is copied here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import base64url
from keys.did import did_jwk, did_key
from keys.errors import InvalidSignature
from keys.jwk import PrivateKey, PublicKey, generate, private_key_from_jwk, public_key_from_jwk
from keys.sd_jwt import decode, digest, issue, present, resolve_offline_issuer_key, sd_hash, verify
from keys.sd_jwt import disclosure as disclosure_module
from keys.sd_jwt import errors as e
from keys.sd_jwt.disclosure import create, format_pointer
from keys.sd_jwt.processing import MAX_PRESENTATION_BYTES, decode_all, split
from keys.signing import KeySigner
from schemas.errors import TaitoError

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TAITO_SHARED_DIR") or REPO / ".." / "shared")
SD_DIR = SHARED / "conformance" / "sd-jwt"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _vector(name: str) -> Any:
    path = SD_DIR / name
    if not path.exists():
        pytest.skip(f"SD-JWT conformance data absent at {path} (set TAITO_SHARED_DIR)")
    return json.loads(path.read_text(encoding="utf-8"))


def _example_params(name: str) -> list[Any]:
    path = SD_DIR / name
    if not path.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{path} absent"))]
    examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
    return [
        pytest.param(ex, id=f"{i}-{ex['section'].split(' ')[0]}{ex['kind']}")
        for i, ex in enumerate(examples)
    ]


def _salts() -> Callable[[], bytes]:
    counter = itertools.count(1)
    return lambda: hashlib.sha256(next(counter).to_bytes(8, "big")).digest()[:16]


def _b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _sign_jwt(header: dict[str, Any], payload: dict[str, Any], key: PrivateKey) -> str:
    """An independent little JWS signer for crafting tokens the issuer would never make."""
    signing_input = _b64json(header) + "." + _b64json(payload)
    return signing_input + "." + base64url.encode(key.sign(signing_input.encode()))


ISSUER = generate("ed25519")
HOLDER = generate("p256")
OTHER = generate("ed25519")


def _issuer_key(_h: Any, _p: Any) -> PublicKey:
    return ISSUER.public_key()


def _issue(claims: dict[str, Any], disclosable: list[str], **kw: Any) -> str:
    kw.setdefault("salt", _salts())
    kw.setdefault("decoys", 1)
    kw.setdefault("typ", "example+sd-jwt")
    return issue(claims, signer=KeySigner.for_key(ISSUER), disclosable=disclosable, **kw)


def _verify(presentation: str, **kw: Any) -> Any:
    kw.setdefault("resolve_issuer_key", _issuer_key)
    kw.setdefault("now", NOW)
    kw.setdefault("expected_typ", ("example+sd-jwt", "dc+sd-jwt"))
    return verify(presentation, **kw)


# --- RFC 9901 §4.2 disclosure vectors ------------------------------------------------------


def test_disclosure_vectors_exact() -> None:
    data = _vector("disclosure-vectors.json")
    prop = data["object_property"]
    salt, name, value = prop["array"]
    made = create(base64url.decode(salt), name, value)
    assert made.encoded == prop["disclosure"]
    assert digest(prop["disclosure"]) == prop["sha256_digest_b64url"]
    parsed = decode(prop["disclosure"])
    assert [parsed.salt, parsed.name, parsed.value] == prop["array"]
    variants = prop["equivalent_encodings_same_claim"]
    for variant in variants:
        other = decode(variant)
        assert [other.salt, other.name, other.value] == prop["array"]
    digests = {digest(v) for v in [prop["disclosure"], *variants]}
    assert len(digests) == len(variants) + 1  # §4.2.3: the digest is over the string as sent

    element = data["array_element"]
    salt, value = element["array"]
    made = create(base64url.decode(salt), None, value)
    assert made.encoded == element["disclosure"]
    assert made.digest() == element["sha256_digest_b64url"]
    parsed = decode(element["disclosure"])
    assert (parsed.salt, parsed.name, parsed.value) == (salt, None, value)


def test_array_element_payload_form_processes() -> None:
    from keys.sd_jwt.processing import process

    element = _vector("disclosure-vectors.json")["array_element"]
    processed = process(element["payload_form"], [element["disclosure"]], "sha-256")
    assert processed.claims == {"nationalities": ["DE", "FR", "US"]}
    assert [(r.path, r.value) for r in processed.revealed] == [(("nationalities", 1), "FR")]
    assert process(element["payload_form"], [], "sha-256").claims == {"nationalities": ["DE", "US"]}


# --- RFC 9901 and SD-JWT VC draft examples ------------------------------------------------


def _published_keys() -> tuple[PublicKey, PrivateKey]:
    keys = _vector("keys.json")
    return (
        public_key_from_jwk(keys["issuer_key"]),
        private_key_from_jwk(keys["holder_key"]),
    )


def _check_example(example: dict[str, Any], source: str) -> None:
    data = _vector(source)
    keys = _vector("keys.json")
    issuer_public, holder_private = _published_keys()
    assert public_key_from_jwk(data["issuer_public_jwk"]) == issuer_public
    expected = example["expected"]
    compact = example["compact"]

    parts = split(compact)
    assert len(parts.disclosures) == expected["n_disclosures"]
    seen_header: list[dict[str, Any]] = []

    def resolver(header: Any, payload: Any) -> PublicKey:
        seen_header.append(dict(header))
        return issuer_public

    payload = expected["processed_payload"]
    kb_payload = expected.get("kb_jwt_payload")
    if kb_payload:
        now = datetime.fromtimestamp(kb_payload["iat"] + 30, UTC)
    elif "iat" in payload:
        now = datetime.fromtimestamp(payload["iat"] + 86400, UTC)
    else:
        now = NOW
    result = verify(
        compact,
        resolve_issuer_key=resolver,
        now=now,
        expected_typ=("example+sd-jwt", "dc+sd-jwt"),
        expected_nonce=keys["key_binding_nonce"] if kb_payload else None,
        expected_audience=kb_payload["aud"] if kb_payload else None,
        algorithms=("ES256",),
    )
    assert seen_header == [expected["issuer_jwt_header"]]
    assert result.header == expected["issuer_jwt_header"]
    assert result.claims == payload
    assert len(result.disclosed) == expected["n_disclosures"]
    for pointer, value in result.disclosed:  # every disclosed value sits where it says
        node: Any = result.claims
        for token in pointer[1:].split("/"):
            node = node[int(token)] if isinstance(node, list) else node[token]
        assert node == value
    assert result.key_bound is bool(kb_payload)
    if kb_payload:
        assert result.kb_header == expected["kb_jwt_header"]
        assert result.kb_payload == kb_payload
        assert sd_hash(parts.without_key_binding) == kb_payload["sd_hash"]
        assert result.claims["cnf"]["jwk"] == holder_private.public_key().to_jwk()
    # the signature is really checked: another key fails
    with pytest.raises(e.InvalidIssuerSignature):
        verify(
            compact,
            resolve_issuer_key=lambda h, p: generate("p256").public_key(),
            now=now,
            expected_typ=None,
        )
    if "exp" in payload:
        with pytest.raises(e.Expired):
            verify(
                compact,
                resolve_issuer_key=resolver,
                expected_typ=None,
                now=datetime.fromtimestamp(payload["exp"] + 61, UTC),
            )


@pytest.mark.parametrize("example", _example_params("rfc9901-examples.json"))
def test_rfc9901_examples(example: dict[str, Any]) -> None:
    _check_example(example, "rfc9901-examples.json")


@pytest.mark.parametrize("example", _example_params("sd-jwt-vc-draft-examples.json"))
def test_sd_jwt_vc_draft_examples(example: dict[str, Any]) -> None:
    _check_example(example, "sd-jwt-vc-draft-examples.json")


def _strip(node: Any) -> Any:
    """The payload with no Disclosure at all: digests, decoys and _sd_alg gone (RFC 9901 §7.1)."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("_sd", "_sd_alg")}
    if isinstance(node, list):
        return [_strip(v) for v in node if not (isinstance(v, dict) and "..." in v)]
    return node


@pytest.mark.parametrize("example", _example_params("rfc9901-examples.json"))
def test_holder_on_rfc_examples(example: dict[str, Any]) -> None:
    """The holder keeps everything (byte-identical), nothing, or one claim, as asked."""
    compact = example["compact"]
    if example["kind"] != "sd-jwt":  # RFC 9901 §7.2: an SD-JWT+KB is not presented again
        with pytest.raises(e.MalformedSdJwt):
            present(compact)
        return
    issuer_public, holder_private = _published_keys()
    assert present(compact) == compact
    options: dict[str, Any] = dict(
        resolve_issuer_key=lambda h, p: issuer_public,
        expected_typ=None,
        now=datetime.fromtimestamp(1683000000 + 60, UTC),
    )
    full = verify(compact, **options)
    bare = verify(present(compact, reveal=[]), **options)
    assert bare.disclosed == []
    assert bare.claims == _strip(full.issuer_payload)
    if "given_name" in full.claims:
        one = verify(present(compact, reveal=["/given_name"]), **options)
        assert [p for p, _ in one.disclosed] == ["/given_name"]
        assert one.claims == {**bare.claims, "given_name": full.claims["given_name"]}
    if "cnf" in full.claims:
        when = datetime.fromtimestamp(1683000000 + 120, UTC)
        bound = present(
            compact,
            reveal=[],
            holder=KeySigner.for_key(holder_private),
            nonce="n-1",
            audience="https://v.example",
            iat=when,
        )
        result = verify(
            bound, **options, expected_nonce="n-1", expected_audience="https://v.example"
        )
        assert result.key_bound and result.claims == bare.claims


# --- the reference implementation's scenarios (sd-jwt-python tests/testcases) -------------


@dataclass(frozen=True)
class SD:
    """A YAML ``!sd`` marking: the wrapped key, element or value is selectively disclosable."""

    value: Any


_SdLoader = type("_SdLoader", (yaml.SafeLoader,), {})  # a SafeLoader that also knows !sd


def _construct_sd(loader: yaml.SafeLoader, node: yaml.Node) -> SD:
    if isinstance(node, yaml.ScalarNode):
        # an explicit tag switches off implicit typing: resolve plain scalars ourselves
        plain = node.style is None
        tag = loader.resolve(yaml.ScalarNode, node.value, (plain, not plain))
        return SD(loader.construct_object(yaml.ScalarNode(tag, node.value, style=node.style)))
    if isinstance(node, yaml.MappingNode):
        return SD(loader.construct_mapping(node, deep=True))
    assert isinstance(node, yaml.SequenceNode)
    return SD(loader.construct_sequence(node, deep=True))


yaml.add_constructor("!sd", _construct_sd, Loader=_SdLoader)


def _unmark(node: Any, path: tuple[Any, ...], pointers: list[str]) -> Any:
    if isinstance(node, SD):
        pointers.append(format_pointer(path))
        return _unmark(node.value, path, pointers)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            name = key.value if isinstance(key, SD) else key
            if isinstance(key, SD):
                pointers.append(format_pointer((*path, name)))
            out[name] = _unmark(value, (*path, name), pointers)
        return out
    if isinstance(node, list):
        return [_unmark(v, (*path, i), pointers) for i, v in enumerate(node)]
    return node


def _selection(node: Any, chosen: Any, path: tuple[Any, ...]) -> list[str]:
    """The reference holder's ``holder_disclosed_claims`` as reveal pointers."""
    if isinstance(node, dict):
        chosen = chosen if isinstance(chosen, dict) else {}
        out: list[str] = []
        for key, value in node.items():
            name = key.value if isinstance(key, SD) else key
            sub = chosen.get(name)
            if isinstance(key, SD):
                if sub:
                    out += _selection(value, sub, (*path, name)) or [format_pointer((*path, name))]
            else:
                out += _selection(value, sub, (*path, name))
        return out
    if isinstance(node, list):
        chosen = chosen if isinstance(chosen, list) else []
        out = []
        for i, element in enumerate(node):
            sub = chosen[i] if i < len(chosen) else None
            if isinstance(element, SD):
                if sub not in (None, False):
                    out += _selection(element.value, sub, (*path, i)) or [
                        format_pointer((*path, i))
                    ]
            else:
                out += _selection(element, sub, (*path, i))
        return out
    return []


def _scenario_params() -> list[Any]:
    folder = SD_DIR / "sd-jwt-python-testcases"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{folder} absent"))]
    return [pytest.param(p, id=p.parent.name) for p in sorted(folder.glob("*/specification.yml"))]


@pytest.mark.parametrize("spec_file", _scenario_params())
def test_reference_scenarios(spec_file: Path) -> None:
    spec = yaml.load(spec_file.read_text(encoding="utf-8"), Loader=_SdLoader)
    conf = yaml.safe_load((spec_file.parent.parent / "settings.yml").read_text(encoding="utf-8"))
    issuer_key = private_key_from_jwk(conf["key_settings"]["issuer_keys"][0])
    holder_key = private_key_from_jwk(conf["key_settings"]["holder_key"])
    key_binding = bool(spec.get("key_binding"))
    base = {"iss": conf["identifiers"]["issuer"], "iat": conf["iat"], "exp": conf["exp"]}

    pointers: list[str] = []
    claims = {**base, **_unmark(spec["user_claims"], (), pointers)}
    reveal = _selection(spec["user_claims"], spec["holder_disclosed_claims"], ())
    # RFC 7515 §4.1.4: "kid" is a string; Taito refuses to sign an integer one (header_mod has 42).
    header = {
        k: str(v) if k == "kid" else v
        for k, v in (spec.get("extra_header_parameters") or {}).items()
    }
    # JWS JSON serialization (RFC 9901 §8) is not implemented: those scenarios run compact.
    issued = issue(
        claims,
        signer=KeySigner.for_key(issuer_key),
        disclosable=pointers,
        salt=_salts(),
        decoys=2,
        typ="example+sd-jwt",
        holder_key=holder_key.public_key() if key_binding else None,
        extra_header=header,
    )
    now = datetime.fromtimestamp(conf["iat"] + 3600, UTC)
    audience = conf["identifiers"]["verifier"]
    presentation = present(
        issued,
        reveal=reveal,
        holder=KeySigner.for_key(holder_key) if key_binding else None,
        nonce=conf["key_binding_nonce"] if key_binding else None,
        audience=audience if key_binding else None,
        iat=now if key_binding else None,
    )
    result = verify(
        presentation,
        resolve_issuer_key=lambda h, p: issuer_key.public_key(),
        now=now,
        expected_typ=("example+sd-jwt",),
        require_key_binding=key_binding,
        expected_nonce=conf["key_binding_nonce"] if key_binding else None,
        expected_audience=audience if key_binding else None,
    )
    expected = {**base, **spec["expect_verified_user_claims"]}
    if key_binding:
        expected["cnf"] = {"jwk": holder_key.public_key().to_jwk()}
    assert result.claims == expected
    assert result.key_bound is key_binding
    for name, value in header.items():
        assert result.header[name] == value


# --- issuance: exact structure --------------------------------------------------------------


def test_issue_structure_is_exactly_the_rfc_construction() -> None:
    salts = [bytes([i]) * 16 for i in range(1, 6)]
    source = iter(salts)
    token = issue(
        {"sub": "x", "given_name": "Möbius", "nationalities": ["DE", "FR"]},
        signer=KeySigner.for_key(ISSUER),
        disclosable=["/given_name", "/nationalities/1"],
        salt=lambda: next(source),
        decoys=1,
        typ="example+sd-jwt",
    )
    jwt, d1, d2, empty = token.split("~")
    assert empty == ""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def sha(text: str) -> str:
        return b64(hashlib.sha256(text.encode()).digest())

    # claims in order: given_name (salt 1), the array element (salt 2), then 1 decoy (salt 3)
    want_d1 = b64(json.dumps([b64(salts[0]), "given_name", "Möbius"], ensure_ascii=False).encode())
    want_d0 = b64(json.dumps([b64(salts[1]), "FR"]).encode())
    decoy = sha(b64(salts[2]))
    assert (d1, d2) == (want_d1, want_d0)
    header_b64, payload_b64, signature = jwt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    assert payload == {
        "_sd": sorted([sha(want_d1), decoy]),
        "sub": "x",
        "nationalities": ["DE", {"...": sha(want_d0)}],
        "_sd_alg": "sha-256",
    }
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    assert header == {
        "alg": "EdDSA",
        "typ": "example+sd-jwt",
        "kid": KeySigner.for_key(ISSUER).key_id,
    }
    ISSUER.public_key().verify(base64url.decode(signature), f"{header_b64}.{payload_b64}".encode())


def test_issue_is_deterministic_with_injected_sources_and_honours_shuffle_and_decoys() -> None:
    claims = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    pointers = ["/a", "/b/c", "/b/d", "/e/0"]
    assert _issue(claims, pointers) == _issue(claims, pointers)
    asked: list[str] = []

    def decoys(pointer: str) -> int:
        asked.append(pointer)
        return 3

    shuffled: list[list[str]] = []

    def shuffle(digests: list[str]) -> None:
        shuffled.append(list(digests))
        digests.reverse()

    token = _issue(claims, pointers, decoys=decoys, shuffle=shuffle)
    assert sorted(asked) == ["", "/b"]
    payload = _verify(token).issuer_payload
    assert len(payload["_sd"]) == 1 + 3 and len(payload["b"]["_sd"]) == 2 + 3
    assert [list(reversed(s)) for s in shuffled] == [payload["b"]["_sd"], payload["_sd"]]
    assert _verify(token).claims == claims
    assert payload["e"][1] == 2 and set(payload["e"][0]) == {"..."}


@pytest.mark.parametrize("name", ["vct", "iss", "iat", "exp", "nbf", "cnf", "status"])
def test_sd_jwt_vc_claims_are_never_disclosable(name: str) -> None:
    claims = {"vct": "urn:x", name: {"a": 1}} if name != "vct" else {"vct": "urn:x"}
    with pytest.raises(e.NonDisclosableClaim):
        _issue(claims, [f"/{name}"], typ="dc+sd-jwt")
    with pytest.raises(e.NonDisclosableClaim):  # nor anything inside them
        _issue(claims, [f"/{name}/a"], typ="dc+sd-jwt")


@pytest.mark.parametrize(
    ("claims", "pointers", "error"),
    [
        ({"a": 1}, ["/b"], e.InvalidPointer),
        ({"a": 1}, ["a"], e.InvalidPointer),
        ({"a": 1}, [""], e.InvalidPointer),
        ({"a": 1}, ["/a~2"], e.InvalidPointer),
        ({"a": 1}, ["/a/0"], e.InvalidPointer),
        ({"a": [1, 2]}, ["/a/01"], e.InvalidPointer),
        ({"a": [1, 2]}, ["/a/2"], e.InvalidPointer),
        ({"a": [1, 2]}, ["/a/-"], e.InvalidPointer),
        ({"a": 1}, "/a", e.InvalidPointer),
        ({"_sd": []}, [], e.ReservedClaimName),
        ({"a": [{"...": "x"}]}, [], e.ReservedClaimName),
        ({"_sd_alg": "sha-256"}, [], e.ReservedClaimName),
        ({"a": float("nan")}, [], e.InvalidArgument),
        ({"a": object()}, [], e.InvalidArgument),
        ({1: "a"}, [], e.InvalidArgument),
    ],
)
def test_issue_refuses_bad_input(claims: Any, pointers: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _issue(claims, pointers)


def test_issue_refuses_bad_arguments() -> None:
    with pytest.raises(e.InvalidArgument):
        _issue({"a": 1}, ["/a"], salt=lambda: b"short")
    with pytest.raises(e.InvalidArgument):
        _issue({"a": 1, "b": 2}, ["/a", "/b"], salt=lambda: b"0123456789abcdef")
    with pytest.raises(e.InvalidArgument):
        _issue({"a": 1}, ["/a"], decoys=-1)
    with pytest.raises(e.InvalidArgument):
        _issue({"a": 1}, ["/a"], extra_header={"alg": "none"})
    with pytest.raises(e.InvalidArgument):
        _issue({"cnf": {}}, [], holder_key=HOLDER.public_key())
    with pytest.raises(e.InvalidClaim):
        _issue({"a": 1}, ["/a"], typ="dc+sd-jwt")

    @dataclass
    class MacSigner:
        algorithm: str = "HS256"
        key_id: str = ""

        def sign(self, data: bytes) -> bytes:
            return hmac.new(b"k", data, hashlib.sha256).digest()

    with pytest.raises(e.UnsupportedAlgorithm):
        issue({"a": 1}, signer=MacSigner(), typ="example+sd-jwt")


# --- holder ---------------------------------------------------------------------------------


def test_present_keeps_parents_and_children_only() -> None:
    claims = {"address": {"street": "s", "region": "r", "country": "c"}, "n": ["a", "b"], "x": 1}
    token = _issue(
        claims, ["/address", "/address/region", "/address/country", "/n/0", "/n/1", "/x"]
    )
    only_region = _verify(present(token, reveal=["/address/region"]))
    assert only_region.claims == {"address": {"street": "s", "region": "r"}, "n": []}
    assert [p for p, _ in only_region.disclosed] == ["/address", "/address/region"]
    whole = _verify(present(token, reveal=["/address", "/n/1"]))
    assert whole.claims == {"address": claims["address"], "n": ["b"]}
    assert _verify(present(token)).claims == claims
    assert present(token, reveal=["/address", "/address/region"]) == present(
        token, reveal=["/address"]
    )


def test_present_refuses_bad_requests() -> None:
    token = _issue({"a": {"b": 1}}, ["/a"])
    bound = _issue({"a": {"b": 1}}, ["/a"], holder_key=HOLDER.public_key())
    holder = KeySigner.for_key(HOLDER)
    with pytest.raises(e.InvalidPointer):
        present(token, reveal=["/zzz"])
    with pytest.raises(e.InvalidPointer):
        present(token, reveal="/a")
    with pytest.raises(e.MissingConfirmationKey):
        present(token, holder=holder, nonce="n", audience="a", iat=NOW)
    with pytest.raises(e.InvalidArgument):
        present(bound, holder=holder, audience="a", iat=NOW)
    with pytest.raises(e.InvalidArgument):
        present(bound, holder=holder, nonce="n", iat=NOW)
    with pytest.raises(e.InvalidArgument):
        present(bound, holder=holder, nonce="n", audience="a", iat=datetime(2026, 1, 1))
    with pytest.raises(e.InvalidArgument):
        present(bound, nonce="n")
    with_kb = present(bound, holder=holder, nonce="n", audience="a", iat=NOW)
    with pytest.raises(e.MalformedSdJwt):
        present(with_kb)


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("issuer_type", ["ed25519", "p256"])
@pytest.mark.parametrize("holder_type", ["ed25519", "p256"])
def test_round_trip_with_key_binding(issuer_type: str, holder_type: str) -> None:
    issuer, holder = generate(issuer_type), generate(holder_type)  # type: ignore[arg-type]
    claims = {
        "vct": "https://taito.example/badge",
        "iss": did_key(issuer.public_key()),
        "iat": 1767225600,
        "exp": 1798761600,
        "name": "Ada",
        "age": 36,
    }
    token = issue(
        claims,
        signer=KeySigner.for_key(issuer),
        disclosable=["/name", "/age"],
        holder_key=holder.public_key(),
    )
    presentation = present(
        token,
        reveal=["/age"],
        holder=KeySigner.for_key(holder),
        nonce="abc",
        audience="https://verifier.example",
        iat=NOW,
    )
    result = verify(
        presentation,
        resolve_issuer_key=resolve_offline_issuer_key,
        now=NOW,
        expected_nonce="abc",
        expected_audience="https://verifier.example",
        require_key_binding=True,
    )
    assert result.key_bound
    assert result.claims == {
        **{k: v for k, v in claims.items() if k != "name"},
        "cnf": {"jwk": holder.public_key().to_jwk()},
    }
    assert result.disclosed == [("/age", 36)]
    assert result.header["alg"] == issuer.algorithm
    assert result.kb_header == {"alg": holder.algorithm, "typ": "kb+jwt"}


def test_round_trip_rsa_and_did_jwk_issuer() -> None:
    issuer = generate("rsa")
    signer = KeySigner.for_key(issuer, did_jwk(issuer.public_key()) + "#0")
    token = issue(
        {"vct": "urn:v", "iss": did_jwk(issuer.public_key()), "a": 1},
        signer=signer,
        disclosable=["/a"],
    )
    result = verify(token, resolve_issuer_key=resolve_offline_issuer_key, now=NOW)
    assert result.claims["a"] == 1 and result.header["alg"] == "RS256"
    with pytest.raises(e.UnsupportedAlgorithm):
        verify(
            token,
            resolve_issuer_key=resolve_offline_issuer_key,
            now=NOW,
            algorithms=("EdDSA", "ES256"),
        )


def test_resolve_offline_issuer_key() -> None:
    key = ISSUER.public_key()
    method = KeySigner.for_key(ISSUER).key_id
    assert resolve_offline_issuer_key({"kid": method}, {}) == key
    assert resolve_offline_issuer_key({"kid": method}, {"iss": did_key(key)}) == key
    assert resolve_offline_issuer_key({}, {"iss": did_key(key)}) == key
    assert resolve_offline_issuer_key({"kid": "#0"}, {"iss": did_jwk(key)}) == key
    with pytest.raises(e.IssuerKeyUnresolved):
        resolve_offline_issuer_key({"kid": method}, {"iss": did_key(OTHER.public_key())})
    with pytest.raises(e.IssuerKeyUnresolved):
        resolve_offline_issuer_key({"kid": "key-1"}, {"iss": "https://issuer.example"})
    with pytest.raises(TaitoError):
        resolve_offline_issuer_key({"kid": "did:web:example.com#k"}, {})


# --- invariants (hypothesis) ----------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "given_name", "a/b", "c~d", "Möbius", "0", ""])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=6)
    | st.floats(allow_nan=False, allow_infinity=False)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=10,
)
CLAIMS = st.dictionaries(NAMES, VALUES, min_size=1, max_size=4)


def _all_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    children = (
        node.items()
        if isinstance(node, dict)
        else (enumerate(node) if isinstance(node, list) else ())
    )
    for key, value in children:
        yield (*path, key)
        yield from _all_paths(value, (*path, key))


def _related(path: tuple[Any, ...], reveal: set[tuple[Any, ...]]) -> bool:
    return any(r[: len(path)] == path or path[: len(r)] == r for r in reveal)


def _oracle(
    node: Any,
    path: tuple[Any, ...],
    new: tuple[Any, ...],
    sd: set[Any],
    reveal: set[Any],
    kept: list[str],
) -> Any:
    """What a verifier must see: hidden disclosable nodes vanish, array indexes close up."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            here = (*path, key)
            if here in sd and not _related(here, reveal):
                continue
            if here in sd:
                kept.append(format_pointer((*new, key)))
            out[key] = _oracle(value, here, (*new, key), sd, reveal, kept)
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for index, value in enumerate(node):
            here = (*path, index)
            if here in sd and not _related(here, reveal):
                continue
            if here in sd:
                kept.append(format_pointer((*new, len(items))))
            items.append(_oracle(value, here, (*new, len(items)), sd, reveal, kept))
        return items
    return node


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], set[Any], set[Any], int]:
    claims = draw(CLAIMS)
    paths = sorted(set(_all_paths(claims)), key=repr)
    disclosable = draw(st.sets(st.sampled_from(paths)))
    reveal = draw(st.sets(st.sampled_from(paths), max_size=4))
    return claims, disclosable, reveal, draw(st.integers(0, 2))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenarios())
def test_any_subset_reveals_exactly_that_subset(scenario: Any) -> None:
    claims, disclosable, reveal, decoys = scenario
    token = _issue(
        claims,
        [format_pointer(p) for p in disclosable],
        decoys=decoys,
        holder_key=HOLDER.public_key(),
    )
    full = _verify(token)
    assert {k: v for k, v in full.claims.items() if k != "cnf"} == claims
    assert len(full.disclosed) == len(disclosable)

    presentation = present(
        token,
        reveal=[format_pointer(p) for p in reveal],
        holder=KeySigner.for_key(HOLDER),
        nonce="n",
        audience="v",
        iat=NOW,
    )
    result = _verify(presentation, expected_nonce="n", expected_audience="v")
    kept: list[str] = []
    expected = _oracle(claims, (), (), disclosable, reveal, kept)
    assert {k: v for k, v in result.claims.items() if k != "cnf"} == expected
    assert sorted(p for p, _ in result.disclosed) == sorted(kept)
    assert len(split(presentation).disclosures) == len(kept)


_FIXED = _issue(
    {"a": 1, "b": {"c": [1, 2]}, "d": "x"},
    ["/a", "/b", "/b/c/1", "/d"],
    holder_key=HOLDER.public_key(),
)
_FIXED_KB = present(
    _FIXED,
    reveal=["/a", "/b/c/1"],
    holder=KeySigner.for_key(HOLDER),
    nonce="n",
    audience="v",
    iat=NOW,
)


def test_fixed_presentation_verifies() -> None:
    result = _verify(_FIXED_KB, expected_nonce="n", expected_audience="v")
    assert result.claims["b"] == {"c": [1, 2]} and "d" not in result.claims


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_any_change_fails_with_a_typed_reason(data: st.DataObject) -> None:
    parts = _FIXED_KB.split("~")
    index = data.draw(st.integers(0, len(parts) - 1), label="component")
    part = parts[index]
    position = data.draw(st.integers(0, len(part) - 1), label="position")
    replacement = data.draw(
        st.sampled_from(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~="
        ).filter(lambda c: c != part[position]),
        label="replacement",
    )
    parts[index] = part[:position] + replacement + part[position + 1 :]
    with pytest.raises(TaitoError):
        _verify("~".join(parts), expected_nonce="n", expected_audience="v")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9_.~-]{0,300}", fullmatch=True))
def test_garbage_raises_only_typed_errors(text: str) -> None:
    with pytest.raises(TaitoError):
        _verify(text)


WILD_NAMES = st.sampled_from(["_sd", "...", "_sd_alg", "cnf", "exp", "iat", "a", "jwk"])
WILD = st.recursive(
    SCALARS | st.sampled_from([digest(_b64json(["s", "a", 1])), digest(_b64json(["s", 2]))]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WILD_NAMES, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(WILD_NAMES, WILD, max_size=4),
    st.lists(st.sampled_from([_b64json(["s", "a", 1]), _b64json(["s", 2])]), max_size=2),
    st.booleans(),
)
def test_signed_but_hostile_payloads_raise_only_typed_errors(
    payload: dict[str, Any], disclosures: list[str], bind: bool
) -> None:
    token = _craft(payload, disclosures)
    with contextlib.suppress(TaitoError):  # anything else escaping fails the test
        _verify(_kb(token) if bind else token)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=6))
def test_dropping_duplicating_or_reordering_disclosures(ops: list[int]) -> None:
    parts = split(_FIXED)
    disclosures = list(parts.disclosures)
    for op in ops:
        if op == 0 and disclosures:
            disclosures.pop()
        elif op == 1 and disclosures:
            disclosures.append(disclosures[0])
        else:
            disclosures.reverse()
    text = parts.issuer_jwt + "~" + "".join(d + "~" for d in disclosures)
    if len(set(disclosures)) != len(disclosures):
        with pytest.raises(e.DuplicateDisclosure):
            _verify(text)
        return
    try:
        result = _verify(text)
    except e.UnreferencedDisclosure:  # /b/c/1 without its parent /b is referenced by nothing
        assert any(d not in disclosures for d in parts.disclosures)
        return
    assert len(result.disclosed) == len(disclosures)


# --- verifier: bad input --------------------------------------------------------------------


def _craft(
    payload: dict[str, Any],
    disclosures: list[str] = (),
    *,  # type: ignore[assignment]
    header: dict[str, Any] | None = None,
    key: PrivateKey = ISSUER,
) -> str:
    head = header or {"alg": key.algorithm, "typ": "example+sd-jwt"}
    return _sign_jwt(head, payload, key) + "~" + "".join(d + "~" for d in disclosures)


def _disclosure(array: list[Any]) -> str:
    return _b64json(array)


def _ref(text: str) -> str:
    return digest(text)


D_NAME = _disclosure(["c2FsdHNhbHRzYWx0c2FsdA", "name", "Ada"])
D_ELEM = _disclosure(["c2FsdHNhbHRzYWx0c2FsdB", "FR"])


@pytest.mark.parametrize(
    ("payload", "disclosures", "error"),
    [
        ({"_sd": [_ref(D_NAME)]}, [D_NAME, D_NAME], e.DuplicateDisclosure),
        ({"_sd": [_ref(D_NAME)], "x": {"_sd": [_ref(D_NAME)]}}, [D_NAME], e.DuplicateDigest),
        ({"_sd": ["decoy", "decoy"]}, [], e.DuplicateDigest),
        ({"_sd": [_ref(D_NAME)], "name": "Eve"}, [D_NAME], e.DisclosedClaimExists),
        ({"_sd": [_ref(D_ELEM)]}, [D_ELEM], e.MalformedDisclosure),
        ({"n": [{"...": _ref(D_NAME)}]}, [D_NAME], e.MalformedDisclosure),
        ({"n": [{"...": _ref(D_ELEM), "x": 1}]}, [D_ELEM], e.MalformedSdJwt),
        ({"n": [{"...": 5}]}, [], e.MalformedSdJwt),
        ({"_sd": "abc"}, [], e.MalformedSdJwt),
        ({"_sd": [5]}, [], e.MalformedSdJwt),
        ({"a": 1}, [D_NAME], e.UnreferencedDisclosure),
        ({"_sd": [_ref(D_NAME)], "_sd_alg": "md5"}, [D_NAME], e.UnsupportedDigestAlgorithm),
        ({"_sd": [_ref(D_NAME)], "_sd_alg": "sha-256-32"}, [D_NAME], e.UnsupportedDigestAlgorithm),
        ({"exp": "tomorrow"}, [], e.InvalidClaim),
        ({"exp": True}, [], e.InvalidClaim),
        ({"exp": 10**300}, [], None),
        ({"nbf": -(10**300)}, [], None),
        ({"exp": NOW.timestamp() - 61}, [], e.Expired),
        ({"nbf": NOW.timestamp() + 61}, [], e.NotYetValid),
        ({"iat": NOW.timestamp() + 61}, [], e.IssuedInFuture),
    ],
)
def test_processing_rejections(
    payload: dict[str, Any], disclosures: list[str], error: type[Exception] | None
) -> None:
    if error is None:  # accepted: big numbers compare exactly, never overflow
        assert _verify(_craft(payload, disclosures)).claims == payload
        return
    with pytest.raises(error):
        _verify(_craft(payload, disclosures))


@pytest.mark.parametrize(
    "array",
    [
        ["salt", "_sd", 1],
        ["salt", "...", 1],
        [1, "name", "x"],
        ["salt", 5, "x"],
        ["salt"],
        ["salt", "a", "b", "c"],
        {"salt": "s"},
        "text",
    ],
)
def test_malformed_disclosures(array: Any) -> None:
    text = _disclosure(array)
    with pytest.raises(e.MalformedDisclosure):
        _verify(_craft({"_sd": [_ref(text)]}, [text]))


def test_malformed_disclosure_encodings() -> None:
    for text in ["!!!", "e30", _b64json([1])[:-1] + "=", base64url.encode(b'["a", "b", "c", ]')]:
        with pytest.raises(e.MalformedDisclosure):
            _verify(_craft({}, [text]))
    dup = base64url.encode(b'{"a": 1, "a": 2}')
    with pytest.raises(e.MalformedDisclosure):
        _verify(_craft({}, [dup]))


@pytest.mark.parametrize("sd_alg", ["sha-256", "sha-384", "sha-512"])
def test_joint_digests_equal_one_by_one(sd_alg: str) -> None:
    texts = [_disclosure(["s" * n, "n", "v" * n]) for n in range(40)]
    for count in (0, 1, 2, 3, 40):
        assert disclosure_module.digests(texts[:count], sd_alg) == [
            digest(t, sd_alg) for t in texts[:count]
        ]


def test_a_malformed_disclosure_and_a_duplicate_give_the_error_of_the_first() -> None:
    assert isinstance(decode_all([D_NAME, D_ELEM], "sha-256"), dict)
    with pytest.raises(e.DuplicateDisclosure):
        decode_all([D_NAME, D_NAME, "!!!"], "sha-256")
    with pytest.raises(e.MalformedDisclosure):
        decode_all([D_NAME, "!!!", D_NAME], "sha-256")
    # the same with base64url that decodes (all in one go) to something that is not a Disclosure
    not_json, not_array = base64url.encode(b"[1,"), base64url.encode(b'{"a": 1}')
    for malformed in (not_json, not_array, ""):
        with pytest.raises(e.DuplicateDisclosure):
            decode_all([D_NAME, D_NAME, malformed], "sha-256")
        with pytest.raises(e.MalformedDisclosure):
            decode_all([D_NAME, malformed, D_NAME], "sha-256")


def _reference_decode_all(disclosures: list[str], sd_alg: str) -> dict[str, Any]:
    """``decode_all`` before the joint parse: each Disclosure decoded on its own."""
    decoded: list[Any] = []

    def by_digest(count: int) -> dict[str, Any]:
        result = {digest(t, sd_alg): d for t, d in zip(disclosures[:count], decoded, strict=True)}
        if len(result) != count:
            raise e.DuplicateDisclosure("The same Disclosure appears more than once.")
        return result

    try:
        for text in disclosures:
            decoded.append(disclosure_module.decode(text))
    except e.MalformedDisclosure:
        by_digest(len(decoded))
        raise
    return by_digest(len(decoded))


def _decoded(decode_all_: Callable[[list[str], str], dict[str, Any]], texts: list[str]) -> Any:
    try:
        return decode_all_(texts, "sha-256")
    except TaitoError as exc:
        return type(exc), exc.detail


def test_joint_disclosure_decoding_equals_one_by_one() -> None:
    # decode_all parses the JSON of all the Disclosures in one call when it can (decode_many):
    # the same Disclosures, or the same error for the same one, as decoding them one by one
    rnd = __import__("random").Random(5)
    odd = [
        "[1,", '{"a": 1}', "[]", '["s"]', '["s", "n", 1, 2]', '[1, "n", 1]', '["s", 1, 1]',
        '["s", "_sd", 1]', '["s", "...", 1]', '["s", "n", {"a": 1, "a": 2}]', '["s", NaN]',
        '["\\ud800", "n", 1]', '["s", "n", ' + "[" * 70 + "]" * 70 + "]", "\ufeff[]", "",
    ]  # fmt: skip
    outcomes: dict[str, int] = {}
    for _ in range(3000):
        texts = [
            base64url.encode(rnd.choice(odd).encode("utf-8", "surrogatepass"))
            if rnd.random() < 0.08
            else _disclosure([f"salt{rnd.randrange(12)}", f"n{rnd.randrange(3)}", rnd.randrange(2)])
            if rnd.random() < 0.7
            else _disclosure([f"salt{rnd.randrange(40)}", [rnd.randrange(3)]])
            for _ in range(rnd.randrange(0, 10))
        ]
        expected = _decoded(_reference_decode_all, texts)
        assert _decoded(decode_all, texts) == expected, texts
        kind = "ok" if isinstance(expected, dict) else expected[0].__name__
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert outcomes["ok"] > 1000 and outcomes["MalformedDisclosure"] > 300
    assert outcomes["DuplicateDisclosure"] > 100
    # the joint path is the one taken for well-formed Disclosures, not the fallback
    texts = [_disclosure([f"s{i}", f"n{i}", i]) for i in range(12)] + [D_ELEM]
    raws = base64url.decode_canonical_all(texts)
    assert raws is not None
    assert disclosure_module.decode_many(texts, raws) == [
        disclosure_module.decode(t) for t in texts
    ]


def test_infinite_time_claim_is_refused() -> None:
    header = _b64json({"alg": "EdDSA", "typ": "example+sd-jwt"})
    body = base64url.encode(b'{"exp": 1e400}')
    signature = base64url.encode(ISSUER.sign(f"{header}.{body}".encode()))
    with pytest.raises(e.InvalidClaim):
        _verify(f"{header}.{body}.{signature}~")


def test_time_leeway() -> None:
    assert _verify(
        _craft(
            {"exp": NOW.timestamp() - 30, "nbf": NOW.timestamp() + 30, "iat": NOW.timestamp() + 30}
        )
    )
    with pytest.raises(e.Expired):
        _verify(_craft({"exp": NOW.timestamp() - 30}), leeway=timedelta(0))
    with pytest.raises(e.InvalidArgument):
        _verify(_craft({}), now=datetime(2026, 1, 1))


def test_issuer_jwt_rejections() -> None:
    payload = {"a": 1}
    unsigned = _b64json({"alg": "none", "typ": "example+sd-jwt"}) + "." + _b64json(payload) + "."
    with pytest.raises(e.UnsupportedAlgorithm):
        _verify(unsigned + "~")
    with pytest.raises(e.UnsupportedAlgorithm):
        _verify(unsigned + "~", algorithms=("none",))
    head = _b64json({"alg": "HS256", "typ": "example+sd-jwt"}) + "." + _b64json(payload)
    mac = base64url.encode(hmac.new(b"secret", head.encode(), hashlib.sha256).digest())
    for algorithms in (("EdDSA",), ("HS256",)):
        with pytest.raises(e.UnsupportedAlgorithm):
            _verify(f"{head}.{mac}~", algorithms=algorithms)
    lying = _craft(payload, header={"alg": "ES256", "typ": "example+sd-jwt"})
    with pytest.raises(e.UnsupportedAlgorithm):  # ES256 header, Ed25519 issuer key
        _verify(lying)
    with pytest.raises(e.InvalidIssuerSignature) as caught:
        _verify(_craft(payload, key=OTHER))
    assert isinstance(caught.value, InvalidSignature)
    assert caught.value.code == "invalid_issuer_signature"
    with pytest.raises(e.InvalidTyp):
        _verify(_craft(payload, header={"alg": "EdDSA", "typ": "JWT"}))
    with pytest.raises(e.InvalidTyp):
        _verify(_craft(payload, header={"alg": "EdDSA"}))
    for expected_typ in (None, {"example+sd-jwt"}):
        with pytest.raises(e.InvalidTyp):
            _verify(
                _craft(payload, header={"alg": "EdDSA", "typ": ["dc+sd-jwt"]}),
                expected_typ=expected_typ,
            )
    assert _verify(_craft(payload, header={"alg": "EdDSA"}), expected_typ=None).claims == payload
    with pytest.raises(e.MalformedSdJwt):
        _verify(_craft(payload, header={"alg": "EdDSA", "typ": "example+sd-jwt", "crit": ["x"]}))
    with pytest.raises(e.InvalidClaim):  # an SD-JWT VC needs vct
        _verify(_craft(payload, header={"alg": "EdDSA", "typ": "dc+sd-jwt"}))
    with pytest.raises(e.InvalidArgument):
        _verify(_craft(payload), resolve_issuer_key=lambda h, p: "not a key")
    dup_header = base64url.encode(b'{"alg":"EdDSA","alg":"EdDSA"}')
    with pytest.raises(e.MalformedSdJwt):
        _verify(dup_header + "." + _b64json(payload) + ".AAAA~")


def test_non_canonical_base64url_signature_is_refused() -> None:
    jwt = _craft({"a": 1})[:-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # a 64-byte signature is 86 characters: the last one carries 2 bits and 4 unused zero bits
    twin = alphabet[alphabet.index(jwt[-1]) ^ 1]
    forged = jwt[:-1] + twin
    signature = forged.rsplit(".", 1)[1]
    assert base64.urlsafe_b64decode(signature + "==") == base64url.decode(jwt.rsplit(".", 1)[1])
    assert _verify(jwt + "~")
    with pytest.raises(e.MalformedSdJwt):
        _verify(forged + "~")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "~",
        "~~",
        "abc",
        "a.b.c",
        "a.b.c~~",
        "~" * 10_000,
        "é~",
        "\x00~",
        None,
        b"a.b.c~",
        "x" * (MAX_PRESENTATION_BYTES + 1),
    ],
    ids=[
        "empty",
        "tilde",
        "tildes",
        "word",
        "jwt-no-tilde",
        "empty-disclosure",
        "10000-tildes",
        "non-ascii",
        "nul",
        "none",
        "bytes",
        "oversized",
    ],
)
def test_garbage_presentations(text: Any) -> None:
    with pytest.raises(e.MalformedSdJwt):
        _verify(text)


def test_valid_jwt_followed_by_ten_thousand_tildes() -> None:
    with pytest.raises(e.MalformedSdJwt):
        _verify(_craft({"a": 1}) + "~" * 10_000)


def test_too_deep_recursive_disclosures_are_refused() -> None:
    # each Disclosure nests the previous one: the processed claims would be 100 levels deep
    disclosures: list[str] = []
    value: Any = 1
    for i in range(100):
        text = _disclosure([f"salt{i}", "n", value])
        disclosures.append(text)
        value = {"_sd": [_ref(text)]}
    with pytest.raises(e.MalformedSdJwt):
        _verify(_craft(value, disclosures))


# --- verifier: key binding ------------------------------------------------------------------

BOUND = _issue({"a": 1, "b": 2}, ["/a", "/b"], holder_key=HOLDER.public_key())
UNBOUND = _issue({"a": 1, "b": 2}, ["/a", "/b"])


def _kb(prefix: str, *, key: PrivateKey = HOLDER, typ: str = "kb+jwt", **claims: Any) -> str:
    payload = {"iat": int(NOW.timestamp()), "aud": "v", "nonce": "n", "sd_hash": sd_hash(prefix)}
    payload.update(claims)
    return prefix + _sign_jwt({"alg": key.algorithm, "typ": typ}, payload, key)


def test_key_binding_happy_path_matches_crafted_kb() -> None:
    prefix = present(BOUND, reveal=["/a"])
    crafted = _verify(_kb(prefix), expected_nonce="n", expected_audience="v")
    made = _verify(
        present(
            BOUND, reveal=["/a"], holder=KeySigner.for_key(HOLDER), nonce="n", audience="v", iat=NOW
        ),
        expected_nonce="n",
        expected_audience="v",
    )
    assert crafted.claims == made.claims and crafted.kb_payload == made.kb_payload
    with pytest.raises(e.MalformedKeyBinding):  # RFC 9901 §4.3: aud is a single string
        _verify(_kb(prefix, aud=["v"]), expected_audience="v")


@pytest.mark.parametrize(
    ("build", "options", "error"),
    [
        (lambda p: p, {"require_key_binding": True}, e.KeyBindingRequired),
        (lambda p: p, {"expected_nonce": "n"}, e.KeyBindingRequired),
        (lambda p: p, {"expected_audience": "v"}, e.KeyBindingRequired),
        (lambda p: _kb(p, typ="JWT"), {}, e.InvalidKbTyp),
        (lambda p: _kb(p, key=generate("p256")), {}, e.InvalidKbSignature),
        (lambda p: _kb(p, key=generate("ed25519")), {}, e.UnsupportedAlgorithm),
        (lambda p: _kb(p, sd_hash=sd_hash(p + "x")), {}, e.SdHashMismatch),
        (lambda p: _kb(p, nonce="other"), {"expected_nonce": "n"}, e.NonceMismatch),
        (
            lambda p: _kb(p, aud="https://evil.example"),
            {"expected_audience": "v"},
            e.AudienceMismatch,
        ),
        (lambda p: _kb(p, iat=int(NOW.timestamp()) - 7 * 60), {}, e.KeyBindingTime),
        (lambda p: _kb(p, iat=int(NOW.timestamp()) + 120), {}, e.KeyBindingTime),
        (lambda p: _kb(p, iat="now"), {}, e.MalformedKeyBinding),
        (lambda p: _kb(p, iat=None), {}, e.MalformedKeyBinding),
        (lambda p: _kb(p, iat=10**400), {}, e.KeyBindingTime),
        (lambda p: _kb(p, nonce=None), {}, e.MalformedKeyBinding),
        (lambda p: _kb(p, aud=5), {}, e.MalformedKeyBinding),
        (lambda p: _kb(p, sd_hash=None), {}, e.MalformedKeyBinding),
        (lambda p: p + "not-a-jwt", {}, e.MalformedKeyBinding),
    ],
)
def test_key_binding_rejections(
    build: Callable[[str], str], options: dict[str, Any], error: type[Exception]
) -> None:
    prefix = present(BOUND, reveal=["/a"])
    with pytest.raises(error):
        _verify(build(prefix), **options)


def test_key_binding_without_cnf_and_after_dropping_a_disclosure() -> None:
    with pytest.raises(e.MissingConfirmationKey):
        _verify(_kb(present(UNBOUND, reveal=["/a"])))
    full = present(BOUND, holder=KeySigner.for_key(HOLDER), nonce="n", audience="v", iat=NOW)
    jwt, d1, _d2, kb = full.split("~")
    with pytest.raises(e.SdHashMismatch):
        _verify(f"{jwt}~{d1}~{kb}", expected_nonce="n")
    assert _verify(full, max_kb_age=timedelta(minutes=5), now=NOW + timedelta(minutes=5)).key_bound
    with pytest.raises(e.KeyBindingTime):
        _verify(full, now=NOW + timedelta(minutes=7))
    bad_cnf = _craft({"cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}})
    with pytest.raises(e.InvalidClaim):
        _verify(_kb(bad_cnf))
    no_jwk = _craft({"cnf": {"kid": "k"}})
    with pytest.raises(e.MissingConfirmationKey):
        _verify(_kb(no_jwk))


def test_error_codes_are_stable_and_distinct() -> None:
    classes = [c for c in vars(e).values() if isinstance(c, type) and issubclass(c, e.SdJwtError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalnum() and code.islower() for code in codes)
