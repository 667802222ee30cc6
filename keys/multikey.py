"""Multibase (``z`` = base58btc) and Multikey encodings (Controlled Identifiers 1.0 §2.2.2).

Multicodec headers are unsigned varints: ``ed25519-pub`` 0xed -> ``ed 01``, ``p256-pub`` 0x1200 ->
``80 24``, ``ed25519-priv`` 0x1300 -> ``80 26``, ``p256-priv`` 0x1306 -> ``86 26``.
"""

from __future__ import annotations

import base58

from keys.errors import InvalidKey, InvalidMultibase, UnsupportedKeyType
from keys.jwk import (
    PrivateKey,
    PublicKey,
    ed25519_from_seed,
    ed25519_public,
    p256_from_scalar,
    p256_public,
)

ED25519_PUB = b"\xed\x01"
P256_PUB = b"\x80\x24"
ED25519_PRIV = b"\x80\x26"
P256_PRIV = b"\x86\x26"
MAX_MULTIBASE_CHARS = 4096


def encode_base58btc(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")


def decode_base58btc(text: str) -> bytes:
    """Decode a ``z``-prefixed base58btc multibase string, strictly."""
    if not isinstance(text, str) or not text.startswith("z") or len(text) < 2:
        raise InvalidMultibase("Expected a multibase value starting with 'z' (base58btc).")
    if len(text) > MAX_MULTIBASE_CHARS:
        raise InvalidMultibase("The multibase value is too long.")
    try:
        return base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidMultibase("The multibase value has characters outside base58btc.") from exc


def encode_public(key: PublicKey) -> str:
    """``publicKeyMultibase`` for an Ed25519 or P-256 key."""
    header = {"ed25519": ED25519_PUB, "p256": P256_PUB}.get(key.key_type)
    if header is None:
        raise UnsupportedKeyType(f"No Multikey encoding for {key.key_type} keys.")
    return encode_base58btc(header + key.raw_bytes())


def decode_public(text: str) -> PublicKey:
    data = decode_base58btc(text)
    header, body = data[:2], data[2:]
    if header == ED25519_PUB:
        if len(body) != 32:
            raise InvalidKey(f"An Ed25519 Multikey holds 32 bytes, got {len(body)}.")
        return ed25519_public(body)
    if header == P256_PUB:
        if len(body) != 33:
            raise InvalidKey(f"A P-256 Multikey holds a 33-byte compressed point, got {len(body)}.")
        return p256_public(body)
    raise UnsupportedKeyType(f"Unsupported Multikey header 0x{header.hex()}.")


def encode_private(key: PrivateKey) -> str:
    """``secretKeyMultibase`` for an Ed25519 or P-256 key. A secret: never log it."""
    header = {"ed25519": ED25519_PRIV, "p256": P256_PRIV}.get(key.key_type)
    if header is None:
        raise UnsupportedKeyType(f"No Multikey encoding for {key.key_type} keys.")
    return encode_base58btc(header + key.private_bytes())


def decode_private(text: str) -> PrivateKey:
    data = decode_base58btc(text)
    header, body = data[:2], data[2:]
    if header == ED25519_PRIV:
        if len(body) == 64:  # seed || public key, as some libraries write it
            key = ed25519_from_seed(body[:32])
            if key.public_key().raw_bytes() != body[32:]:
                raise InvalidKey("The Ed25519 secret key's public half does not match its seed.")
            return key
        return ed25519_from_seed(body)
    if header == P256_PRIV:
        return p256_from_scalar(body)
    raise UnsupportedKeyType(f"Unsupported Multikey secret header 0x{header.hex()}.")
