"""``Ed25519Signature2020``: the legacy suite (Ed25519 Signature 2020, W3C CCG), kept to verify
credentials issued before ``eddsa-rdfc-2022``. Same steps as eddsa-rdfc-2022 with the proof
``type`` naming the suite (no ``cryptosuite`` member) and the terms in its own context, which the
secured document must name (EdDSA Cryptosuites v1.0 Appendix B.3 vectors)."""

from __future__ import annotations

from keys.data_integrity.canonicalization import rdfc_1_0
from keys.data_integrity.cryptosuite import Cryptosuite

ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"

ED25519_SIGNATURE_2020 = Cryptosuite(
    name="Ed25519Signature2020",
    proof_type="Ed25519Signature2020",
    key_type="ed25519",
    canonicalize=rdfc_1_0,
    required_context=ED25519_2020_CONTEXT,
    spec="Ed25519 Signature 2020 (W3C CCG)",
)
