"""Access tokens and refresh tokens of the wallet.

Access tokens are short-lived JWTs (RFC 9068 ``at+jwt``) signed with HS256 under a server secret
derived from the master key by HKDF (RFC 5869), so every process of a deployment accepts them and
none stores them. Only this module issues and reads them, so the parser accepts exactly one header
and compares the MAC in constant time before it looks at the payload.

Refresh tokens are opaque random strings stored as their SHA-256 (``refresh_token`` rows).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys import base64url
from wallet.errors import Unauthorized

AUDIENCE = "taito-wallet"
_HEADER = base64url.encode(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
REFRESH_PREFIX = "rt_"


def derive_secret(master_key: str, purpose: str) -> bytes:
    """A 32-byte server secret for ``purpose`` derived from the master key (HKDF-SHA256)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"taito {purpose} v1".encode()
    ).derive(master_key.encode())


def _mac(secret: bytes, signing_input: str) -> str:
    return base64url.encode(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class AccessClaims:
    learner_id: str  # sub
    session_id: str  # sid: the refresh-token family of the sign-in that issued the token


def issue_access_token(
    secret: bytes,
    *,
    learner_id: str,
    session_id: str,
    issuer: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """An access token of the sign-in ``session_id`` (its refresh-token family): when the family
    is revoked (sign-out, password change), the access token dies with it."""
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": learner_id,
        "sid": session_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    payload = base64url.encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_HEADER}.{payload}"
    return f"{signing_input}.{_mac(secret, signing_input)}"


def read_access_token(
    secret: bytes,
    token: str,
    *,
    issuer: str,
    now: datetime,
    previous: Sequence[bytes] = (),
) -> AccessClaims:
    """The learner and sign-in of a valid, unexpired token; :class:`Unauthorized` otherwise.
    ``previous``: the secrets of a master key being rotated out, whose tokens stay valid until
    they expire."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _HEADER:
        raise Unauthorized("The access token is not valid.")
    signing_input = f"{parts[0]}.{parts[1]}"
    if not any(hmac.compare_digest(_mac(s, signing_input), parts[2]) for s in (secret, *previous)):
        raise Unauthorized("The access token is not valid.")
    try:
        claims: Any = json.loads(base64url.decode(parts[1]))
    except Exception as exc:
        raise Unauthorized("The access token is not valid.") from exc
    if (
        not isinstance(claims, dict)
        or claims.get("iss") != issuer
        or claims.get("aud") != AUDIENCE
        or not isinstance(claims.get("sub"), str)
        or not isinstance(claims.get("sid"), str)
        or not isinstance(claims.get("exp"), int)
    ):
        raise Unauthorized("The access token is not valid.")
    if claims["exp"] <= now.timestamp():
        raise Unauthorized("The access token has expired: refresh it.")
    return AccessClaims(str(claims["sub"]), str(claims["sid"]))


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
