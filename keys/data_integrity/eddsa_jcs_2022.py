"""``eddsa-jcs-2022`` (Data Integrity EdDSA Cryptosuites v1.0 §3.3): Ed25519 over JCS (RFC 8785).

JCS itself ignores JSON-LD, but a document with an ``@context`` is still expanded in safe mode
first (VC Data Model 2.0 §4.1: a credential must not rely on terms its contexts leave undefined),
so an undefined term is refused here just as under the RDFC suites.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keys.data_integrity.canonicalization import expand, jcs
from keys.data_integrity.cryptosuite import Cryptosuite
from schemas.contexts import DocumentLoader


def canonicalize(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    if "@context" in document:
        expand(document, loader)
    return jcs(document)  # §3.3.4 Transformation: JCS


EDDSA_JCS_2022 = Cryptosuite(
    name="eddsa-jcs-2022",
    proof_type="DataIntegrityProof",
    key_type="ed25519",
    canonicalize=canonicalize,
    context_in_proof=True,  # §3.3.1 Create Proof: proof.@context = unsecuredDocument.@context
    spec="Data Integrity EdDSA Cryptosuites v1.0 §3.3",
)
