"""Helpers of the presentation and share-link end-to-end tests (fixtures live in conftest.py).

A learner's credentials are issued to their own holder DID (``did:key`` of their P-256 key), so
the issuer binds them: ``credentialSubject.id`` for W3C formats and ``cnf.jwk`` for SD-JWT VC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from keys import jose
from keys.did import method_from_document
from keys.jwk import PublicKey
from keys.sd_jwt import processing
from schemas import strict_json
from tests.e2e.conftest import Learner, Server

NONCE = "n-4f9c2a7e51"
AUDIENCE = "https://employer.example/verifier"
CHALLENGE = "c-91b7e0d2a3"
DOMAIN = "employer.example"
REVEAL = ["/achievement/name", "/achievement/ects_credits", "/given_name"]
MEDIA = {"ob3-di": "application/json", "ob3-jwt": "application/jwt", "sd-jwt-vc": "text/plain"}


def holder_did(learner: Learner, algorithm: str = "ES256") -> str:
    keys = learner.server.http.get("/wallet/keys", headers=learner.headers)
    assert keys.status_code == 200, keys.text
    return str(next(k["did_key"] for k in keys.json() if k["algorithm"] == algorithm))


@dataclass
class Held:
    issued_id: str  # the issuer's credential id (to revoke it)
    ids: dict[str, str]  # format -> the wallet's credential id
    texts: dict[str, str]  # format -> the credential as issued


def issue_into_wallet(
    server: Server, learner: Learner, formats: list[str], algorithm: str = "ES256"
) -> Held:
    """Issue ``formats`` to the learner's holder DID and import each into their wallet."""
    did = holder_did(learner, algorithm)
    issued = server.issue(formats, recipient={**server.recipient, "did": did})
    issued_id = str(issued["id"]).removeprefix("urn:uuid:")
    ids, texts = {}, {}
    for fmt in formats:
        text = server.download(issued_id, fmt).text
        imported = learner.import_credential(text, MEDIA.get(fmt, "text/plain"))
        assert imported.status_code == 201, imported.text
        ids[fmt], texts[fmt] = imported.json()["id"], text
    return Held(issued_id, ids, texts)


def present(learner: Learner, body: dict[str, Any]) -> httpx.Response:
    return learner.server.http.post("/wallet/presentations", headers=learner.headers, json=body)


def verify(server: Server, credential: Any, **options: str) -> dict[str, Any]:
    """POST /verifier/verify with the options beside the credential (verifier/routes.py)."""
    response = server.http.post("/verifier/verify", json={"credential": credential, **options})
    assert response.status_code == 200, response.text
    return dict(response.json())


def checks(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def disclosed_paths(sd_jwt: str) -> set[str]:
    """The JSON Pointers of the claims an SD-JWT discloses (one per Disclosure)."""
    parts = processing.split(sd_jwt)
    payload = strict_json.loads(jose.decode_unverified(parts.issuer_jwt).payload)
    processed = processing.process(payload, parts.disclosures, "sha-256")
    return {"/" + "/".join(str(t) for t in r.path) for r in processed.revealed}


def issuer_public_key(server: Server, sd_jwt: str) -> PublicKey:
    """The institution's key that signed an SD-JWT, read from its did:web document."""
    kid = jose.decode_unverified(sd_jwt.split("~")[0]).header["kid"]
    document = server.http.get(f"/issuers/{server.slug}/did.json").json()
    return method_from_document(document, kid).public_key


def create_share(learner: Learner, body: dict[str, Any]) -> httpx.Response:
    return learner.server.http.post("/wallet/shares", headers=learner.headers, json=body)


def link_path(url: str) -> str:
    """``/s/{token}`` of a share URL (the server's public URL is its loopback address)."""
    return "/s/" + url.rsplit("/s/", 1)[1]


JSON = {"Accept": "application/json"}
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
