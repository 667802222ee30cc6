"""The 1EdTech signing test vectors (OB 3.0 and CLR 2.0 "linked data proof" pages), exactly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keys import data_integrity, multikey
from keys.data_integrity import CRYPTOSUITES, hash_data
from keys.did import VerificationMethod
from keys.jwk import ed25519_from_seed, ed25519_public
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader

VECTORS = {
    "ob3": "ob3/test-vectors/obv3p0",
    "clr2": "clr2/test-vectors/clrv2p0",
}
NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture(scope="module")
def loader(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> StaticLoader:
    shared = request.getfixturevalue("shared")
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader()


def _vector(conformance: Path, name: str) -> tuple[Path, dict[str, Any]]:
    folder = conformance / VECTORS[name]
    return folder, json.loads((folder / "test-vector-values.json").read_text())


def _resolver(values: dict[str, Any]) -> Any:
    key = ed25519_public(bytes.fromhex(values["publicKeyHex"]))
    controller = values["verificationMethod"].split("#")[0]

    def resolve(method_id: str) -> VerificationMethod:
        assert method_id == values["verificationMethod"]
        return VerificationMethod(method_id, controller, key)

    return resolve


def _single_proof(document: dict[str, Any]) -> dict[str, Any]:
    proof = document["proof"]
    return proof[0] if isinstance(proof, list) else proof


@pytest.mark.parametrize("name", VECTORS)
def test_canonical_forms_and_hashes_are_exact(
    conformance: Path, loader: StaticLoader, name: str
) -> None:
    folder, values = _vector(conformance, name)
    signed = json.loads((folder / "credential-signed.json").read_text())
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    options = {k: v for k, v in _single_proof(signed).items() if k != "proofValue"}
    data = hash_data(CRYPTOSUITES["eddsa-rdfc-2022"], unsigned, options, loader)
    assert data.canonical_document.decode() == (folder / "document-canon.txt").read_text()
    assert data.canonical_proof_config.decode() == (folder / "proof-canon.txt").read_text()
    assert data.document_hash.hex() == values["documentHashHex"]
    assert data.proof_config_hash.hex() == values["proofHashHex"]
    if "publicKeyMultibase" in values:
        assert (
            multikey.encode_public(_resolver(values)(values["verificationMethod"]).public_key)
            == values["publicKeyMultibase"]
        )


@pytest.mark.parametrize("name", VECTORS)
def test_signed_vectors_verify_and_tampering_fails(
    conformance: Path, loader: StaticLoader, name: str
) -> None:
    folder, values = _vector(conformance, name)
    signed = json.loads((folder / "credential-signed.json").read_text())
    [proof] = data_integrity.verify_proofs(
        signed, resolve_key=_resolver(values), loader=loader, now=NOW
    )
    assert proof.controller == values["verificationMethod"].split("#")[0]
    tampered = copy.deepcopy(signed)
    tampered["name"] = str(tampered.get("name", "")) + "!"
    with pytest.raises(data_integrity.ProofInvalidSignature):
        data_integrity.verify_proofs(
            tampered, resolve_key=_resolver(values), loader=loader, now=NOW
        )


@pytest.mark.parametrize("name", VECTORS)
def test_vector_is_reproduced_by_signing(
    conformance: Path, loader: StaticLoader, name: str
) -> None:
    folder, values = _vector(conformance, name)
    signed = json.loads((folder / "credential-signed.json").read_text())
    unsigned = json.loads((folder / "credential-unsigned.json").read_text())
    seed = bytes.fromhex(values["privateKeyHex"])[:32]
    signer = KeySigner(ed25519_from_seed(seed), values["verificationMethod"])
    ours = data_integrity.add_proof(
        unsigned,
        signer=signer,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC),
    )
    proof = _single_proof(ours)
    assert proof["proofValue"] == values["proofValue"]
    assert multikey.decode_base58btc(proof["proofValue"]).hex() == values["signatureHex"]
    assert {k: v for k, v in ours.items() if k != "proof"} == {
        k: v for k, v in signed.items() if k != "proof"
    }
    assert proof == _single_proof(signed)
