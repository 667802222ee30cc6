"""Key and issuer resolution for verification: one resolver for every DID method Taito reads.

``did:key`` and ``did:jwk`` resolve offline; ``did:web`` (did:web Method §3.2) is fetched through
the one guarded HTTP client (SSRF guard, limits, cache), and the proof's verification method is
picked out of the document by its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keys.did import (
    VerificationMethod,
    did_web_url,
    method_from_document,
    resolve_offline,
    split_did_url,
)
from keys.errors import DidError
from keys.jwk import PublicKey
from schemas import strict_json
from schemas.errors import TaitoError
from verifier.http import GuardedHttp


class DidResolver:
    def __init__(self, http: GuardedHttp) -> None:
        self.http = http

    def __call__(self, did_url: str) -> VerificationMethod:
        did, _fragment = split_did_url(did_url)
        if not did.startswith("did:web:"):
            return resolve_offline(did_url)
        try:
            response = self.http.get(
                did_web_url(did), accept="application/did+json, application/json"
            )
            document = strict_json.loads(response.content)
        except DidError:
            raise
        except TaitoError as exc:
            raise DidError(f"The DID document of {did} could not be fetched: {exc.detail}") from exc
        if not isinstance(document, Mapping) or document.get("id") != did:
            raise DidError(f"The document fetched for {did} does not describe that DID.")
        return method_from_document(document, did_url)

    def jwt_issuer_key(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
        """The key of a JWT / SD-JWT issuer: ``kid`` (absolute, or a fragment of ``iss``) must belong
        to the issuer's DID (``iss``, or the credential's issuer)."""
        issuer = payload.get("iss")
        if not isinstance(issuer, str):
            credential_issuer = payload.get("issuer")
            issuer = (
                credential_issuer.get("id")
                if isinstance(credential_issuer, Mapping)
                else credential_issuer
            )
        kid = header.get("kid")
        if not isinstance(issuer, str) or not issuer.startswith("did:"):
            raise DidError("The JWT names no DID issuer, so its key cannot be resolved.")
        if not isinstance(kid, str):
            kid = issuer
        elif kid.startswith("#"):
            kid = issuer + kid
        if split_did_url(kid)[0] != issuer:
            raise DidError("The JWT's key ('kid') does not belong to its issuer.")
        return self(kid).public_key
