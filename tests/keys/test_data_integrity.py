"""Data Integrity proofs against the W3C vectors (shared/conformance, read in place) and invariants."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.data_integrity import (
    CRYPTOSUITES,
    ProofError,
    add_proof,
    hash_data,
    proof_configuration,
    verify_proofs,
)
from keys.data_integrity.cryptosuite import Cryptosuite
from keys.did import VerificationMethod, did_key_method_id, resolve_offline
from keys.errors import InvalidSignature
from keys.jwk import PrivateKey, generate
from keys.multikey import decode_private, encode_base58btc
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader, UnknownContext

NOW = datetime(2025, 6, 1, tzinfo=UTC)
VECTOR_CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
ED2020 = "https://w3id.org/security/suites/ed25519-2020/v1"


@pytest.fixture(scope="session")
def loader(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> StaticLoader:
    source = shared / "contexts"
    if not (source / "MANIFEST.json").is_file():
        pytest.skip(f"shared contexts absent at {source}")
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(source)
    return cache.loader()


@pytest.fixture(scope="session")
def vectors(conformance: Path) -> Path:
    path = conformance / "di-eddsa"
    if not (path / "keyPair.json").is_file():
        pytest.skip(f"di-eddsa vectors absent at {path}")
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def verify(document: Any, loader: StaticLoader, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("resolve_key", resolve_offline)
    kwargs.setdefault("now", NOW)
    return verify_proofs(document, loader=loader, **kwargs)


def fails_with(code: str, document: Any, loader: StaticLoader, **kwargs: Any) -> ProofError:
    with pytest.raises(ProofError) as caught:
        verify(document, loader, **kwargs)
    assert caught.value.code == code, caught.value.detail
    return caught.value


# ----------------------------------------------------------------------- W3C EdDSA test vectors

# (cryptosuite, folder, file suffix, unsigned document or None = the signed one without its proof)
VECTORS = [
    ("eddsa-rdfc-2022", "eddsa-rdfc-2022", "DataInt", "unsigned.json"),
    ("eddsa-rdfc-2022", "eddsa-rdfc-2022/employ", "DataInt", "employmentAuth.json"),
    ("eddsa-jcs-2022", "eddsa-jcs-2022", "JCS", "unsigned.json"),
    ("Ed25519Signature2020", "Ed25519Signature2020", "EdSig", None),
]
VECTOR_IDS = ["eddsa-rdfc-2022", "eddsa-rdfc-2022-employ", "eddsa-jcs-2022", "Ed25519Signature2020"]


@pytest.mark.parametrize(
    ("suite_name", "folder", "suffix", "unsigned_name"), VECTORS, ids=VECTOR_IDS
)
def test_vector_create_step_by_step(
    vectors: Path,
    loader: StaticLoader,
    suite_name: str,
    folder: str,
    suffix: str,
    unsigned_name: str | None,
):
    base = vectors / folder
    signed_fixture = read_json(base / f"signed{suffix}.json")
    unsigned = (
        read_json(vectors / unsigned_name)
        if unsigned_name
        else {k: v for k, v in signed_fixture.items() if k != "proof"}
    )
    key = decode_private(read_json(vectors / "keyPair.json")["privateKeyMultibase"])
    signer = KeySigner.for_key(key)
    suite: Cryptosuite = CRYPTOSUITES[suite_name]
    text = lambda name: (base / f"{name}{suffix}.txt").read_text(encoding="utf-8")  # noqa: E731

    signed = add_proof(
        unsigned, signer=signer, cryptosuite=suite_name, loader=loader, created=VECTOR_CREATED
    )
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    assert proof_configuration(unsigned, options) == read_json(base / f"proofConfig{suffix}.json")

    data = hash_data(suite, unsigned, options, loader)
    assert data.canonical_document.decode("utf-8") == text("canonDoc")
    assert data.canonical_proof_config.decode("utf-8") == text("proofCanon")
    assert data.document_hash.hex() == text("docHash")
    assert data.proof_config_hash.hex() == text("proofHash")
    assert data.combined.hex() == text("combinedHash")
    signature = key.sign(data.combined)
    assert signature.hex() == text("sigHex")
    assert encode_base58btc(signature) == text("sigBTC58")
    assert signed["proof"]["proofValue"] == text("sigBTC58")
    assert signed == signed_fixture


@pytest.mark.parametrize(
    ("suite_name", "folder", "suffix", "unsigned_name"), VECTORS, ids=VECTOR_IDS
)
def test_vector_signed_document_verifies(
    vectors: Path,
    loader: StaticLoader,
    suite_name: str,
    folder: str,
    suffix: str,
    unsigned_name: str | None,
):
    signed = read_json(vectors / folder / f"signed{suffix}.json")
    [result] = verify(signed, loader)
    public = read_json(vectors / "keyPair.json")["publicKeyMultibase"]
    assert result.cryptosuite == suite_name
    assert result.verification_method == f"did:key:{public}#{public}"
    assert result.controller == f"did:key:{public}"
    assert result.created == VECTOR_CREATED
    assert result.proof_purpose == "assertionMethod"


def _key_pairs(vectors: Path) -> dict[str, PrivateKey]:
    pairs = read_json(vectors / "proof-set-chain" / "multiKeyPairs.json").values()
    return {p["publicKeyMultibase"]: decode_private(p["privateKeyMultibase"]) for p in pairs}


def _add_like(document: Any, config: dict[str, Any], keys: dict[str, PrivateKey], loader) -> Any:
    """Add a proof with exactly the options of a vector's proof configuration."""
    method = config["verificationMethod"]
    signer = KeySigner.for_key(keys[method.split("#")[1]], method)
    return add_proof(
        document,
        signer=signer,
        cryptosuite=config["cryptosuite"],
        loader=loader,
        created=datetime.fromisoformat(config["created"]),
        proof_purpose=config["proofPurpose"],
        previous_proof=config.get("previousProof"),
        proof_id=config.get("id"),
    )


