"""One signer interface for every format (STYLE.md: ``Signer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from keys.did import default_method_id
from keys.jwk import PrivateKey


class Signer(Protocol):
    @property
    def algorithm(self) -> str:
        """JOSE name: "EdDSA", "ES256", "RS256"."""

    @property
    def key_id(self) -> str:
        """A DID URL naming the verification method, e.g. "did:key:z6Mk...#z6Mk..."."""

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, repr=False)
class KeySigner:
    """A :class:`Signer` over an in-memory private key."""

    key: PrivateKey
    key_id: str

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def __repr__(self) -> str:
        return f"KeySigner({self.key_id!r}, {self.algorithm})"

    @classmethod
    def for_key(cls, key: PrivateKey, key_id: str | None = None) -> KeySigner:
        return cls(key, key_id or default_method_id(key.public_key()))
