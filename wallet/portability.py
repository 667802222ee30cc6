"""Export everything a learner holds as one archive encrypted with their passphrase, and import
such an archive into a wallet (this Taito or another).

Archive layout (all one file)::

    b"TAITO-WALLET 1\\n"
    header line: JSON {"kdf": "argon2id", "t", "m", "p", "salt", "nonce"} + b"\\n"
    AES-256-GCM(key, nonce, gzip(JSON payload), aad = magic || header line)

The key is derived from the passphrase with argon2id (RFC 9106 §3; parameters in the header,
bounded on import). The payload holds every credential exactly as received (base64), its
metadata and last report, and the learner's holder keys (private JWKs, so credentials bound to
them keep working). A wrong passphrase and a tampered archive both fail the GCM tag: a typed
400 ``wrong_passphrase`` and nothing is imported. Import is one transaction.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, select

from keys.did import default_method_id
from keys.jwk import private_key_from_jwk
from keys.store import StoredKey
from schemas import strict_json
from schemas.errors import TaitoError
from verifier.credential import VerifyOptions
from wallet import storage
from wallet.context import WalletContext
from wallet.errors import InvalidArchive, WrongPassphrase
from wallet.metadata import parse_date
from wallet.tables import Learner

MAGIC = b"TAITO-WALLET 1\n"
FORMAT = "taito-wallet-export/1"
KDF_DEFAULTS = {"t": 3, "m": 64 * 1024, "p": 1}  # RFC 9106 §4 second recommended option (m KiB)
KDF_LIMITS = {"t": (1, 10), "m": (8 * 1024, 256 * 1024), "p": (1, 8)}
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidArchive(f"The archive's {what} is missing.")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InvalidArchive(f"The archive's {what} is not base64.") from exc


def _derive(passphrase: str, salt: bytes, t: int, m: int, p: int) -> bytes:
    return hash_secret_raw(passphrase.encode(), salt, t, m, p, 32, Type.ID)


def export_archive(
    session: Session,
    context: WalletContext,
    learner: Learner,
    passphrase: str,
    *,
    kdf: dict[str, int] | None = None,
    random: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Everything the learner holds, encrypted under ``passphrase``."""
    credentials = []
    for row in storage.credentials_of(session, learner):
        decrypted = storage.decrypt_row(context, learner, row)
        credentials.append(
            {
                "raw": _b64(decrypted.raw),
                "media_type": row.media_type,
                "source": row.source,
                "added_at": row.added_at.isoformat(),
                "accepted_unverified": row.accepted_unverified,
                "name": row.name,
                "issuer_id": row.issuer_id,
                "status": row.status,
                "report": row.report,
            }
        )
    store = context.keys()
    keys = [
        {
            "kid": row.kid,
            "active": row.active,
            "private_jwk": store.private_key(row).to_jwk(),
        }
        for row in store.keys(session, learner.key_owner)
    ]
    payload = {
        "format": FORMAT,
        "exported_at": context.clock().isoformat(),
        "learner": {"email": learner.email, "display_name": learner.display_name},
        "credentials": credentials,
        "holder_keys": keys,
    }
    return seal_archive(payload, passphrase, kdf=kdf, random=random)


