"""SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): issue, present, verify.

Role modules as in the reference implementation: :mod:`.issuer`, :mod:`.holder`, :mod:`.verifier`;
:mod:`.disclosure` and :mod:`.processing` hold what they share; :mod:`.errors` draws the error tree.
"""

from __future__ import annotations

from keys.sd_jwt.disclosure import Disclosure, decode, digest
from keys.sd_jwt.errors import SdJwtError
from keys.sd_jwt.holder import present, sd_hash
from keys.sd_jwt.issuer import issue, random_decoys, random_salt
from keys.sd_jwt.verifier import VerifiedSdJwt, resolve_offline_issuer_key, verify

__all__ = [
    "Disclosure",
    "SdJwtError",
    "VerifiedSdJwt",
    "decode",
    "digest",
    "issue",
    "present",
    "random_decoys",
    "random_salt",
    "resolve_offline_issuer_key",
    "sd_hash",
    "verify",
]
