"""W3C Data Integrity 1.0 proofs with the EdDSA (v1.0) and ECDSA (v1.0) cryptosuites.

Modules follow the specifications: ``proofs`` (Data Integrity 1.0 §4: add, verify, sets, chains),
``cryptosuite`` (the suite value and the shared transform/hash steps), ``canonicalization``
(RDFC-1.0 with data-loss detection, JCS), one module per suite, ``errors``.
"""

from keys.data_integrity.cryptosuite import Cryptosuite, HashData, hash_data, proof_configuration
from keys.data_integrity.errors import (
    ChallengeMismatch,
    DomainMismatch,
    InvalidDocument,
    InvalidJsonLd,
    MalformedProof,
    PreviousProofMissing,
    ProofError,
    ProofExpired,
    ProofInvalidSignature,
    ProofMissing,
    ProofOptionsError,
    ProofUnknownContext,
    PurposeMismatch,
    RelativeIri,
    UndefinedTerm,
    UnsupportedCryptosuite,
    VerificationMethodError,
)
from keys.data_integrity.proofs import (
    CRYPTOSUITES,
    KeyResolver,
    VerifiedProof,
    add_proof,
    create_proof,
    verify_proofs,
)

__all__ = [
    "CRYPTOSUITES",
    "ChallengeMismatch",
    "Cryptosuite",
    "DomainMismatch",
    "HashData",
    "InvalidDocument",
    "InvalidJsonLd",
    "KeyResolver",
    "MalformedProof",
    "PreviousProofMissing",
    "ProofError",
    "ProofExpired",
    "ProofInvalidSignature",
    "ProofMissing",
    "ProofOptionsError",
    "ProofUnknownContext",
    "PurposeMismatch",
    "RelativeIri",
    "UndefinedTerm",
    "UnsupportedCryptosuite",
    "VerificationMethodError",
    "VerifiedProof",
    "add_proof",
    "create_proof",
    "hash_data",
    "proof_configuration",
    "verify_proofs",
]