def test_proof_set_and_chain_vectors_are_reproduced(vectors: Path, loader: StaticLoader):
    folder = vectors / "proof-set-chain"
    keys = _key_pairs(vectors)
    document = read_json(folder / "unsigned.json")
    steps = [
        ("proofSetConfig1.json", "signedProofSet1.json"),
        ("proofSetConfig2.json", "signedProofSet2.json"),
        ("proofChainConfig1.json", "signedProofChain1.json"),
        ("proofChainConfig2.json", "signedProofChain2.json"),
    ]
    for config_name, signed_name in steps:
        document = _add_like(document, read_json(folder / config_name), keys, loader)
        assert document == read_json(folder / signed_name), signed_name


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("signedProofSet1.json", 1),
        ("signedProofSet2.json", 2),
        ("signedProofChain1.json", 3),
        ("signedProofChain2.json", 4),
    ],
)
def test_proof_set_and_chain_vectors_verify(vectors: Path, loader, name: str, count: int):
    results = verify(read_json(vectors / "proof-set-chain" / name), loader)
    assert len(results) == count
    assert len({r.verification_method for r in results}) == count


def test_chain_with_a_missing_previous_proof_fails(vectors: Path, loader: StaticLoader):
    document = read_json(vectors / "proof-set-chain" / "signedProofChain2.json")
    del document["proof"][2]  # the proof the fourth one chains to
    fails_with("previous_proof_missing", document, loader)
    document = read_json(vectors / "proof-set-chain" / "signedProofChain2.json")
    document["proof"][3]["previousProof"] = document["proof"][0]["id"]  # signed over another one
    fails_with("invalid_signature", document, loader)


def test_duplicate_proof_ids_are_malformed(vectors: Path, loader: StaticLoader):
    document = read_json(vectors / "proof-set-chain" / "signedProofSet2.json")
    document["proof"][1]["id"] = document["proof"][0]["id"]
    fails_with("malformed_proof", document, loader)


# ------------------------------------------------------------------ VC 2.0 ECDSA examples (P-256)


