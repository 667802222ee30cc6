"""Add and verify Data Integrity proofs, proof sets and proof chains (W3C Data Integrity 1.0 §4).

``add_proof`` returns a new document; ``verify_proofs`` verifies every proof and raises a typed
:class:`~keys.data_integrity.errors.ProofError` on the first failure. Time, the key resolver and
the JSON-LD document loader are parameters; nothing here touches the network or a clock.

``resolve_key`` receives the proof's ``verificationMethod`` and must return a method its controller
authorises for the purpose being verified (the verifier role checks the DID document's
``assertionMethod`` / ``authentication`` relationships); this module checks the key type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from keys.data_integrity.canonicalization import expand
from keys.data_integrity.cryptosuite import Cryptosuite, HashData, hash_data
from keys.data_integrity.ecdsa_rdfc_2019 import ECDSA_RDFC_2019
from keys.data_integrity.ed25519_signature_2020 import ED25519_SIGNATURE_2020
from keys.data_integrity.eddsa_jcs_2022 import EDDSA_JCS_2022
from keys.data_integrity.eddsa_rdfc_2022 import EDDSA_RDFC_2022
from keys.data_integrity.errors import (
    ChallengeMismatch,
    DomainMismatch,
    InvalidDocument,
    MalformedProof,
    PreviousProofMissing,
    ProofExpired,
    ProofInvalidSignature,
    ProofMissing,
    ProofOptionsError,
    PurposeMismatch,
    UnsupportedCryptosuite,
    VerificationMethodError,
)
from keys.did import VerificationMethod
from keys.errors import InvalidSignature
from keys.multikey import decode_base58btc, encode_base58btc
from keys.signing import Signer
from schemas import strict_json
from schemas.contexts import DocumentLoader
from schemas.errors import TaitoError

CRYPTOSUITES: Mapping[str, Cryptosuite] = MappingProxyType(
    {
        suite.name: suite
        for suite in (EDDSA_RDFC_2022, EDDSA_JCS_2022, ECDSA_RDFC_2019, ED25519_SIGNATURE_2020)
    }
)
KeyResolver = Callable[[str], VerificationMethod]
MAX_PROOFS = 16

# XML Schema 1.1 dateTimeStamp (Data Integrity 1.0 §2.1 created / expires): a time zone is required
_DATE_TIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class VerifiedProof:
    """What one verified proof asserts."""

    cryptosuite: str
    proof_type: str
    verification_method: str
    controller: str
    proof_purpose: str
    created: datetime | None
    expires: datetime | None
    proof_id: str | None
    previous_proof: tuple[str, ...]


# ---------------------------------------------------------------------------------------- helpers


def _plain_json(value: Any, depth: int) -> Any:
    if depth > strict_json.MAX_DEPTH:
        raise InvalidDocument(f"The document is nested deeper than {strict_json.MAX_DEPTH} levels.")
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InvalidDocument("JSON object member names must be strings.")
        return {k: _plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidDocument("NaN and infinite numbers are not JSON.")
    if value is None or isinstance(value, str | int | float):
        return value
    raise InvalidDocument(f"A {type(value).__name__} is not a JSON value.")


def _snapshot(document: Any) -> dict[str, Any]:
    """A private JSON copy of the caller's document (so later changes cannot race the checks)."""
    if not isinstance(document, Mapping):
        raise InvalidDocument("A secured document must be a JSON object.")
    copied: dict[str, Any] = _plain_json(document, 1)
    return copied


def _suite(name: str, allowed: Collection[str] | None = None) -> Cryptosuite:
    suite = CRYPTOSUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        raise UnsupportedCryptosuite(
            f"The cryptosuite {str(name)[:80]!r} is not supported.",
            extra={"cryptosuite": str(name)[:80]},
        )
    if allowed is not None and suite.name not in allowed:
        raise UnsupportedCryptosuite(
            f"The cryptosuite {suite.name!r} is not accepted here.",
            extra={"cryptosuite": suite.name},
        )
    return suite


