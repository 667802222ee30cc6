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


# --- OpenID4VP: the holder's side -------------------------------------------------------------

VC_V2 = "https://www.w3.org/ns/credentials/v2"


def authorization_request(http: httpx.Client, uri: str) -> dict[str, Any]:
    """The request parameters of an ``openid4vp://`` URI: by value, ``request`` or ``request_uri``.

    A signed request object is checked: typ, signature by the DID in client_id, same client_id.
    """
    from keys.did import resolve_offline

    query = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).items()}
    if "request_uri" in query or "request" in query:
        if "request_uri" in query:
            fetched = http.get(query["request_uri"])
            assert fetched.status_code == 200, fetched.text
            assert fetched.headers["content-type"] == "application/oauth-authz-req+jwt"
            token = fetched.text
        else:
            token = query["request"]
        decoded = jose.decode_unverified(token)
        assert decoded.header["typ"] == "oauth-authz-req+jwt"
        did = query["client_id"].removeprefix("decentralized_identifier:")
        assert decoded.header["kid"].startswith(did + "#")
        jose.verify_decoded(
            decoded,
            algorithms=["ES256", "EdDSA"],
            resolve_key=lambda h: resolve_offline(h["kid"]).public_key,
        )
        params = dict(json.loads(decoded.payload))
        assert params["client_id"] == query["client_id"]
        return params
    for name in ("dcql_query", "client_metadata"):
        query[name] = json.loads(query[name])
    return dict(query)


def present_sd_jwt(
    credential: str, key: PrivateKey, request: dict[str, Any], reveal: list[str]
) -> str:
    from datetime import UTC, datetime

    from keys import sd_jwt

    return sd_jwt.present(
        credential,
        reveal=reveal,
        holder=KeySigner.for_key(key),
        nonce=request["nonce"],
        audience=request["client_id"],
        iat=datetime.now(UTC),
    )


def present_ldp(
    credential: dict[str, Any], key: PrivateKey, request: dict[str, Any], loader: Any
) -> dict[str, Any]:
    from datetime import UTC, datetime

    from keys import data_integrity

    signer = KeySigner.for_key(key)
    presentation = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": signer.key_id.split("#")[0],
        "verifiableCredential": [credential],
    }
    return data_integrity.add_proof(
        presentation,
        signer=signer,
        cryptosuite="eddsa-rdfc-2022" if signer.algorithm == "EdDSA" else "ecdsa-rdfc-2019",
        loader=loader,
        created=datetime.now(UTC),
        proof_purpose="authentication",
        challenge=request["nonce"],
        domain=request["client_id"],
    )


def present_jwt(credential: str, key: PrivateKey, request: dict[str, Any]) -> str:
    from datetime import UTC, datetime

    from keys import vc_jwt

    signer = KeySigner.for_key(key)
    presentation = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": signer.key_id.split("#")[0],
        "verifiableCredential": [
            {
                "@context": VC_V2,
                "id": f"data:application/vc+jwt,{credential}",
                "type": "EnvelopedVerifiableCredential",
            }
        ],
    }
    return vc_jwt.sign_presentation_jwt(
        presentation,
        signer=signer,
        audience=request["client_id"],
        nonce=request["nonce"],
        now=datetime.now(UTC),
    )


def respond(
    http: httpx.Client, request: dict[str, Any], vp_token: dict[str, list[Any]], **extra: str
) -> httpx.Response:
    form = {"vp_token": json.dumps(vp_token), "state": request["state"], **extra}
    return http.post(request["response_uri"], data=form)
