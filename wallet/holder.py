"""Holder keys: each learner has an Ed25519 and a P-256 key in the key store (``key`` table,
owner ``learner:<id>``), sealed under the master key like every private key in Taito.

They bind credentials to the learner (``cnf`` of SD-JWT VCs, RFC 7800 §3.2) and sign
presentations. A key is named by ``did:key`` (its ``kid`` in the store) or, on request, by
``did:jwk`` (``did:jwk:<base64url JWK>#0``); both name the same public key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from sqlmodel import Session

from keys.did import did_jwk, did_jwk_method_id, did_key, did_key_method_id
from keys.jwk import KeyType, public_key_from_jwk
from keys.signing import KeySigner, Signer
from keys.store import StoredKey
from schemas.errors import TaitoError
from wallet.context import WalletContext
from wallet.tables import Learner

HolderAlgorithm = Literal["EdDSA", "ES256"]
DidMethod = Literal["did:key", "did:jwk"]
KEY_TYPE: dict[str, KeyType] = {"EdDSA": "ed25519", "ES256": "p256"}


class HolderKey(NamedTuple):
    """A holder key ready to sign: ``signer.key_id == kid`` (a DID URL of ``did``)."""

    signer: Signer
    did: str
    kid: str
    public_jwk: dict[str, Any]


def ensure_holder_keys(session: Session, context: WalletContext, learner: Learner) -> None:
    """Create the learner's Ed25519 and P-256 keys if they are missing (in the caller's
    transaction)."""
    store = context.keys()
    for key_type in ("ed25519", "p256"):
        if store.active(session, learner.key_owner, key_type) is None:
            store.create(session, learner.key_owner, key_type)


def _row(
    session: Session, context: WalletContext, learner: Learner, key_type: KeyType
) -> StoredKey:
    store = context.keys()
    row = store.active(session, learner.key_owner, key_type)
    if row is None:
        row = store.create(session, learner.key_owner, key_type)
    return row


def _named(context: WalletContext, row: StoredKey, did_method: DidMethod) -> HolderKey:
    public = row.public_key
    if did_method == "did:jwk":
        did, kid = did_jwk(public), did_jwk_method_id(public)
    else:
        did, kid = did_key(public), did_key_method_id(public)
    return HolderKey(
        KeySigner(context.keys().private_key(row), kid), did, kid, dict(row.public_jwk)
    )


def holder_key(
    session: Session,
    context: WalletContext,
    learner: Learner,
    alg: HolderAlgorithm = "EdDSA",
    *,
    did_method: DidMethod = "did:key",
) -> HolderKey:
    """The learner's active holder key for ``alg`` ("EdDSA" or "ES256"), as
    ``(signer, did, kid, public_jwk)``; created on first use (the caller commits).

    ``did_method`` picks how the key is named: ``did:key`` (default) or ``did:jwk``.
    """
    if alg not in KEY_TYPE:
        raise ValueError(f"holder keys are EdDSA or ES256, not {alg!r}")
    return _named(context, _row(session, context, learner, KEY_TYPE[alg]), did_method)


def holder_key_for(
    session: Session,
    context: WalletContext,
    learner: Learner,
    public_jwk: Mapping[str, Any],
    *,
    did_method: DidMethod = "did:key",
) -> HolderKey | None:
    """The learner's key (active or not) whose public JWK is ``public_jwk`` (e.g. the ``cnf.jwk``
    of an SD-JWT VC, RFC 7800 §3.2), or ``None`` when the learner holds no such key."""
    try:
        wanted = public_key_from_jwk(dict(public_jwk)).thumbprint()
    except TaitoError:
        return None
    store = context.keys()
    for row in store.keys(session, learner.key_owner):
        if row.public_key.thumbprint() == wanted:
            return _named(context, row, did_method)
    return None


def holder_dids(session: Session, context: WalletContext, learner: Learner) -> list[dict[str, Any]]:
    """Public view of every holder key of the learner: algorithm, DIDs, public JWK, active."""
    result = []
    for row in context.keys().keys(session, learner.key_owner):
        public = row.public_key
        result.append(
            {
                "algorithm": row.algorithm,
                "did_key": did_key(public),
                "did_jwk": did_jwk(public),
                "kid": did_key_method_id(public),
                "public_jwk": dict(row.public_jwk),
                "active": row.active,
                "created_at": row.created_at,
            }
        )
    return result
