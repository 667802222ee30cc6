"""Asymmetric keys as values: generate, sign, verify, JWK (RFC 7517/7518/8037), thumbprints (RFC 7638).

Three key types cover every format Taito speaks:

============  =========  ===========================================================
``key_type``  JOSE alg   used for
============  =========  ===========================================================
``ed25519``   EdDSA      Data Integrity eddsa-*, VC-JWT, SD-JWT (default)
``p256``      ES256      ecdsa-rdfc-2019, SD-JWT VC (EU wallets), JAdES
``rsa``       RS256      the Open Badges 3.0 VC-JWT minimum (RSA >= 2048 bits)
============  =========  ===========================================================

ECDSA signatures are the fixed-size ``r || s`` form (IEEE P1363) that both JOSE (RFC 7518 §3.4)
and Data Integrity ECDSA (vc-di-ecdsa §3.3) use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast, get_args

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from keys import base64url
from keys.errors import InvalidKey, InvalidSignature, UnsupportedKeyType
from schemas.errors import TaitoError

KeyType = Literal["ed25519", "p256", "rsa"]
KEY_TYPES: tuple[KeyType, ...] = get_args(KeyType)
JOSE_ALGORITHM: dict[KeyType, str] = {"ed25519": "EdDSA", "p256": "ES256", "rsa": "RS256"}
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192

_PublicRaw: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_PrivateRaw: TypeAlias = Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


_PUBLIC_CLASS: dict[str, type] = {
    "ed25519": Ed25519PublicKey,
    "p256": ec.EllipticCurvePublicKey,
    "rsa": rsa.RSAPublicKey,
}

# Stateless algorithm objects, built once rather than on every signature check.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _int_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return base64url.encode(value.to_bytes(size, "big"))


def _b64_int(value: Any, field: str, *, length: int | None = None) -> int:
    raw = _b64_bytes(value, field, length=length)
    return int.from_bytes(raw, "big")


def _b64_bytes(value: Any, field: str, *, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise InvalidKey(f"JWK member '{field}' must be a base64url string.")
    try:
        raw = base64url.decode(value)
    except TaitoError as exc:
        raise InvalidKey(f"JWK member '{field}' is not base64url.") from exc
    if length is not None and len(raw) != length:
        raise InvalidKey(f"JWK member '{field}' must be {length} bytes, got {len(raw)}.")
    return raw


@dataclass(frozen=True, eq=False)
class PublicKey:
    """A public key of one of :data:`KEY_TYPES`."""

    key_type: KeyType
    raw: _PublicRaw

    def __post_init__(self) -> None:
        if not isinstance(self.raw, _PUBLIC_CLASS.get(self.key_type, ())):
            raise UnsupportedKeyType(f"A {self.key_type!r} public key cannot hold this key.")
        if self.key_type == "p256" and not isinstance(
            cast(ec.EllipticCurvePublicKey, self.raw).curve, ec.SECP256R1
        ):
            raise UnsupportedKeyType("A 'p256' public key is on the P-256 curve.")

    @property
    def algorithm(self) -> str:
        return JOSE_ALGORITHM[self.key_type]

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise :class:`InvalidSignature` unless ``signature`` is this key's over ``data``."""
        # by key_type, which __post_init__ ties to the raw key's class: isinstance against
        # cryptography's abstract classes costs a few hundred ns a call on the verification path
        key_type, raw = self.key_type, self.raw
        try:
            if key_type == "ed25519":
                cast(Ed25519PublicKey, raw).verify(signature, data)
            elif key_type == "p256":
                if len(signature) != 64:
                    raise InvalidSignature("An ES256 signature is 64 bytes (r || s).")
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                cast(ec.EllipticCurvePublicKey, raw).verify(
                    encode_dss_signature(r, s), data, _ECDSA_SHA256
                )
            else:
                cast(rsa.RSAPublicKey, raw).verify(signature, data, _PKCS1V15, _SHA256)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature("The signature does not match the key and data.") from exc

    def to_jwk(self) -> dict[str, str]:
        if isinstance(self.raw, Ed25519PublicKey):
            return {"kty": "OKP", "crv": "Ed25519", "x": base64url.encode(self.raw_bytes())}
        if isinstance(self.raw, ec.EllipticCurvePublicKey):
            numbers = self.raw.public_numbers()
            return {
                "kty": "EC",
                "crv": "P-256",
                "x": _int_b64(numbers.x, 32),
                "y": _int_b64(numbers.y, 32),
            }
        rsa_numbers = self.raw.public_numbers()
        return {"kty": "RSA", "n": _int_b64(rsa_numbers.n), "e": _int_b64(rsa_numbers.e)}

    def raw_bytes(self) -> bytes:
        """Ed25519: the 32-byte key; P-256: the 33-byte compressed point (SEC 1 §2.3.3)."""
        from cryptography.hazmat.primitives import serialization as ser

        if isinstance(self.raw, Ed25519PublicKey):
            return self.raw.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        if isinstance(self.raw, ec.EllipticCurvePublicKey):
            return self.raw.public_bytes(ser.Encoding.X962, ser.PublicFormat.CompressedPoint)
        raise UnsupportedKeyType("RSA keys have no raw multikey form here.")

    def thumbprint(self) -> str:
        """JWK thumbprint, SHA-256, base64url (RFC 7638 §3)."""
        jwk = self.to_jwk()
        required = {
            "OKP": ("crv", "kty", "x"),
            "EC": ("crv", "kty", "x", "y"),
            "RSA": ("e", "kty", "n"),
        }
        canonical = {k: jwk[k] for k in required[jwk["kty"]]}
        text = json.dumps(canonical, separators=(",", ":"), sort_keys=True)
        return base64url.encode(hashlib.sha256(text.encode()).digest())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.to_jwk() == other.to_jwk()

    def __hash__(self) -> int:
        return hash(self.thumbprint())


