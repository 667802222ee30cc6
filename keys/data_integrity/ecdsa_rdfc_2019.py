"""``ecdsa-rdfc-2019`` (Data Integrity ECDSA Cryptosuites v1.0 §3.3) with P-256 and SHA-256.

P-384 / SHA-384 (also allowed by §3.3) is not supported: Taito keys are Ed25519, P-256 or RSA.
The signature is IEEE P1363 ``r || s`` (64 bytes), as :meth:`keys.jwk.PrivateKey.sign` returns.
"""

from __future__ import annotations

from keys.data_integrity.canonicalization import rdfc_1_0
from keys.data_integrity.cryptosuite import Cryptosuite, sha256

ECDSA_RDFC_2019 = Cryptosuite(
    name="ecdsa-rdfc-2019",
    proof_type="DataIntegrityProof",
    key_type="p256",
    canonicalize=rdfc_1_0,  # §3.3.4 Transformation: RDFC-1.0
    hash=sha256,  # §3.3.6 Hashing: SHA-256 for P-256
    spec="Data Integrity ECDSA Cryptosuites v1.0 §3.3",
)
