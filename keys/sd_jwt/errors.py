"""Typed errors of SD-JWT (RFC 9901) and SD-JWT VC.

::

    KeysError (keys.errors)
    └── SdJwtError                         sd_jwt_error
        ├── MalformedSdJwt                 malformed_sd_jwt         not ``<JWT>~<D>~...~[KB-JWT]``, bad base64url/JSON
        ├── UnsupportedAlgorithm           unsupported_algorithm    alg none, HS*, not allowed, or not the key's
        ├── InvalidTyp                     invalid_typ              issuer JWT ``typ`` not expected
        ├── InvalidIssuerSignature         invalid_issuer_signature (also an ``InvalidSignature``)
        ├── UnsupportedDigestAlgorithm     unsupported_sd_alg       ``_sd_alg`` we do not compute
        ├── MalformedDisclosure            malformed_disclosure     not a 2/3-element array, bad salt/name
        │   └── DisclosedClaimExists       disclosed_claim_exists   a disclosed name already in the object
        ├── DuplicateDisclosure            duplicate_disclosure     the same Disclosure twice
        ├── DuplicateDigest                duplicate_digest         a digest referenced twice in the payload
        ├── UnreferencedDisclosure         unreferenced_disclosure  a Disclosure no digest names (forged/extra)
        ├── InvalidClaim                   invalid_claim            exp/nbf/iat/cnf/vct of the wrong shape
        ├── Expired                        sd_jwt_expired
        ├── NotYetValid                    sd_jwt_not_yet_valid
        ├── IssuedInFuture                 sd_jwt_issued_in_future
        ├── KeyBindingError                key_binding_invalid
        │   ├── KeyBindingRequired         kb_required              no KB-JWT where one is required
        │   ├── MissingConfirmationKey     kb_no_cnf                a KB-JWT but no ``cnf.jwk``
        │   ├── InvalidKbTyp               kb_invalid_typ           ``typ`` is not ``kb+jwt``
        │   ├── MalformedKeyBinding        kb_malformed             missing/ill-typed iat, aud, nonce, sd_hash
        │   ├── InvalidKbSignature         kb_invalid_signature     (also an ``InvalidSignature``)
        │   ├── SdHashMismatch             kb_sd_hash_mismatch
        │   ├── NonceMismatch              kb_nonce_mismatch
        │   ├── AudienceMismatch           kb_audience_mismatch
        │   └── KeyBindingTime             kb_iat_out_of_window     stale or in the future
        ├── InvalidPointer                 invalid_json_pointer     RFC 6901 syntax, or names nothing
        ├── IssuanceError                  sd_jwt_issuance          bad arguments to ``issue``
        │   ├── NonDisclosableClaim        non_disclosable_claim    vct, iss, iat, exp, nbf, cnf, status
        │   └── ReservedClaimName          reserved_claim_name      ``_sd``, ``...``, ``_sd_alg`` in the input
        ├── InvalidArgument                sd_jwt_invalid_argument  naive datetime, missing nonce, ...
        └── IssuerKeyUnresolved            issuer_key_unresolved    no DID in ``kid``/``iss`` to resolve offline
"""

from __future__ import annotations

from keys.errors import InvalidSignature, KeysError


class SdJwtError(KeysError):
    code = "sd_jwt_error"
    title = "SD-JWT problem"


class MalformedSdJwt(SdJwtError):
    code = "malformed_sd_jwt"
    title = "Malformed SD-JWT"


class UnsupportedAlgorithm(SdJwtError):
    code = "unsupported_algorithm"
    title = "Signature algorithm not accepted"


class InvalidTyp(SdJwtError):
    code = "invalid_typ"
    title = "Unexpected JWT type"


class InvalidIssuerSignature(SdJwtError, InvalidSignature):
    code = "invalid_issuer_signature"
    title = "The issuer signature does not verify"


class UnsupportedDigestAlgorithm(SdJwtError):
    code = "unsupported_sd_alg"
    title = "Unsupported _sd_alg"


class MalformedDisclosure(SdJwtError):
    code = "malformed_disclosure"
    title = "Malformed Disclosure"


class DisclosedClaimExists(MalformedDisclosure):
    code = "disclosed_claim_exists"
    title = "A disclosed claim name already exists"


class DuplicateDisclosure(SdJwtError):
    code = "duplicate_disclosure"
    title = "Duplicate Disclosure"


class DuplicateDigest(SdJwtError):
    code = "duplicate_digest"
    title = "Digest referenced more than once"


class UnreferencedDisclosure(SdJwtError):
    code = "unreferenced_disclosure"
    title = "Disclosure not referenced by the SD-JWT"


class InvalidClaim(SdJwtError):
    code = "invalid_claim"
    title = "Claim has the wrong form"


class Expired(SdJwtError):
    code = "sd_jwt_expired"
    title = "The SD-JWT has expired"


class NotYetValid(SdJwtError):
    code = "sd_jwt_not_yet_valid"
    title = "The SD-JWT is not yet valid"


class IssuedInFuture(SdJwtError):
    code = "sd_jwt_issued_in_future"
    title = "The SD-JWT is issued in the future"


class KeyBindingError(SdJwtError):
    code = "key_binding_invalid"
    title = "Key Binding JWT problem"


class KeyBindingRequired(KeyBindingError):
    code = "kb_required"
    title = "Key Binding JWT required"


class MissingConfirmationKey(KeyBindingError):
    code = "kb_no_cnf"
    title = "No confirmation key for the Key Binding JWT"


class InvalidKbTyp(KeyBindingError):
    code = "kb_invalid_typ"
    title = "Key Binding JWT typ is not kb+jwt"


class MalformedKeyBinding(KeyBindingError):
    code = "kb_malformed"
    title = "Malformed Key Binding JWT"


class InvalidKbSignature(KeyBindingError, InvalidSignature):
    code = "kb_invalid_signature"
    title = "The Key Binding JWT signature does not verify"


class SdHashMismatch(KeyBindingError):
    code = "kb_sd_hash_mismatch"
    title = "sd_hash does not match the presentation"


class NonceMismatch(KeyBindingError):
    code = "kb_nonce_mismatch"
    title = "Key Binding nonce mismatch"


class AudienceMismatch(KeyBindingError):
    code = "kb_audience_mismatch"
    title = "Key Binding audience mismatch"


class KeyBindingTime(KeyBindingError):
    code = "kb_iat_out_of_window"
    title = "Key Binding JWT too old or in the future"


class IssuanceError(SdJwtError):
    code = "sd_jwt_issuance"
    title = "SD-JWT cannot be issued"


class InvalidPointer(SdJwtError):
    code = "invalid_json_pointer"
    title = "Invalid JSON Pointer"


class NonDisclosableClaim(IssuanceError):
    code = "non_disclosable_claim"
    title = "Claim must not be selectively disclosable"


class ReservedClaimName(IssuanceError):
    code = "reserved_claim_name"
    title = "Reserved SD-JWT claim name in the input"


class InvalidArgument(SdJwtError):
    code = "sd_jwt_invalid_argument"
    title = "Invalid SD-JWT argument"


class IssuerKeyUnresolved(SdJwtError):
    code = "issuer_key_unresolved"
    title = "Issuer key cannot be resolved offline"