@dataclass(frozen=True, eq=False, repr=False)
class PrivateKey:
    """A private key. Its ``repr`` never shows key material."""

    key_type: KeyType
    raw: _PrivateRaw

    def __repr__(self) -> str:
        return f"PrivateKey({self.key_type}, public={self.public_key().thumbprint()})"

    __str__ = __repr__

    @property
    def algorithm(self) -> str:
        return JOSE_ALGORITHM[self.key_type]

    def public_key(self) -> PublicKey:
        return PublicKey(self.key_type, self.raw.public_key())

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.raw, Ed25519PrivateKey):
            return self.raw.sign(data)
        if isinstance(self.raw, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self.raw.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.raw.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def to_jwk(self) -> dict[str, str]:
        """The private JWK. Handle it as a secret: it is never logged or returned by the API."""
        from cryptography.hazmat.primitives import serialization as ser

        jwk = self.public_key().to_jwk()
        if isinstance(self.raw, Ed25519PrivateKey):
            seed = self.raw.private_bytes(
                ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()
            )
            jwk["d"] = base64url.encode(seed)
        elif isinstance(self.raw, ec.EllipticCurvePrivateKey):
            jwk["d"] = _int_b64(self.raw.private_numbers().private_value, 32)
        else:
            n = self.raw.private_numbers()
            jwk.update(
                d=_int_b64(n.d),
                p=_int_b64(n.p),
                q=_int_b64(n.q),
                dp=_int_b64(n.dmp1),
                dq=_int_b64(n.dmq1),
                qi=_int_b64(n.iqmp),
            )
        return jwk

    def private_bytes(self) -> bytes:
        """Ed25519: 32-byte seed; P-256: 32-byte scalar (for Multikey secret keys)."""
        from cryptography.hazmat.primitives import serialization as ser

        if isinstance(self.raw, Ed25519PrivateKey):
            return self.raw.private_bytes(
                ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()
            )
        if isinstance(self.raw, ec.EllipticCurvePrivateKey):
            return self.raw.private_numbers().private_value.to_bytes(32, "big")
        raise UnsupportedKeyType("RSA keys have no raw multikey form here.")


def generate(key_type: KeyType, *, rsa_bits: int = MIN_RSA_BITS) -> PrivateKey:
    if key_type == "ed25519":
        return PrivateKey("ed25519", Ed25519PrivateKey.generate())
    if key_type == "p256":
        return PrivateKey("p256", ec.generate_private_key(ec.SECP256R1()))
    if key_type == "rsa":
        if not MIN_RSA_BITS <= rsa_bits <= MAX_RSA_BITS:
            raise InvalidKey(f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits.")
        return PrivateKey("rsa", rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits))
    raise UnsupportedKeyType(
        f"Unknown key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}."
    )


def ed25519_from_seed(seed: bytes) -> PrivateKey:
    if len(seed) != 32:
        raise InvalidKey(f"An Ed25519 private key is 32 bytes, got {len(seed)}.")
    return PrivateKey("ed25519", Ed25519PrivateKey.from_private_bytes(seed))


def ed25519_public(raw: bytes) -> PublicKey:
    if len(raw) != 32:
        raise InvalidKey(f"An Ed25519 public key is 32 bytes, got {len(raw)}.")
    return PublicKey("ed25519", Ed25519PublicKey.from_public_bytes(raw))


def p256_from_scalar(scalar: bytes) -> PrivateKey:
    if len(scalar) != 32:
        raise InvalidKey(f"A P-256 private key is 32 bytes, got {len(scalar)}.")
    try:
        return PrivateKey(
            "p256", ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        )
    except ValueError as exc:
        raise InvalidKey("The P-256 private scalar is out of range.") from exc


def p256_public(point: bytes) -> PublicKey:
    """From a compressed (33 B) or uncompressed (65 B) SEC 1 point; the point must be on the curve."""
    if len(point) not in (33, 65):
        raise InvalidKey(f"A P-256 public key is 33 or 65 bytes, got {len(point)}.")
    try:
        return PublicKey(
            "p256", ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        )
    except ValueError as exc:
        raise InvalidKey("The P-256 point is not on the curve.") from exc


def _check_object(jwk: Any) -> Mapping[str, Any]:
    if not isinstance(jwk, Mapping):
        raise InvalidKey("A JWK must be a JSON object.")
    return jwk


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """Import a public JWK (private members, if present, are ignored)."""
    jwk = _check_object(jwk)
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return ed25519_public(_b64_bytes(jwk.get("x"), "x", length=32))
    if kty == "EC" and crv == "P-256":
        x = _b64_bytes(jwk.get("x"), "x", length=32)
        y = _b64_bytes(jwk.get("y"), "y", length=32)
        return p256_public(b"\x04" + x + y)
    if kty == "RSA":
        n, e = _b64_int(jwk.get("n"), "n"), _b64_int(jwk.get("e"), "e")
        if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
            raise InvalidKey(f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits.")
        if e < 3 or e % 2 == 0:
            raise InvalidKey("The RSA public exponent is not valid.")
        return PublicKey("rsa", rsa.RSAPublicNumbers(e, n).public_key())
    raise UnsupportedKeyType(f"Unsupported JWK kty={kty!r} crv={crv!r}.")


def private_key_from_jwk(jwk: Any) -> PrivateKey:
    """Import a private JWK; the public members must belong to the private key."""
    jwk = _check_object(jwk)
    if "d" not in jwk:
        raise InvalidKey("The JWK has no private key member 'd'.")
    public = public_key_from_jwk(jwk)
    private: PrivateKey
    if public.key_type == "ed25519":
        private = ed25519_from_seed(_b64_bytes(jwk["d"], "d", length=32))
    elif public.key_type == "p256":
        private = p256_from_scalar(_b64_bytes(jwk["d"], "d", length=32))
    else:
        pub = cast(rsa.RSAPublicKey, public.raw).public_numbers()
        try:
            numbers = rsa.RSAPrivateNumbers(
                p=_b64_int(jwk.get("p"), "p"),
                q=_b64_int(jwk.get("q"), "q"),
                d=_b64_int(jwk["d"], "d"),
                dmp1=_b64_int(jwk.get("dp"), "dp"),
                dmq1=_b64_int(jwk.get("dq"), "dq"),
                iqmp=_b64_int(jwk.get("qi"), "qi"),
                public_numbers=pub,
            )
            private = PrivateKey("rsa", numbers.private_key())
        except ValueError as exc:
            raise InvalidKey("The RSA private key numbers are not consistent.") from exc
    if private.public_key() != public:
        raise InvalidKey("The JWK's public members do not belong to its private key.")
    return private