def _ecdsa_examples(conformance: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((conformance / "vc2" / "examples" / "vcdm20-rec").glob("example-*.json")):
        secured = read_json(path).get("ecdsa-rdfc-2019")
        if isinstance(secured, dict):
            yield path.name, secured


def test_vc2_ecdsa_rdfc_2019_examples_verify(conformance: Path, loader: StaticLoader):
    examples = list(_ecdsa_examples(conformance))
    if not examples:
        pytest.skip("vc2 ECDSA examples absent")
    assert len(examples) >= 9
    for name, secured in examples:
        [result] = verify(secured, loader)
        assert result.cryptosuite == "ecdsa-rdfc-2019", name
        assert result.verification_method.startswith("did:key:zDna")
        tampered = copy.deepcopy(secured)
        tampered["issuer"] = (
            "https://issuer.example/other"
            if isinstance(tampered.get("issuer"), str)
            else {**tampered["issuer"], "id": "did:example:other"}
        )
        fails_with("invalid_signature", tampered, loader)


# ---------------------------------------------------------------------------- tamper detection


@pytest.fixture(params=VECTORS, ids=VECTOR_IDS)
def signed_vector(request: pytest.FixtureRequest, vectors: Path) -> dict[str, Any]:
    _, folder, suffix, _ = request.param
    return read_json(vectors / folder / f"signed{suffix}.json")


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("@context", "proof"):
                yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _string_paths(item, (*path, i))


def _edit(document: Any, path: tuple[Any, ...], change: Callable[[Any], Any]) -> Any:
    edited = copy.deepcopy(document)
    target = edited
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = change(
        target.get(path[-1]) if isinstance(target, dict) else target[path[-1]]
    )
    return edited


def test_changing_any_string_of_the_document_fails(signed_vector, loader: StaticLoader):
    paths = list(_string_paths(signed_vector))
    assert len(paths) >= 8
    codes = set()
    for path in paths:
        tampered = _edit(signed_vector, path, lambda s: s + "x")
        with pytest.raises(ProofError) as caught:
            verify(tampered, loader)
        codes.add(caught.value.code)
    # a changed type can also drop the type-scoped context that defined a term (employ vector)
    assert "invalid_signature" in codes
    assert codes <= {"invalid_signature", "undefined_term", "relative_iri"}


@pytest.mark.parametrize(
    ("member", "value", "code"),
    [
        ("created", "2023-02-24T23:36:39Z", "invalid_signature"),
        ("created", "yesterday", "malformed_proof"),
        ("proofPurpose", "authentication", "purpose_mismatch"),
        (
            "verificationMethod",
            "did:key:z6MktgKTsu1QhX6QPbyqG6geXdw6FQCZBPq7uQpieWbiQiG7",
            "invalid_signature",
        ),
        ("verificationMethod", "did:key:zNotAKey", "verification_method"),
        (
            "verificationMethod",
            "did:key:zDnaebSRtPnW6YCpxAhR5JPxJqt9UunCsBPhLEtUokUvp87nQ",
            "verification_method",
        ),  # a P-256 key for an Ed25519 suite
        ("proofValue", "0OIl", "malformed_proof"),
        ("proofValue", None, "malformed_proof"),
        ("type", "Ed25519Signature2018", "unsupported_cryptosuite"),
        ("expires", "2024-01-01T00:00:00Z", "proof_expired"),
    ],
)
def test_changing_a_proof_member_fails(signed_vector, loader, member: str, value: Any, code: str):
    tampered = copy.deepcopy(signed_vector)
    if value is None:
        del tampered["proof"][member]
    else:
        tampered["proof"][member] = value
    fails_with(code, tampered, loader)


def test_changing_the_proof_value_or_cryptosuite_fails(signed_vector, loader: StaticLoader):
    value = signed_vector["proof"]["proofValue"]
    for i in (1, len(value) // 2, len(value) - 1):
        replacement = "2" if value[i] != "2" else "3"
        tampered = copy.deepcopy(signed_vector)
        tampered["proof"]["proofValue"] = value[:i] + replacement + value[i + 1 :]
        fails_with("invalid_signature", tampered, loader)
    if signed_vector["proof"]["type"] == "DataIntegrityProof":
        other = {"eddsa-rdfc-2022": "eddsa-jcs-2022"}.get(
            signed_vector["proof"]["cryptosuite"], "eddsa-rdfc-2022"
        )
        for suite, code in (
            (other, "invalid_signature"),
            ("eddsa-2099", "unsupported_cryptosuite"),
            ("ecdsa-rdfc-2019", "verification_method"),
        ):
            tampered = copy.deepcopy(signed_vector)
            tampered["proof"]["cryptosuite"] = suite
            fails_with(code, tampered, loader)


def test_verification_options(signed_vector, loader: StaticLoader):
    fails_with("purpose_mismatch", signed_vector, loader, expected_purpose="authentication")
    fails_with("challenge_mismatch", signed_vector, loader, challenge="nonce")
    fails_with("domain_mismatch", signed_vector, loader, domain="verifier.example")
    fails_with("unsupported_cryptosuite", signed_vector, loader, cryptosuites={"ecdsa-rdfc-2019"})
    ed25519 = generate("ed25519").public_key()
    fails_with(
        "invalid_signature",
        signed_vector,
        loader,
        resolve_key=lambda vm: VerificationMethod(vm, vm.split("#")[0], ed25519),
    )

    def refuse(vm: str) -> VerificationMethod:
        raise InvalidSignature("no such key")

    fails_with("verification_method", signed_vector, loader, resolve_key=refuse)
    fails_with("proof_missing", {k: v for k, v in signed_vector.items() if k != "proof"}, loader)
    with pytest.raises(ProofError) as caught:
        verify(signed_vector, loader, now=datetime(2025, 1, 1))
    assert caught.value.code == "invalid_proof_options"


def test_unknown_context_fails(signed_vector, loader: StaticLoader):
    tampered = copy.deepcopy(signed_vector)
    tampered["@context"].append("https://example.com/contexts/unknown/v1")
    error = fails_with("unknown_context", tampered, loader)
    assert isinstance(error, UnknownContext)
    error = fails_with("unknown_context", signed_vector, StaticLoader.from_documents({}))
    assert isinstance(error, UnknownContext)


def test_relative_iri_fails(signed_vector, loader: StaticLoader):
    fails_with("relative_iri", _edit(signed_vector, ("id",), lambda _: "credentials/1"), loader)
    fails_with(
        "relative_iri",
        _edit(signed_vector, ("credentialSubject", "id"), lambda _: "../subject"),
        loader,
    )


def test_ed25519_signature_2020_needs_its_context(vectors: Path, loader: StaticLoader):
    signed = read_json(vectors / "Ed25519Signature2020" / "signedEdSig.json")
    signed["@context"].remove(ED2020)
    fails_with("malformed_proof", signed, loader)


def test_jcs_proof_context_must_begin_the_document_context(vectors: Path, loader: StaticLoader):
    signed = read_json(vectors / "eddsa-jcs-2022" / "signedJCS.json")
    signed["@context"] = [VC2]  # the examples context defined alumniOf
    fails_with("undefined_term", signed, loader)
    signed = read_json(vectors / "eddsa-jcs-2022" / "signedJCS.json")
    signed["proof"]["@context"] = [VC2]
    fails_with("malformed_proof", signed, loader)
    signed = read_json(vectors / "eddsa-jcs-2022" / "signedJCS.json")
    signed["@context"].append("https://w3id.org/citizenship/v4rc1")  # added after signing
    fails_with("malformed_proof", signed, loader)


# ------------------------------------- data loss: undefined terms (VC 2.0 and 1.1 have no @vocab)


def test_undefined_term_in_a_vc2_credential_is_refused(vectors: Path, loader: StaticLoader):
    signer = KeySigner.for_key(generate("ed25519"))
    unsigned = {**_alumni(vectors), "@context": [VC2], "type": ["VerifiableCredential"]}
    del unsigned["credentialSubject"]["alumniOf"]
    signed = add_proof(unsigned, signer=signer, cryptosuite="eddsa-rdfc-2022", loader=loader)
    assert len(verify(signed, loader)) == 1
    tampered = _edit(signed, ("credentialSubject", "alumniOf"), lambda _: "Unsigned University")
    fails_with("undefined_term", tampered, loader)
    with pytest.raises(ProofError) as caught:
        add_proof(tampered, signer=signer, cryptosuite="eddsa-rdfc-2022", loader=loader)
    assert caught.value.code == "undefined_term"


def _vc11() -> dict[str, Any]:
    return {
        "@context": [VC1, DI_V2],
        "id": "urn:uuid:0b6a1c1e-1b5a-4b39-9d4b-8b1c5b0f2a10",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }


@pytest.mark.parametrize("suite_name", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019"])
def test_undefined_terms_are_refused(loader: StaticLoader, suite_name: str):
    key = generate(CRYPTOSUITES[suite_name].key_type)
    signer = KeySigner.for_key(key)
    signed = add_proof(_vc11(), signer=signer, cryptosuite=suite_name, loader=loader)
    assert len(verify(signed, loader)) == 1

    tampered = _edit(signed, ("credentialSubject",), lambda s: {**s, "degree": "BSc"})
    fails_with("undefined_term", tampered, loader)
    tampered = copy.deepcopy(signed)
    tampered["proof"]["note"] = "unsigned"
    fails_with("undefined_term", tampered, loader)
    fails_with("relative_iri", _edit(signed, ("type",), lambda t: [*t, "Diploma"]), loader)

    unsigned = _vc11()
    unsigned["credentialSubject"]["degree"] = "BSc"
    with pytest.raises(ProofError) as caught:
        add_proof(unsigned, signer=signer, cryptosuite=suite_name, loader=loader)
    assert caught.value.code == "undefined_term"
    unsigned = {**_vc11(), "@context": [VC1]}  # no Data Integrity terms for the proof
    with pytest.raises(ProofError) as caught:
        add_proof(unsigned, signer=signer, cryptosuite=suite_name, loader=loader)
    assert caught.value.code == "undefined_term"


# ------------------------------------------------------------------ add_proof options and sets


def _alumni(vectors: Path) -> dict[str, Any]:
    return read_json(vectors / "unsigned.json")


def test_proof_options_round_trip(vectors: Path, loader: StaticLoader):
    signer = KeySigner.for_key(generate("p256"))
    unsigned = _alumni(vectors)
    before = copy.deepcopy(unsigned)
    signed = add_proof(
        unsigned,
        signer=signer,
        cryptosuite="ecdsa-rdfc-2019",
        loader=loader,
        created=NOW - timedelta(days=1),
        expires=NOW + timedelta(days=1),
        proof_purpose="authentication",
        challenge="c-123",
        domain=["verifier.example", "other.example"],
        proof_id="urn:uuid:p1",
    )
    assert unsigned == before and "proof" not in unsigned
    proof = signed["proof"]
    assert proof["created"] == "2025-05-31T00:00:00Z" and proof["expires"] == "2025-06-02T00:00:00Z"
    [result] = verify(
        signed, loader, expected_purpose="authentication", challenge="c-123", domain="other.example"
    )
    assert result.proof_id == "urn:uuid:p1"
    assert result.expires == NOW + timedelta(days=1)
    assert result.verification_method == did_key_method_id(signer.key.public_key())
    fails_with(
        "proof_expired",
        signed,
        loader,
        now=NOW + timedelta(days=2),
        expected_purpose="authentication",
    )
    fails_with(
        "challenge_mismatch", signed, loader, expected_purpose="authentication", challenge="c-124"
    )
    fails_with(
        "domain_mismatch",
        signed,
        loader,
        expected_purpose="authentication",
        domain="verifier.example.com",
    )


def test_mixed_proof_set_and_chain(vectors: Path, loader: StaticLoader):
    ed = KeySigner.for_key(generate("ed25519"))
    p256 = KeySigner.for_key(generate("p256"))
    document = add_proof(
        _alumni(vectors),
        signer=ed,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        proof_id="urn:uuid:a",
    )
    document = add_proof(
        document, signer=p256, cryptosuite="ecdsa-rdfc-2019", loader=loader, proof_id="urn:uuid:b"
    )
    document = add_proof(
        document,
        signer=ed,
        cryptosuite="eddsa-jcs-2022",
        loader=loader,
        previous_proof=["urn:uuid:a", "urn:uuid:b"],
    )
    results = verify(document, loader)
    assert [r.cryptosuite for r in results] == [
        "eddsa-rdfc-2022",
        "ecdsa-rdfc-2019",
        "eddsa-jcs-2022",
    ]
    assert results[2].previous_proof == ("urn:uuid:a", "urn:uuid:b")
    tampered = copy.deepcopy(document)
    tampered["proof"][1]["created"] = "2020-01-01T00:00:00Z"  # breaks b, and the chain over it
    fails_with("invalid_signature", tampered, loader)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"cryptosuite": "bbs-2023"}, "unsupported_cryptosuite"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "invalid_proof_options"),  # an Ed25519 signer
        ({"previous_proof": "urn:uuid:nope"}, "previous_proof_missing"),
        ({"created": datetime(2024, 1, 1)}, "invalid_proof_options"),
        ({"domain": ["a", 1]}, "invalid_proof_options"),
    ],
)
def test_add_proof_refuses_bad_options(vectors, loader, kwargs: dict[str, Any], code: str):
    arguments: dict[str, Any] = {"cryptosuite": "eddsa-rdfc-2022", **kwargs}
    with pytest.raises(ProofError) as caught:
        add_proof(
            _alumni(vectors),
            signer=KeySigner.for_key(generate("ed25519")),
            loader=loader,
            **arguments,
        )
    assert caught.value.code == code


