"""A minimal OpenID4VCI wallet written for the tests, over plain HTTP, with Taito's ``keys``.

It does exactly what the specification says and nothing more, so each security test can change
one step (a stale nonce, another audience, a replayed code) and see the issuer refuse it.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from typing import Any

import httpx

from keys import base64url, jose
from keys.jwk import PrivateKey, generate
from keys.signing import KeySigner

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def well_known(issuer: str, kind: str) -> str:
    """RFC 8414 §3.1 / OpenID4VCI §12.2.2: the well-known segment goes before the path."""
    parsed = urllib.parse.urlsplit(issuer)
    return f"{parsed.scheme}://{parsed.netloc}/.well-known/{kind}{parsed.path}"


def resolve_offer(http: httpx.Client, offer_uri: str) -> dict[str, Any]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(offer_uri).query)
    if "credential_offer" in query:
        return dict(json.loads(query["credential_offer"][0]))
    response = http.get(query["credential_offer_uri"][0])
    assert response.status_code == 200, response.text
    return dict(response.json())


def sign_jwt(
    key: PrivateKey, header: dict[str, Any], payload: dict[str, Any], *, by: str = "jwk"
) -> str:
    signer = KeySigner.for_key(key)
    full = dict(header)
    if by == "jwk":
        full["jwk"] = key.public_key().to_jwk()
    else:
        full["kid"] = signer.key_id
    return jose.sign_compact(json.dumps(payload).encode(), full, signer)


def proof(
    key: PrivateKey,
    audience: str,
    nonce: str | None,
    *,
    iat: float | None = None,
    typ: str = "openid4vci-proof+jwt",
    by: str = "jwk",
) -> str:
    """Appendix F.1: a proof of possession of ``key`` for one credential request."""
    payload: dict[str, Any] = {"aud": audience, "iat": int(iat if iat is not None else time.time())}
    if nonce is not None:
        payload["nonce"] = nonce
    return sign_jwt(key, {"typ": typ}, payload, by=by)


def dpop_proof(key: PrivateKey, method: str, url: str, access_token: str | None = None) -> str:
    """RFC 9449 §4.2."""
    payload: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
    }
    if access_token is not None:
        import hashlib

        payload["ath"] = base64url.encode(hashlib.sha256(access_token.encode()).digest())
    return sign_jwt(key, {"typ": "dpop+jwt"}, payload)


class Wallet:
    """One issuance: metadata, token, nonce, credential, with the responses kept for the test."""

    def __init__(self, http: httpx.Client, offer: dict[str, Any]) -> None:
        self.http = http
        self.offer = offer
        self.issuer = offer["credential_issuer"]
        self.metadata = http.get(well_known(self.issuer, "openid-credential-issuer")).json()
        self.as_metadata = http.get(well_known(self.issuer, "oauth-authorization-server")).json()
        self.access_token: str | None = None
        self.dpop_key: PrivateKey | None = None

    @property
    def code(self) -> str:
        return str(self.offer["grants"][PRE_AUTH]["pre-authorized_code"])

    def token(self, tx_code: str | None = None, *, code: str | None = None) -> httpx.Response:
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": code or self.code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        headers = {}
        if self.dpop_key is not None:
            url = self.as_metadata["token_endpoint"]
            headers["DPoP"] = dpop_proof(self.dpop_key, "POST", url)
        response = self.http.post(self.as_metadata["token_endpoint"], data=form, headers=headers)
        if response.status_code == 200:
            self.access_token = response.json()["access_token"]
        return response

    def nonce(self) -> str:
        response = self.http.post(self.metadata["nonce_endpoint"])
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        return str(response.json()["c_nonce"])

    def headers(self, endpoint: str) -> dict[str, str]:
        assert self.access_token is not None
        if self.dpop_key is None:
            return {"Authorization": f"Bearer {self.access_token}"}
        url = self.metadata[endpoint]
        return {
            "Authorization": f"DPoP {self.access_token}",
            "DPoP": dpop_proof(self.dpop_key, "POST", url, self.access_token),
        }

    def credential(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            self.metadata["credential_endpoint"],
            json=body,
            headers=self.headers("credential_endpoint"),
        )

    def request(
        self, configuration_id: str, keys: list[PrivateKey], *, nonce: str | None = None
    ) -> httpx.Response:
        c_nonce = nonce if nonce is not None else self.nonce()
        proofs = [proof(k, self.issuer, c_nonce) for k in keys]
        return self.credential(
            {"credential_configuration_id": configuration_id, "proofs": {"jwt": proofs}}
        )


def holder_key(kind: str = "p256") -> PrivateKey:
    return generate(kind)  # type: ignore[arg-type]
