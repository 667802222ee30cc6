"""Typed errors of Data Integrity proofs (W3C Data Integrity 1.0 §4 error types, as stable codes).

::

    KeysError (keys.errors)
    └── ProofError                  proof_error
        ├── InvalidDocument         invalid_document        not a JSON object / not JSON
        ├── ProofOptionsError       invalid_proof_options   a caller option add_proof cannot use
        ├── ProofMissing            proof_missing           nothing to verify
        ├── MalformedProof          malformed_proof         PROOF_VERIFICATION_ERROR: bad members
        ├── UnsupportedCryptosuite  unsupported_cryptosuite not one we do, or not allowed here
        ├── PreviousProofMissing    previous_proof_missing  §4.4/§4.5: a chain names an absent proof
        ├── PurposeMismatch         purpose_mismatch        §4.3: proofPurpose is not the expected one
        ├── ChallengeMismatch       challenge_mismatch      §4.3: INVALID_CHALLENGE_ERROR
        ├── DomainMismatch          domain_mismatch         §4.3: INVALID_DOMAIN_ERROR
        ├── ProofExpired            proof_expired           §2.1 expires is in the past
        ├── VerificationMethodError verification_method     unresolvable, or the wrong key type
        ├── InvalidJsonLd           invalid_json_ld         pyld refuses the document
        ├── CanonicalizationTooComplex canonicalization_limit RDFC-1.0 §4.4 work limit (poison graph)
        ├── UndefinedTerm           undefined_term          §2.4.3 data loss: a term no context defines
        ├── RelativeIri             relative_iri            §2.4.3 data loss: a relative @id / @type
        ├── ProofUnknownContext     unknown_context         also a schemas.contexts.UnknownContext
        └── ProofInvalidSignature   invalid_signature       also a keys.errors.InvalidSignature
"""

from __future__ import annotations

from keys.errors import InvalidSignature, KeysError
from schemas.contexts import UnknownContext


class ProofError(KeysError):
    code = "proof_error"
    title = "Data Integrity proof does not verify"


class InvalidDocument(ProofError):
    code = "invalid_document"
    title = "Document cannot be secured"


class ProofOptionsError(ProofError):
    code = "invalid_proof_options"
    title = "Invalid proof options"


class CanonicalizationTooComplex(ProofError):
    """RDFC-1.0 (§4.4, Security Considerations "Dataset Poisoning"): blank nodes so alike that
    Hash N-Degree Quads would try more orderings than the work limit allows; refused, not run."""

    code = "canonicalization_limit"
    title = "Document too costly to canonicalize"


class ProofMissing(ProofError):
    code = "proof_missing"
    title = "Document has no proof"


class MalformedProof(ProofError):
    code = "malformed_proof"
    title = "Malformed proof"


class UnsupportedCryptosuite(ProofError):
    code = "unsupported_cryptosuite"
    title = "Unsupported cryptosuite"


class PreviousProofMissing(ProofError):
    code = "previous_proof_missing"
    title = "Previous proof not found"


class PurposeMismatch(ProofError):
    code = "purpose_mismatch"
    title = "Proof purpose does not match"


class ChallengeMismatch(ProofError):
    code = "challenge_mismatch"
    title = "Proof challenge does not match"


class DomainMismatch(ProofError):
    code = "domain_mismatch"
    title = "Proof domain does not match"


class ProofExpired(ProofError):
    code = "proof_expired"
    title = "Proof has expired"


class VerificationMethodError(ProofError):
    code = "verification_method"
    title = "Verification method cannot be used"


class InvalidJsonLd(ProofError):
    code = "invalid_json_ld"
    title = "Document is not valid JSON-LD"


class UndefinedTerm(ProofError):
    code = "undefined_term"
    title = "Term not defined by any context"


class RelativeIri(ProofError):
    code = "relative_iri"
    title = "Relative IRI in a secured document"


class ProofUnknownContext(ProofError, UnknownContext):
    code = "unknown_context"
    title = "Unknown JSON-LD context"


class ProofInvalidSignature(ProofError, InvalidSignature):
    code = "invalid_signature"
    title = "Proof signature does not verify"
