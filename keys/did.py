"""Decentralized identifiers Taito creates and resolves without a network.

* ``did:key`` (did:key Method v0.9 §3.1): Ed25519 ``z6Mk…`` and P-256 ``zDn…``; the verification
  method id is ``did:key:<mb>#<mb>`` and its type ``Multikey``.
* ``did:jwk`` (did:jwk spec §2): ``did:jwk:<base64url(JWK)>``; the method id is ``#0``.
* ``did:web`` (did:web Method §3.2): only *document generation* and the DID -> URL rule live here;
  fetching a remote document is the verifier's job (through its guarded HTTP client).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from keys import base64url, multikey
from keys.errors import DidError
from keys.jwk import PublicKey, public_key_from_jwk
from schemas import strict_json
from schemas.errors import TaitoError

DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"
MAX_DID_LENGTH = 8192


@dataclass(frozen=True)
class VerificationMethod:
    id: str
    controller: str
    public_key: PublicKey

    def to_json(self) -> dict[str, Any]:
        if self.public_key.key_type == "rsa":
            return {
                "id": self.id,
                "type": "JsonWebKey",
                "controller": self.controller,
                "publicKeyJwk": self.public_key.to_jwk(),
            }
        return {
            "id": self.id,
            "type": "Multikey",
            "controller": self.controller,
            "publicKeyMultibase": multikey.encode_public(self.public_key),
        }


def did_key(key: PublicKey) -> str:
    return "did:key:" + multikey.encode_public(key)


def did_key_method_id(key: PublicKey) -> str:
    mb = multikey.encode_public(key)
    return f"did:key:{mb}#{mb}"


def did_jwk(key: PublicKey) -> str:
    jwk = json.dumps(key.to_jwk(), separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + base64url.encode(jwk.encode())


def did_jwk_method_id(key: PublicKey) -> str:
    return did_jwk(key) + "#0"


def default_method_id(key: PublicKey) -> str:
    """The verification method id Taito names a bare key by: did:key, or did:jwk for RSA."""
    return did_jwk_method_id(key) if key.key_type == "rsa" else did_key_method_id(key)


def split_did_url(did_url: str) -> tuple[str, str | None]:
    if (
        not isinstance(did_url, str)
        or not did_url.startswith("did:")
        or len(did_url) > MAX_DID_LENGTH
    ):
        raise DidError("Not a DID URL.")
    did, _, fragment = did_url.partition("#")
    return did, (fragment or None)


def resolve_offline(did_url: str) -> VerificationMethod:
    """Resolve a ``did:key`` or ``did:jwk`` DID (URL) to its single verification method.

    A fragment, when given, must name that method.
    """
    did, fragment = split_did_url(did_url)
    try:
        if did.startswith("did:key:"):
            mb = did[len("did:key:") :]
            key = multikey.decode_public(mb)
            method = VerificationMethod(f"{did}#{mb}", did, key)
            expected = mb
        elif did.startswith("did:jwk:"):
            raw = base64url.decode(did[len("did:jwk:") :])
            key = public_key_from_jwk(strict_json.loads(raw, max_bytes=16384, max_depth=2))
            method = VerificationMethod(f"{did}#0", did, key)
            expected = "0"
        else:
            method_name = did.split(":")[1] if did.count(":") >= 2 else did
            raise DidError(f"The DID method '{method_name}' cannot be resolved offline.")
    except DidError:
        raise
    except (TaitoError, ValueError, UnicodeDecodeError) as exc:
        raise DidError(f"The DID cannot be decoded: {getattr(exc, 'detail', 'malformed')}") from exc
    if fragment is not None and fragment != expected:
        raise DidError(f"The DID has no verification method '#{fragment}'.")
    return method


def document_for(method: VerificationMethod) -> dict[str, Any]:
    """The DID document of a did:key / did:jwk identifier (one method, all relationships)."""
    context = [
        DID_V1_CONTEXT,
        JWK_CONTEXT if method.public_key.key_type == "rsa" else MULTIKEY_CONTEXT,
    ]
    return {
        "@context": context,
        "id": method.controller,
        "verificationMethod": [method.to_json()],
        "authentication": [method.id],
        "assertionMethod": [method.id],
        "capabilityInvocation": [method.id],
        "capabilityDelegation": [method.id],
    }


def did_web(public_url: str, *path: str) -> str:
    """did:web for an HTTPS base URL and a path: ``https://host:8443/a`` + ``b`` -> ``did:web:host%3A8443:a:b``."""
    scheme, sep, rest = public_url.partition("://")
    if not sep or scheme not in ("https", "http"):
        raise DidError("did:web needs an http(s) base URL.")
    host, _, base_path = rest.partition("/")
    segments = [s for s in base_path.split("/") if s] + [s for p in path for s in p.split("/") if s]
    return ":".join(["did:web", quote(host, safe="")] + [quote(s, safe="") for s in segments])


def did_web_url(did: str) -> str:
    """The URL of a did:web DID document (did:web §3.2.2): ``/.well-known/did.json`` or ``/path/did.json``."""
    if not did.startswith("did:web:"):
        raise DidError("Not a did:web DID.")
    parts = did[len("did:web:") :].split(":")
    host = unquote(parts[0])
    if not host or "/" in host or "@" in host:
        raise DidError("The did:web host is not valid.")
    scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    if len(parts) == 1:
        return f"{scheme}://{host}/.well-known/did.json"
    path = "/".join(unquote(p) for p in parts[1:])
    if ".." in path.split("/"):
        raise DidError("The did:web path is not valid.")
    return f"{scheme}://{host}/{path}/did.json"


def did_web_document(did: str, keys: list[tuple[str, PublicKey]]) -> dict[str, Any]:
    """A did:web document listing ``(fragment, key)`` pairs, all usable for assertions."""
    methods = [VerificationMethod(f"{did}#{fragment}", did, key) for fragment, key in keys]
    ids = [m.id for m in methods]
    context = [DID_V1_CONTEXT, MULTIKEY_CONTEXT]
    if any(m.public_key.key_type == "rsa" for m in methods):
        context.append(JWK_CONTEXT)
    return {
        "@context": context,
        "id": did,
        "verificationMethod": [m.to_json() for m in methods],
        "authentication": ids,
        "assertionMethod": ids,
    }


def method_from_document(document: Mapping[str, Any], method_id: str) -> VerificationMethod:
    """Pick the verification method ``method_id`` (absolute or ``#fragment``) out of a DID document."""
    did = document.get("id")
    if not isinstance(did, str):
        raise DidError("The DID document has no id.")
    wanted = did + method_id if method_id.startswith("#") else method_id
    methods = document.get("verificationMethod")
    if not isinstance(methods, list):
        raise DidError("The DID document lists no verification methods.")
    for entry in methods:
        if not isinstance(entry, Mapping):
            continue
        entry_id = entry.get("id")
        if isinstance(entry_id, str) and entry_id.startswith("#"):
            entry_id = did + entry_id
        if entry_id != wanted:
            continue
        if entry.get("controller") not in (None, did):
            raise DidError("The verification method is controlled by another DID.")
        try:
            if "publicKeyMultibase" in entry:
                key = multikey.decode_public(entry["publicKeyMultibase"])
            elif "publicKeyJwk" in entry:
                key = public_key_from_jwk(entry["publicKeyJwk"])
            else:
                raise DidError("The verification method has no public key this server reads.")
        except DidError:
            raise
        except TaitoError as exc:
            raise DidError(f"The verification method's key is not valid: {exc.detail}") from exc
        return VerificationMethod(wanted, did, key)
    raise DidError(f"The DID document has no verification method {wanted}.")