@pytest.mark.parametrize("document", [[], "text", {"a": float("nan")}, {1: "x"}])
def test_non_json_documents_are_refused(loader: StaticLoader, document: Any):
    with pytest.raises(ProofError) as caught:
        verify(document, loader)
    assert caught.value.code == "invalid_document"


# ------------------------------------------------------------------------------ hypothesis


SUITE_KEYS = {name: generate(suite.key_type) for name, suite in CRYPTOSUITES.items()}
subject_text = st.text(min_size=1, max_size=30)
subjects = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"did:example:[a-z0-9]{1,16}", fullmatch=True),
        "name": subject_text,
        "alumniOf": subject_text,
    },
    optional={"description": subject_text},
)


def _credential(subject: dict[str, Any], suite_name: str) -> dict[str, Any]:
    context = [VC2, "https://www.w3.org/ns/credentials/examples/v2"]
    if suite_name == "Ed25519Signature2020":
        context.append(ED2020)
    return {
        "@context": context,
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "issuer": "https://vc.example/issuers/5678",
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": subject,
    }


@pytest.mark.parametrize("suite_name", sorted(CRYPTOSUITES))
@settings(max_examples=40, deadline=None)
@given(subject=subjects, data=st.data())
def test_sign_verify_round_trip_and_one_character_tamper(
    loader: StaticLoader, suite_name: str, subject: dict[str, Any], data: st.DataObject
):
    signer = KeySigner.for_key(SUITE_KEYS[suite_name])
    signed = add_proof(
        _credential(subject, suite_name),
        signer=signer,
        cryptosuite=suite_name,
        loader=loader,
        created=VECTOR_CREATED,
    )
    [result] = verify(signed, loader)
    assert result.cryptosuite == suite_name
    assert result.verification_method == signer.key_id

    field = data.draw(st.sampled_from(sorted(k for k in subject if k != "id")))
    original = subject[field]
    index = data.draw(st.integers(0, len(original) - 1))
    char = data.draw(st.characters(codec="utf-8").filter(lambda c: c != original[index]))
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"][field] = original[:index] + char + original[index + 1 :]
    fails_with("invalid_signature", tampered, loader)
