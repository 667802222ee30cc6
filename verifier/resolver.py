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
from keys.jwk import PublicKey, public_key_from_jwk
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
        if isinstance(issuer, str) and issuer.startswith("https://"):
            return self.issuer_metadata_key(issuer, kid if isinstance(kid, str) else None)
        if not isinstance(issuer, str) or not issuer.startswith("did:"):
            raise DidError("The JWT names no DID issuer, so its key cannot be resolved.")
        if not isinstance(kid, str):
            kid = issuer
        elif kid.startswith("#"):
            kid = issuer + kid
        if split_did_url(kid)[0] != issuer:
            raise DidError("The JWT's key ('kid') does not belong to its issuer.")
        return self(kid).public_key

    def issuer_metadata_key(self, issuer: str, kid: str | None) -> PublicKey:
        """SD-JWT VC §5: ``{origin}/.well-known/jwt-vc-issuer{path}`` names the issuer's JWKS."""
        origin, _, path = issuer.removeprefix("https://").partition("/")
        url = f"https://{origin}/.well-known/jwt-vc-issuer" + (f"/{path}" if path else "")
        try:
            metadata = strict_json.loads(self.http.get(url, accept="application/json").content)
            if not isinstance(metadata, Mapping) or metadata.get("issuer") != issuer:
                raise DidError(f"The issuer metadata at {url} is not about {issuer}.")
            jwks = metadata.get("jwks")
            if jwks is None and isinstance(metadata.get("jwks_uri"), str):
                jwks = strict_json.loads(
                    self.http.get(metadata["jwks_uri"], accept="application/json").content
                )
        except DidError:
            raise
        except TaitoError as exc:
            raise DidError(
                f"The issuer metadata of {issuer} could not be fetched: {exc.detail}"
            ) from exc
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise DidError(f"The issuer metadata of {issuer} lists no keys.")
        candidates = [
            k for k in keys if isinstance(k, Mapping) and (kid is None or k.get("kid") == kid)
        ]
        if len(candidates) != 1:
            raise DidError(f"The issuer metadata of {issuer} has no single key for kid {kid!r}.")
        try:
            return public_key_from_jwk(candidates[0])
        except TaitoError as exc:
            raise DidError(f"The issuer's key is not valid: {exc.detail}") from exc
