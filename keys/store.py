"""The key store: private keys sealed with AES-256-GCM under a key-encryption key (KEK).

The KEK is derived from ``TAITO_MASTER_KEY`` with HKDF-SHA256 (RFC 5869). Each sealed key is
``b"\\x01" || nonce(12) || ciphertext+tag`` and its AAD binds the row's owner and ``kid``, so a
sealed blob moved to another row does not open. A wrong master key raises :class:`KeyStoreError`
with no key material in the message.

This is the one module of ``keys`` that declares a table; it does no I/O itself: every function
takes the caller's SQLModel ``Session`` (the caller owns the transaction).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, Session, SQLModel, col, select

from keys import base64url
from keys.did import default_method_id
from keys.errors import InvalidKey, KeyStoreError
from keys.jwk import (
    KeyType,
    PrivateKey,
    PublicKey,
    generate,
    private_key_from_jwk,
    public_key_from_jwk,
)
from keys.signing import KeySigner

_VERSION = b"\x01"
_Row = TypeVar("_Row", bound=SQLModel)
MIN_MASTER_KEY_BYTES = 32


def _key_encryption(master_key: str, name: str) -> AESGCM:
    try:
        secret = base64url.decode(master_key)
    except Exception as exc:
        raise InvalidKey(f"{name} must be base64url.") from exc
    if len(secret) < MIN_MASTER_KEY_BYTES:
        raise InvalidKey(f"{name} must hold at least {MIN_MASTER_KEY_BYTES} bytes.")
    kek = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"taito key-encryption-key v1"
    ).derive(secret)
    return AESGCM(kek)


class KeyVault:
    """Seals and opens private JWKs. Build it once from the master key.

    Master-key rotation: ``previous`` keys open what they sealed, and only the current key seals,
    so a service restarted with a new ``TAITO_MASTER_KEY`` and the old one as
    ``TAITO_MASTER_KEY_PREVIOUS`` keeps working while :meth:`reseal` (``taito keys rewrap``) moves
    every sealed blob to the new key; then the previous key is dropped.
    """

    def __init__(self, master_key: str, previous: Sequence[str] = ()) -> None:
        self._aead = _key_encryption(master_key, "TAITO_MASTER_KEY")
        self._previous = [_key_encryption(k, "TAITO_MASTER_KEY_PREVIOUS") for k in previous]

    def __repr__(self) -> str:
        return "KeyVault(<sealed>)"

    @staticmethod
    def new_master_key() -> str:
        return base64url.encode(os.urandom(32))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        return self._open(sealed, aad)[0]

    def reseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        """``sealed`` sealed again under the current master key, or ``None`` when it already is
        (:class:`KeyStoreError` when no key of this vault opens it)."""
        plaintext, current = self._open(sealed, aad)
        return None if current else self.seal(plaintext, aad)

    def _open(self, sealed: bytes, aad: bytes) -> tuple[bytes, bool]:
        """The plaintext, and whether the current master key sealed it."""
        if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
            raise KeyStoreError("A stored key is not in a format this version reads.")
        for aead in (self._aead, *self._previous):
            try:
                return aead.decrypt(sealed[1:13], sealed[13:], aad), aead is self._aead
            except InvalidTag:
                continue
        raise KeyStoreError(
            "A stored key cannot be opened: neither TAITO_MASTER_KEY nor (if set) "
            "TAITO_MASTER_KEY_PREVIOUS is the key it was sealed with."
        )


class StoredKey(SQLModel, table=True):
    __tablename__ = "key"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True, max_length=200)
    kid: str = Field(unique=True, max_length=2048)
    key_type: str = Field(max_length=16)
    algorithm: str = Field(max_length=16)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sealed_private: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    active: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def __repr__(self) -> str:  # never show the sealed blob
        return f"StoredKey(kid={self.kid!r}, owner={self.owner!r}, active={self.active})"

    @property
    def public_key(self) -> PublicKey:
        return public_key_from_jwk(self.public_jwk)


def _aad(owner: str, kid: str) -> bytes:
    return json.dumps([owner, kid]).encode()


class KeyStore:
    """Create, rotate and load keys for an owner (``issuer:<slug>``, ``learner:<id>``, ...)."""

    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def add(
        self,
        session: Session,
        owner: str,
        key: PrivateKey,
        kid: str | None = None,
        *,
        active: bool = True,
    ) -> StoredKey:
        kid = kid or default_method_id(key.public_key())
        plaintext = json.dumps(key.to_jwk()).encode()
        row = StoredKey(
            owner=owner,
            kid=kid,
            key_type=key.key_type,
            algorithm=key.algorithm,
            public_jwk=key.public_key().to_jwk(),
            sealed_private=self.vault.seal(plaintext, _aad(owner, kid)),
            active=active,
        )
        session.add(row)
        session.flush()
        return row

    def create(
        self, session: Session, owner: str, key_type: KeyType, kid: str | None = None
    ) -> StoredKey:
        return self.add(session, owner, generate(key_type), kid)

    def rotate(
        self, session: Session, owner: str, key_type: KeyType, kid: str | None = None
    ) -> StoredKey:
        """A new key becomes the active one of its type; older keys stay for verification."""
        for row in session.exec(
            select(StoredKey).where(
                StoredKey.owner == owner, StoredKey.key_type == key_type, col(StoredKey.active)
            )
        ):
            row.active = False
            session.add(row)
        return self.create(session, owner, key_type, kid)

    def keys(self, session: Session, owner: str) -> list[StoredKey]:
        return list(
            session.exec(
                select(StoredKey).where(StoredKey.owner == owner).order_by(col(StoredKey.id))
            )
        )

    def active(
        self, session: Session, owner: str, key_type: KeyType | None = None
    ) -> StoredKey | None:
        query = select(StoredKey).where(StoredKey.owner == owner, col(StoredKey.active))
        if key_type is not None:
            query = query.where(StoredKey.key_type == key_type)
        return session.exec(query.order_by(col(StoredKey.id).desc())).first()

    def private_key(self, row: StoredKey) -> PrivateKey:
        plaintext = self.vault.open(row.sealed_private, _aad(row.owner, row.kid))
        return private_key_from_jwk(json.loads(plaintext))

    def signer(self, row: StoredKey) -> KeySigner:
        return KeySigner(self.private_key(row), row.kid)

    def reseal_all(self, session: Session, *, check_only: bool = False) -> tuple[int, int]:
        """Every stored key sealed under the current master key (:func:`reseal_table`)."""
        return reseal_table(
            session,
            self.vault,
            StoredKey,
            "sealed_private",
            lambda row: _aad(row.owner, row.kid),
            check_only=check_only,
        )


RESEAL_PAGE = 500
_PRIMARY_KEY = "id"  # of every table reseal_table is given


def reseal_table(
    session: Session,
    vault: KeyVault,
    model: type[_Row],
    column: str,
    aad: Callable[[_Row], bytes],
    *,
    check_only: bool = False,
) -> tuple[int, int]:
    """Each row's sealed ``column`` sealed again under the current master key
    (:meth:`KeyVault.reseal`); returns (re-sealed, already current). The table is read in pages
    of :data:`RESEAL_PAGE` rows by primary key, each page committed in its own transaction and
    then let go, so neither memory nor row locks grow with the table; while the previous key is
    configured every blob opens whichever key sealed it, so a run cut short leaves nothing
    unreadable, and a second run finishes it. ``check_only``: open every blob, change and commit
    nothing (a blob no master key of the vault opens raises :class:`KeyStoreError`).
    """
    key = col(getattr(model, _PRIMARY_KEY))
    resealed = current = 0
    last: Any = None
    while True:
        query = select(model).order_by(key).limit(RESEAL_PAGE)
        if last is not None:
            query = query.where(key > last)
        rows = session.exec(query).all()
        if not rows:
            return resealed, current
        for row in rows:
            sealed = vault.reseal(getattr(row, column), aad(row))
            if sealed is None:
                current += 1
                continue
            resealed += 1
            if not check_only:
                setattr(row, column, sealed)
                session.add(row)
        last = getattr(rows[-1], _PRIMARY_KEY)
        if not check_only:
            session.commit()
        session.expunge_all()