def _proofs(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    proofs = value if isinstance(value, list) else [value]
    if len(proofs) > MAX_PROOFS:
        raise MalformedProof(f"More than {MAX_PROOFS} proofs.")
    if not all(isinstance(p, dict) for p in proofs):
        raise MalformedProof("Every proof must be a JSON object.")
    return proofs


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    ids = value if isinstance(value, list) else [value]
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise MalformedProof("previousProof must be a string or a list of strings.")
    return ids


def _matching_proofs(all_proofs: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """Data Integrity 1.0 §4.2 step 3 / §4.5: the proofs named by ``previousProof``."""
    by_id: dict[str, dict[str, Any]] = {}
    for proof in all_proofs:
        proof_id = proof.get("id")
        if proof_id is None:
            continue
        if not isinstance(proof_id, str):
            raise MalformedProof("A proof id must be a string.")
        if proof_id in by_id:
            raise MalformedProof(f"Two proofs share the id {proof_id[:100]!r}.")
        by_id[proof_id] = proof
    matching = []
    for proof_id in wanted:
        if proof_id not in by_id:
            raise PreviousProofMissing(
                f"The previous proof {proof_id[:100]!r} is not in the document.",
                extra={"previous_proof": proof_id[:100]},
            )
        matching.append(by_id[proof_id])
    return matching


def _with_proofs(unsecured: dict[str, Any], proofs: list[dict[str, Any]]) -> dict[str, Any]:
    if not proofs:
        return unsecured
    return {**unsecured, "proof": proofs}


def _format_datetime(value: datetime, name: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ProofOptionsError(f"{name} must be a timezone-aware datetime.")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise MalformedProof(f"The proof's {name} is not an XML Schema dateTimeStamp.")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedProof(f"The proof's {name} is not a valid date and time.") from exc


def _required_string(proof: Mapping[str, Any], name: str) -> str:
    value = proof.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedProof(f"The proof has no {name}.")
    return value


def _check_required_context(suite: Cryptosuite, document: Mapping[str, Any]) -> None:
    if suite.required_context is None:
        return
    contexts = document.get("@context")
    contexts = contexts if isinstance(contexts, list) else [contexts]
    if suite.required_context not in contexts:
        raise MalformedProof(
            f"A {suite.name} proof needs the context {suite.required_context} "
            "in the secured document."
        )


# ------------------------------------------------------------------------------------ add a proof


def create_proof(
    suite: Cryptosuite,
    unsecured: Mapping[str, Any],
    options: Mapping[str, Any],
    signer: Signer,
    loader: DocumentLoader,
) -> tuple[dict[str, Any], HashData]:
    """Suite "Create Proof" (EdDSA §3.2.1 / §3.3.1, ECDSA §3.3.1): the proof and its hash data."""
    proof = dict(options)
    if suite.context_in_proof and "@context" in unsecured:
        proof["@context"] = unsecured["@context"]
    data = hash_data(suite, unsecured, proof, loader)
    signature = signer.sign(data.combined)
    proof["proofValue"] = encode_base58btc(signature)  # multibase base58btc (EdDSA §2.2.1)
    return proof, data


def add_proof(
    document: Mapping[str, Any],
    *,
    signer: Signer,
    cryptosuite: str,
    loader: DocumentLoader,
    created: datetime | None = None,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | list[str] | None = None,
    expires: datetime | None = None,
    previous_proof: str | list[str] | None = None,
    proof_id: str | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` with one more proof (Data Integrity 1.0 §4.1, §4.2).

    Existing proofs are kept: the result's ``proof`` is a list when there is more than one (a
    proof set). With ``previous_proof`` the named proofs are signed along (a proof chain).
    """
    suite = _suite(cryptosuite)
    if signer.algorithm != suite.algorithm:
        raise ProofOptionsError(
            f"{suite.name} needs a {suite.algorithm} signer, not {signer.algorithm}."
        )
    if not isinstance(proof_purpose, str) or not proof_purpose:
        raise ProofOptionsError("proof_purpose must be a non-empty string.")
    secured = _snapshot(document)
    existing = _proofs(secured.pop("proof", None))
    _check_required_context(suite, secured)

    # Data Integrity 1.0 §2.1: the proof's members
    options: dict[str, Any] = {}
    if proof_id is not None:
        options["id"] = proof_id
    options["type"] = suite.proof_type
    if suite.is_data_integrity_proof:
        options["cryptosuite"] = suite.name
    if created is not None:
        options["created"] = _format_datetime(created, "created")
    if expires is not None:
        options["expires"] = _format_datetime(expires, "expires")
    options["verificationMethod"] = signer.key_id
    options["proofPurpose"] = proof_purpose
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        if not (
            isinstance(domain, str)
            or (isinstance(domain, list) and domain and all(isinstance(d, str) for d in domain))
        ):
            raise ProofOptionsError("domain must be a string or a non-empty list of strings.")
        options["domain"] = domain
    wanted: list[str] = []
    if previous_proof is not None:
        try:
            wanted = _ids(previous_proof)
        except MalformedProof as exc:
            raise ProofOptionsError(exc.detail) from exc
        options["previousProof"] = previous_proof

    # §4.2 Add Proof Set/Chain: sign the unsecured document plus the matching previous proofs
    matching = _matching_proofs(existing, wanted)
    if proof_id is not None and any(p.get("id") == proof_id for p in existing):
        raise ProofOptionsError(f"A proof with id {proof_id!r} already exists.")
    proof, _ = create_proof(suite, _with_proofs(secured, matching), options, signer, loader)
    all_proofs = [*existing, proof]
    secured["proof"] = all_proofs[0] if len(all_proofs) == 1 else all_proofs
    return secured


# --------------------------------------------------------------------------------- verify proofs


def _check_options(
    proof: Mapping[str, Any],
    *,
    now: datetime,
    expected_purpose: str,
    challenge: str | None,
    domain: str | None,
) -> tuple[datetime | None, datetime | None]:
    """Data Integrity 1.0 §4.3 steps on the proof's options, before any cryptography."""
    purpose = _required_string(proof, "proofPurpose")
    if purpose != expected_purpose:
        raise PurposeMismatch(f"The proof is for {purpose[:60]!r}, not {expected_purpose!r}.")
    created = _parse_datetime(proof.get("created"), "created")
    expires = _parse_datetime(proof.get("expires"), "expires")
    if expires is not None and now > expires:
        raise ProofExpired("The proof has expired.", extra={"expires": proof["expires"]})
    if domain is not None:
        proof_domain = proof.get("domain")
        domains = proof_domain if isinstance(proof_domain, list) else [proof_domain]
        if domain not in domains:
            raise DomainMismatch("The proof's domain is not the expected one.")
    if challenge is not None and proof.get("challenge") != challenge:
        raise ChallengeMismatch("The proof's challenge is not the expected one.")
    return created, expires


def _check_proof_context(
    proof: Mapping[str, Any], unsecured: dict[str, Any], loader: DocumentLoader
) -> None:
    """A proof that carries ``@context`` (eddsa-jcs-2022 §3.3.1) must name the document's own.

    EdDSA §3.3.2 step 4 only asks that the document's @context *begin* with the proof's and then
    verifies over the proof's, so contexts appended after signing would go unsigned yet change the
    meaning of terms; Taito refuses them. The document is first expanded as it stands so an unknown
    or lossy added context is reported as such.
    """
    if "@context" not in proof or proof["@context"] == unsecured.get("@context"):
        return
    expand(unsecured, loader)
    raise MalformedProof("The proof's @context is not the document's @context.")


def _verify_one(
    proof: dict[str, Any],
    unsecured: dict[str, Any],
    *,
    resolve_key: KeyResolver,
    loader: DocumentLoader,
    now: datetime,
    expected_purpose: str,
    challenge: str | None,
    domain: str | None,
    cryptosuites: Collection[str] | None,
) -> VerifiedProof:
    proof_type = _required_string(proof, "type")
    if proof_type == "DataIntegrityProof":
        suite = _suite(_required_string(proof, "cryptosuite"), cryptosuites)
    else:
        suite = _suite(proof_type, cryptosuites)
        if suite.is_data_integrity_proof:  # a cryptosuite name used as a type
            raise MalformedProof(f"A {suite.name} proof has type DataIntegrityProof.")
    proof_value = _required_string(proof, "proofValue")
    method_id = _required_string(proof, "verificationMethod")
    try:
        signature = decode_base58btc(proof_value)
    except TaitoError as exc:
        raise MalformedProof("The proofValue is not base58btc multibase.") from exc
    created, expires = _check_options(
        proof, now=now, expected_purpose=expected_purpose, challenge=challenge, domain=domain
    )
    _check_required_context(suite, unsecured)
    _check_proof_context(proof, unsecured, loader)

    try:
        method = resolve_key(method_id)
    except TaitoError as exc:
        raise VerificationMethodError(
            f"The verification method cannot be resolved: {exc.detail}", extra={"cause": exc.code}
        ) from exc
    if not isinstance(method, VerificationMethod) or method.public_key.key_type != suite.key_type:
        raise VerificationMethodError(f"{suite.name} needs an {suite.key_type} key.")

    options = {k: v for k, v in proof.items() if k != "proofValue"}
    data = hash_data(suite, unsecured, options, loader)
    try:
        method.public_key.verify(signature, data.combined)
    except InvalidSignature as exc:
        raise ProofInvalidSignature(
            f"The {suite.name} proof by {method_id[:200]} does not verify.",
            extra={"verification_method": method_id},
        ) from exc
    return VerifiedProof(
        cryptosuite=suite.name,
        proof_type=proof_type,
        verification_method=method.id,
        controller=method.controller,
        proof_purpose=proof["proofPurpose"],
        created=created,
        expires=expires,
        proof_id=proof.get("id") if isinstance(proof.get("id"), str) else None,
        previous_proof=tuple(_ids(proof.get("previousProof"))),
    )


def verify_proofs(
    document: Mapping[str, Any],
    *,
    resolve_key: KeyResolver,
    loader: DocumentLoader,
    now: datetime,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    cryptosuites: Collection[str] | None = None,
) -> list[VerifiedProof]:
    """Verify every proof of ``document`` (Data Integrity 1.0 §4.3 and §4.5, sets and chains).

    Each proof is verified over the document without proofs, plus — for a chained proof — the
    proofs its ``previousProof`` names. Raises the first failure; returns one
    :class:`VerifiedProof` per proof, in document order.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ProofOptionsError("now must be a timezone-aware datetime.")
    secured = _snapshot(document)
    proofs = _proofs(secured.pop("proof", None))
    if not proofs:
        raise ProofMissing("The document has no proof.")
    _matching_proofs(proofs, [])  # proof ids must be unique
    results = []
    for proof in proofs:
        matching = _matching_proofs(proofs, _ids(proof.get("previousProof")))
        results.append(
            _verify_one(
                proof,
                _with_proofs(secured, matching),
                resolve_key=resolve_key,
                loader=loader,
                now=now,
                expected_purpose=expected_purpose,
                challenge=challenge,
                domain=domain,
                cryptosuites=cryptosuites,
            )
        )
    return results
