"""``eddsa-rdfc-2022`` (Data Integrity EdDSA Cryptosuites v1.0 §3.2): Ed25519 over RDFC-1.0."""

from __future__ import annotations

from keys.data_integrity.canonicalization import rdfc_1_0
from keys.data_integrity.cryptosuite import Cryptosuite

EDDSA_RDFC_2022 = Cryptosuite(
    name="eddsa-rdfc-2022",
    proof_type="DataIntegrityProof",
    key_type="ed25519",
    canonicalize=rdfc_1_0,  # §3.2.4 Transformation: RDFC-1.0
    spec="Data Integrity EdDSA Cryptosuites v1.0 §3.2",
)
