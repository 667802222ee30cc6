"""Presentations: the learner shows chosen credentials to one audience, bound to their key.

Two kinds (``POST /wallet/presentations``):

- ``ldp_vp``: a W3C Verifiable Presentation (VC Data Model 2.0 §4.13) of JSON-LD credentials,
  secured with a Data Integrity proof whose ``proofPurpose`` is ``authentication`` and which
  carries the verifier's ``challenge`` and ``domain`` (Data Integrity 1.0 §2.1, §4.1), made with
  the holder key named by the credentials' ``credentialSubject.id``.
- ``dc+sd-jwt``: one SD-JWT VC with only the chosen Disclosures, followed by a Key Binding JWT
  (RFC 9901 §4.3: ``nonce``, ``aud``, ``iat``, ``sd_hash``) signed with the key in ``cnf.jwk``.

The building blocks (:func:`data_integrity_presentation`, :func:`sd_jwt_presentation`,
:func:`bound_key`) are plain functions over credentials and a :class:`~keys.signing.Signer`;
:func:`create_presentation` reads the learner's stored credentials and holder keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlmodel import Session

from keys import data_integrity, jose
from keys.did import did_jwk, did_jwk_method_id, did_key, did_key_method_id, resolve_offline
from keys.jwk import PublicKey, public_key_from_jwk
from keys.sd_jwt import processing
from keys.sd_jwt.holder import present
from keys.signing import KeySigner, Signer
from schemas import strict_json
from schemas.errors import TaitoError
from schemas.vcdm import BASE_CONTEXT_V1, BASE_CONTEXT_V2
from wallet import storage
from wallet.context import WalletContext
from wallet.share_errors import HolderKeyMissing, MixedHolderKeys, NotPresentable
from wallet.tables import Learner, new_id

PresentationFormat = Literal["ldp_vp", "dc+sd-jwt"]
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
# The cryptosuite a holder key signs a Data Integrity presentation with, by key type.
CRYPTOSUITE_FOR_KEY = {"ed25519": "eddsa-rdfc-2022", "p256": "ecdsa-rdfc-2019"}
KEY_TYPE_OF_SUITE = {
    "eddsa-rdfc-2022": "ed25519",
    "eddsa-jcs-2022": "ed25519",
    "ecdsa-rdfc-2019": "p256",
}
MEDIA_TYPES = {"ldp_vp": "application/vp+ld+json", "dc+sd-jwt": "application/dc+sd-jwt"}
MAX_CREDENTIALS = 20


class Binding(NamedTuple):
    """The key a credential is bound to, and the DID that names it there (W3C only)."""

    key: PublicKey
    did: str | None


# ----------------------------------------------------------------------------- plain functions


def _subjects(document: Mapping[str, Any]) -> list[Any]:
    subject = document.get("credentialSubject")
    return subject if isinstance(subject, list) else [subject]


def bound_key(credential: Mapping[str, Any] | str) -> Binding | None:
    """The holder key a credential is bound to, or ``None`` when it names none Taito can resolve.

    SD-JWT VC: ``cnf.jwk`` (RFC 7800 §3.2). W3C: a ``credentialSubject.id`` that is a ``did:key``
    or ``did:jwk`` (VC 2.0 §4.4: the subject the claims are about).
    """
    if isinstance(credential, str):
        claims = sd_jwt_claims(credential)
        cnf = claims.get("cnf")
        jwk = cnf.get("jwk") if isinstance(cnf, Mapping) else None
        if not isinstance(jwk, Mapping):
            return None
        try:
            return Binding(public_key_from_jwk(dict(jwk)), None)
        except TaitoError:
            return None
    for subject in _subjects(credential):
        subject_id = subject.get("id") if isinstance(subject, Mapping) else None
        if isinstance(subject_id, str) and subject_id.startswith(("did:key:", "did:jwk:")):
            try:
                return Binding(resolve_offline(subject_id).public_key, subject_id.split("#")[0])
            except TaitoError:
                continue
    return None


def sd_jwt_claims(sd_jwt: str) -> dict[str, Any]:
    """The claims of an SD-JWT with every Disclosure it carries applied (not verified here:
    the wallet verified the credential when it was imported)."""
    try:
        parts = processing.split(sd_jwt.strip())
        payload = strict_json.loads(jose.decode_unverified(parts.issuer_jwt).payload)
        if not isinstance(payload, Mapping):
            raise NotPresentable("The SD-JWT's payload is not a JSON object.")
        return dict(
            processing.process(
                payload, parts.disclosures, str(payload.get("_sd_alg", "sha-256"))
            ).claims
        )
    except NotPresentable:
        raise
    except TaitoError as exc:
        raise NotPresentable(f"The stored SD-JWT cannot be read: {exc.detail}") from exc


def presentation_context(credentials: Sequence[Mapping[str, Any]]) -> list[str]:
    """The presentation's ``@context``: the data model version of its credentials (VC 2.0
    §4.3), plus the Data Integrity vocabulary that VC 1.1 did not include."""
    versions = set()
    for credential in credentials:
        contexts = credential.get("@context")
        first = contexts[0] if isinstance(contexts, list) and contexts else contexts
        versions.add(first)
    if versions == {BASE_CONTEXT_V2}:
        return [BASE_CONTEXT_V2]
    if versions == {BASE_CONTEXT_V1}:
        return [BASE_CONTEXT_V1, DATA_INTEGRITY_CONTEXT]
    raise NotPresentable(
        "One presentation holds credentials of one data model version (VC 1.1 or VC 2.0): "
        "present these separately."
    )


def data_integrity_presentation(
    credentials: Sequence[Mapping[str, Any]],
    *,
    holder: str,
    signer: Signer,
    cryptosuite: str,
    loader: Callable[..., Any],
    challenge: str,
    domain: str | None,
    created: datetime,
    presentation_id: str,
) -> dict[str, Any]:
    """A Verifiable Presentation of ``credentials`` (each embedded exactly as signed) with an
    ``authentication`` proof over ``challenge`` / ``domain`` (Data Integrity 1.0 §4.1)."""
    if not credentials:
        raise NotPresentable("Choose at least one credential to present.")
    unsecured = {
        "@context": presentation_context(credentials),
        "id": presentation_id,
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [dict(c) for c in credentials],
    }
    return data_integrity.add_proof(
        unsecured,
        signer=signer,
        cryptosuite=cryptosuite,
        loader=loader,
        created=created,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


def sd_jwt_presentation(
    sd_jwt: str,
    *,
    reveal: Sequence[str] | None,
    signer: Signer,
    nonce: str,
    audience: str,
    iat: datetime,
) -> str:
    """The SD-JWT with only the Disclosures for ``reveal`` (JSON Pointers; None: all) and a
    KB-JWT over ``nonce`` / ``audience`` (RFC 9901 §4.3, §7.2)."""
    return present(
        sd_jwt.strip(),
        reveal=list(reveal) if reveal is not None else None,
        holder=signer,
        nonce=nonce,
        audience=audience,
        iat=iat,
    )


def disclosed_only(sd_jwt: str, reveal: Sequence[str] | None) -> str:
    """The SD-JWT with only the Disclosures for ``reveal`` and no key binding (a share link)."""
    return present(sd_jwt.strip(), reveal=list(reveal) if reveal is not None else None)


# ------------------------------------------------------------------------------- the use case


class HolderSigner(NamedTuple):
    signer: Signer
    did: str  # the DID of the presentation's ``holder``
    key_type: str


def holder_signer(
    session: Session, context: WalletContext, learner: Learner, binding: Binding | None
) -> HolderSigner:
    """The learner's key for ``binding`` (any of their keys, also a rotated one); without a
    binding, their active Ed25519 key named by did:key."""
    store = context.keys()
    rows = store.keys(session, learner.key_owner)
    if binding is None:
        row = store.active(session, learner.key_owner, "ed25519") or store.create(
            session, learner.key_owner, "ed25519"
        )
    else:
        match = next((r for r in rows if r.public_key == binding.key), None)
        if match is None:
            raise HolderKeyMissing(
                "The credential is bound to a key that is not in this wallet, so it cannot be "
                "presented as yours."
            )
        row = match
    public = row.public_key
    if binding is not None and binding.did is not None and binding.did.startswith("did:jwk:"):
        did, kid = did_jwk(public), did_jwk_method_id(public)
    else:
        did, kid = did_key(public), did_key_method_id(public)
    return HolderSigner(KeySigner(store.private_key(row), kid), did, row.key_type)


@dataclass(frozen=True)
class Chosen:
    credential_id: str
    reveal: list[str] | None = None  # SD-JWT: JSON Pointers of the claims to disclose


@dataclass(frozen=True)
class Presentation:
    format: PresentationFormat
    presentation: dict[str, Any] | str
    holder: str  # the holder's DID (ldp_vp) or the JWK thumbprint of the cnf key (dc+sd-jwt)
    credential_ids: list[str]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def _common_binding(bindings: Sequence[Binding | None]) -> Binding | None:
    keys = {b.key for b in bindings if b is not None}
    if len(keys) > 1:
        raise MixedHolderKeys(
            "These credentials are bound to different holder keys: present them separately."
        )
    return next((b for b in bindings if b is not None), None)


def create_presentation(
    session: Session,
    context: WalletContext,
    learner: Learner,
    *,
    format: PresentationFormat,
    chosen: Sequence[Chosen],
    challenge: str | None = None,
    domain: str | None = None,
    nonce: str | None = None,
    audience: str | None = None,
    cryptosuite: str | None = None,
) -> Presentation:
    """Present the learner's chosen credentials (404 for an id that is not theirs). A holder key
    made on first use is flushed; the caller commits."""
    if not chosen:
        raise NotPresentable("Choose at least one credential to present.")
    if len(chosen) > MAX_CREDENTIALS:
        raise NotPresentable(f"A presentation holds at most {MAX_CREDENTIALS} credentials.")
    decrypted = [
        storage.get_decrypted(session, context, learner, item.credential_id) for item in chosen
    ]
    ids = [d.row.id for d in decrypted]
    now = context.clock()
    if format == "dc+sd-jwt":
        if len(chosen) != 1:
            raise NotPresentable("An SD-JWT presentation carries exactly one credential.")
        credential = decrypted[0]
        if credential.row.format != "dc+sd-jwt":
            raise NotPresentable(
                f"Credential {credential.row.id} is {credential.row.format}, not an SD-JWT VC: "
                "present it as ldp_vp or share it by link."
            )
        binding = bound_key(credential.credential)
        if binding is None:
            raise NotPresentable(
                "This SD-JWT VC names no holder key (cnf), so a presentation cannot be bound "
                "to you: share it by link instead."
            )
        holder = holder_signer(session, context, learner, binding)
        assert nonce is not None and audience is not None  # the request model requires them
        token = sd_jwt_presentation(
            credential.credential,
            reveal=chosen[0].reveal,
            signer=holder.signer,
            nonce=nonce,
            audience=audience,
            iat=now,
        )
        return Presentation(format, token, binding.key.thumbprint(), ids)
    documents: list[dict[str, Any]] = []
    for item, credential in zip(chosen, decrypted, strict=True):
        document = credential.json() if credential.row.format == "ldp_vc" else None
        if not isinstance(document, dict):
            raise NotPresentable(
                f"Credential {credential.row.id} is {credential.row.format}: a Data Integrity "
                "presentation carries JSON-LD credentials (ldp_vc) only."
            )
        if item.reveal is not None:
            raise NotPresentable("Claims are chosen for SD-JWT VCs only; remove 'reveal'.")
        documents.append(document)
    binding = _common_binding([bound_key(d) for d in documents])
    holder = holder_signer(session, context, learner, binding)
    suite = cryptosuite or CRYPTOSUITE_FOR_KEY[holder.key_type]
    if KEY_TYPE_OF_SUITE.get(suite) != holder.key_type:
        raise NotPresentable(
            f"The holder key of these credentials ({holder.key_type}) cannot sign {suite}."
        )
    assert challenge is not None  # the request model requires it
    vp = data_integrity_presentation(
        documents,
        holder=holder.did,
        signer=holder.signer,
        cryptosuite=suite,
        loader=context.verifier.loader,
        challenge=challenge,
        domain=domain,
        created=now,
        presentation_id=f"urn:uuid:{new_id()}",
    )
    return Presentation(format, vp, holder.did, ids)
