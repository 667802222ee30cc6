"""Envelope encryption of what a learner stores.

Each learner has a random AES-256 data key, kept only wrapped (sealed) by the master key through
:class:`keys.store.KeyVault` with an AAD naming the learner; each credential is encrypted with
AES-256-GCM under that data key with an AAD binding the learner id and the credential id, so a
blob moved to another row or another learner does not open. Deleting the learner's row destroys
the wrapped key (crypto-shredding): backups of credential rows alone are unreadable.

Blob layout: ``b"\\x01" || nonce(12) || ciphertext+tag``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

from keys.errors import KeyStoreError
from keys.store import KeyVault, reseal_table
from wallet.errors import CorruptCredential
from wallet.tables import Learner

_VERSION = b"\x01"
DATA_KEY_BYTES = 32


def _key_aad(learner_id: str) -> bytes:
    return json.dumps(["wallet-data-key", learner_id]).encode()


def _blob_aad(learner_id: str, credential_id: str) -> bytes:
    return json.dumps(["wallet-credential", learner_id, credential_id]).encode()


def new_wrapped_key(
    vault: KeyVault, learner_id: str, random: Callable[[int], bytes] = os.urandom
) -> bytes:
    """A fresh data key for ``learner_id``, sealed by the master key."""
    return vault.seal(random(DATA_KEY_BYTES), _key_aad(learner_id))


def unwrap(vault: KeyVault, learner_id: str, wrapped: bytes) -> bytes:
    try:
        return vault.open(wrapped, _key_aad(learner_id))
    except KeyStoreError as exc:
        raise CorruptCredential(
            "The wallet's data key cannot be opened with this server's master key."
        ) from exc


def reseal_data_keys(
    session: Session, vault: KeyVault, *, check_only: bool = False
) -> tuple[int, int]:
    """Every learner's data key sealed under the current master key
    (:func:`keys.store.reseal_table`); the credentials, encrypted under the data keys, are not
    touched."""
    return reseal_table(
        session,
        vault,
        Learner,
        "wrapped_data_key",
        lambda learner: _key_aad(learner.id),
        check_only=check_only,
    )


def encrypt(data_key: bytes, learner_id: str, credential_id: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return (
        _VERSION
        + nonce
        + AESGCM(data_key).encrypt(nonce, plaintext, _blob_aad(learner_id, credential_id))
    )


def decrypt(data_key: bytes, learner_id: str, credential_id: str, blob: bytes) -> bytes:
    if len(blob) < 1 + 12 + 16 or blob[:1] != _VERSION:
        raise CorruptCredential("A stored credential is not in a format this version reads.")
    try:
        return AESGCM(data_key).decrypt(blob[1:13], blob[13:], _blob_aad(learner_id, credential_id))
    except InvalidTag as exc:
        raise CorruptCredential(
            "A stored credential does not open: it was altered or belongs elsewhere."
        ) from exc
