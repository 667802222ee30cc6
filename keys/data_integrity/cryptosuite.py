"""A cryptosuite is a small frozen value (STYLE.md); the shared transform/hash steps live here.

Every suite Taito implements follows the same three steps (EdDSA Cryptosuites v1.0 §3.2.4-§3.2.6,
§3.3.4-§3.3.6; ECDSA Cryptosuites v1.0 §3.3.4-§3.3.6):

1. *transformation*: canonicalise the unsecured document (RDFC-1.0 or JCS);
2. *proof configuration*: the proof options without ``proofValue``, with ``@context`` set to the
   document's ``@context``, canonicalised the same way;
3. *hashing*: ``hashData = H(canonical proof configuration) || H(canonical document)``.

The signature is over ``hashData`` (Ed25519 signs it as is; ECDSA P-256 signs it with SHA-256).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from keys.jwk import JOSE_ALGORITHM, KeyType
from schemas.contexts import DocumentLoader

Canonicalize = Callable[[Mapping[str, Any], DocumentLoader], bytes]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Cryptosuite:
    name: str  # the ``cryptosuite`` value, or the legacy proof ``type``
    proof_type: str  # "DataIntegrityProof", or a legacy type such as "Ed25519Signature2020"
    key_type: KeyType
    canonicalize: Canonicalize
    hash: Callable[[bytes], bytes] = sha256
    context_in_proof: bool = False  # eddsa-jcs-2022 §3.3.1: the proof keeps the document @context
    required_context: str | None = None  # a context the secured document must name
    spec: str = ""

    @property
    def algorithm(self) -> str:
        """The JOSE name of the signature algorithm a :class:`keys.signing.Signer` reports."""
        return JOSE_ALGORITHM[self.key_type]

    @property
    def is_data_integrity_proof(self) -> bool:
        return self.proof_type == "DataIntegrityProof"


@dataclass(frozen=True)
class HashData:
    """Every intermediate value of the transform and hash steps (compared with spec vectors)."""

    canonical_document: bytes
    canonical_proof_config: bytes
    document_hash: bytes
    proof_config_hash: bytes

    @property
    def combined(self) -> bytes:
        # EdDSA §3.2.6 / ECDSA §3.3.6: proofConfigHash followed by transformedDocumentHash
        return self.proof_config_hash + self.document_hash


def proof_configuration(
    unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]
) -> dict[str, Any]:
    """The proof configuration (EdDSA §3.2.5 / ECDSA §3.3.5): options minus ``proofValue``, with
    ``@context`` set to the unsecured document's ``@context``."""
    config = {k: v for k, v in proof_options.items() if k not in ("proofValue", "@context")}
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return config


def hash_data(
    suite: Cryptosuite,
    unsecured: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: DocumentLoader,
) -> HashData:
    canonical_document = suite.canonicalize(unsecured, loader)
    canonical_config = suite.canonicalize(proof_configuration(unsecured, proof_options), loader)
    return HashData(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        document_hash=suite.hash(canonical_document),
        proof_config_hash=suite.hash(canonical_config),
    )