def seal_archive(
    payload: dict[str, Any],
    passphrase: str,
    *,
    kdf: dict[str, int] | None = None,
    random: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """``payload`` as an archive under ``passphrase`` (the inverse of :func:`open_archive`)."""
    params = {**KDF_DEFAULTS, **(kdf or {})}
    salt, nonce = random(16), random(12)
    header = json.dumps(
        {"kdf": "argon2id", **params, "salt": _b64(salt), "nonce": _b64(nonce)},
        separators=(",", ":"),
    ).encode()
    key = _derive(passphrase, salt, params["t"], params["m"], params["p"])
    body = gzip.compress(json.dumps(payload, separators=(",", ":")).encode())
    return MAGIC + header + b"\n" + AESGCM(key).encrypt(nonce, body, MAGIC + header)


def open_archive(archive: bytes, passphrase: str) -> dict[str, Any]:
    """The payload of an archive; :class:`WrongPassphrase` / :class:`InvalidArchive` otherwise."""
    if not archive.startswith(MAGIC):
        raise InvalidArchive("The file is not a Taito wallet archive.")
    header_line, newline, ciphertext = archive[len(MAGIC) :].partition(b"\n")
    if not newline or len(header_line) > 1024:
        raise InvalidArchive("The archive's header is missing or too long.")
    try:
        header = strict_json.loads(header_line)
    except TaitoError as exc:
        raise InvalidArchive("The archive's header is not JSON.") from exc
    if not isinstance(header, dict) or header.get("kdf") != "argon2id":
        raise InvalidArchive("The archive's key derivation is not argon2id.")
    params = {}
    for name, (low, high) in KDF_LIMITS.items():
        value = header.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidArchive(f"The archive's argon2id parameter {name} is out of bounds.")
        params[name] = value
    salt, nonce = _unb64(header.get("salt"), "salt"), _unb64(header.get("nonce"), "nonce")
    if len(nonce) != 12 or len(salt) < 8:
        raise InvalidArchive("The archive's salt or nonce has the wrong size.")
    key = _derive(passphrase, salt, params["t"], params["m"], params["p"])
    try:
        body = AESGCM(key).decrypt(nonce, ciphertext, MAGIC + header_line)
    except InvalidTag as exc:
        raise WrongPassphrase(
            "The archive does not open with this passphrase (or it was altered)."
        ) from exc
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
            plain = unzipped.read(MAX_PAYLOAD_BYTES + 1)
        payload = strict_json.loads(plain, max_bytes=MAX_PAYLOAD_BYTES)
    except (OSError, EOFError, TaitoError) as exc:
        raise InvalidArchive("The archive's content is not readable.") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InvalidArchive("The archive is not a Taito wallet export of a known version.")
    if not isinstance(payload.get("credentials"), list):
        raise InvalidArchive("The archive lists no credentials.")
    return payload


@dataclass
class ImportResult:
    imported: int = 0
    skipped_duplicates: int = 0
    unverified: int = 0
    holder_keys: int = 0


def _import_keys(session: Session, context: WalletContext, learner: Learner, keys: Any) -> int:
    """Holder keys of the archive become the learner's (inactive: the current ones stay the
    default). Each is named by its own public key (the archive's names are not trusted); a key
    already in this server's store is skipped."""
    added = 0
    store = context.keys()
    for entry in keys if isinstance(keys, list) else []:
        if not isinstance(entry, dict) or entry.get("private_jwk") is None:
            raise InvalidArchive("A holder key in the archive has no private JWK.")
        try:
            key = private_key_from_jwk(entry["private_jwk"])
        except TaitoError as exc:
            raise InvalidArchive("A holder key in the archive is not a valid JWK.") from exc
        if key.key_type not in ("ed25519", "p256"):
            raise InvalidArchive("A holder key in the archive is neither Ed25519 nor P-256.")
        kid = default_method_id(key.public_key())
        if _kid_taken(session, kid):
            continue
        store.add(session, learner.key_owner, key, kid, active=False)
        added += 1
    return added


def _kid_taken(session: Session, kid: str) -> bool:
    return session.exec(select(StoredKey.id).where(StoredKey.kid == kid)).first() is not None


def import_archive(
    session: Session,
    context: WalletContext,
    learner: Learner,
    archive: bytes,
    passphrase: str,
    *,
    options: VerifyOptions | None = None,
) -> ImportResult:
    """Open the archive and add its credentials (re-verified now; each is kept, flagged when it
    no longer verifies) and holder keys to ``learner``'s wallet. All or nothing."""
    payload = open_archive(archive, passphrase)
    result = ImportResult()
    try:
        for entry in payload["credentials"]:
            if not isinstance(entry, dict):
                raise InvalidArchive("A credential entry of the archive is not an object.")
            received = storage.receive(
                _unb64(entry.get("raw"), "credential"),
                entry.get("media_type") if isinstance(entry.get("media_type"), str) else None,
            )
            if storage.existing_duplicate(session, learner, received.content_hash):
                result.skipped_duplicates += 1
                continue
            report = storage.verify_received(context, received, options)
            row = storage.store_credential(
                session,
                context,
                learner,
                received,
                report,
                accept_unverified=True,
                source="import",
                added_at=parse_date(entry.get("added_at")) or context.clock(),
            )
            result.imported += 1
            result.unverified += not row.verified
        result.holder_keys = _import_keys(session, context, learner, payload.get("holder_keys"))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result
