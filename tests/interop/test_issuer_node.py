"""What Taito's issuer API hands out verifies in code we did not write.

* An Open Badges 3.0 credential (``ob3-di``, eddsa-rdfc-2022, issuer did:web) verifies with
  @digitalbazaar/vc 7.3.0; its status entry is checked by @digitalbazaar/vc-bitstring-status-list
  on the way; a one-field tamper fails.
* The SD-JWT VC (``sd-jwt-vc``), presented by :func:`keys.sd_jwt.present` with a KB-JWT, verifies
  with @sd-jwt/sd-jwt-vc 0.19.0 and reveals exactly the chosen claims; the library also verifies
  the Token Status List the credential names, and refuses it once revoked.
* Revocation through the API is seen by @digitalbazaar/vc-bitstring-status-list 2.0.1: its
  ``checkStatus`` verifies the published BitstringStatusListCredential (eddsa-rdfc-2022) and reads
  the revoked credential's bit as set, the other's as clear.

Nothing is fetched over the network on the Node side: the test reads the DID document, the status
lists and the status list tokens from the app and hands them to the Node job, whose static loader
serves them under their URLs (the did:web DID also serves its verification methods by id).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from keys import jwk, sd_jwt
from keys.signing import KeySigner
from tests.interop.conftest import HERE, NPM_HINT, NodeRunner, _runner, ok
from tests.issuer import conftest as issuer_fixtures
from tests.issuer.conftest import ACHIEVEMENT, Env
from tests.issuer.test_api import RECIPIENT, _achievement, _issue

pytestmark = pytest.mark.interop

# The issuer app and its institution "helsinki" (did:web), as the issuer tests build them.
app_client = issuer_fixtures.app_client
env = issuer_fixtures.env

PUBLIC_URL = issuer_fixtures.PUBLIC_URL
DID = "did:web:uni.example.test:issuers:helsinki"
STATUS_PACKAGE = "@digitalbazaar/vc-bitstring-status-list"
NONCE = "n-7Qx2c9LwZ0"
AUDIENCE = "https://employer.example.test"
REVEAL = ["/given_name", "/achievement/name", "/achievement/ects_credits"]


@pytest.fixture(scope="session")
def bitstring_status_list(node: str) -> None:
    """Skip unless the status list package is installed too (``node`` checks the others)."""
    if not (HERE / "node_modules" / STATUS_PACKAGE / "package.json").is_file():
        pytest.skip(f"npm package {STATUS_PACKAGE} not installed: {NPM_HINT}")


@pytest.fixture(scope="session")
def node_status(node: str, shared_contexts: Any, bitstring_status_list: None) -> NodeRunner:
    """Run a batch of jobs through ``status.mjs`` (checkStatus, SD-JWT VC with its status)."""
    return _runner(node, "status.mjs")


def _get(env: Env, url: str, **headers: str) -> Any:
    """GET one of the app's public URLs (``https://uni.example.test/...``) through the client."""
    assert url.startswith(PUBLIC_URL + "/"), url
    response = env.client.get(url.removeprefix(PUBLIC_URL), headers=headers)
    assert response.status_code == 200, response.text
    return response


def _did_document(env: Env) -> dict[str, Any]:
    document: dict[str, Any] = env.client.get(f"/issuers/{env.slug}/did.json").json()
    assert document["id"] == DID
    return document


def _entries(credential: dict[str, Any]) -> list[dict[str, Any]]:
    status = credential["credentialStatus"]
    return status if isinstance(status, list) else [status]


def _documents(env: Env, *credentials: dict[str, Any]) -> dict[str, Any]:
    """What the Node loader serves: the issuer's DID document and every status list named."""
    documents = {DID: _did_document(env)}
    for credential in credentials:
        for entry in _entries(credential):
            url = entry["statusListCredential"]
            documents[url] = _get(env, url).json()
    return documents


def _public_jwk(env: Env, kty: str) -> dict[str, Any]:
    """The public key of type ``kty`` in the institution's DID document, as a JWK."""
    for method in _did_document(env)["verificationMethod"]:
        key = env.resolve(method["id"]).public_key.to_jwk()
        if key["kty"] == kty:
            return dict(key)
    raise AssertionError(f"no {kty} key in the DID document")


def _messages(result: dict[str, Any]) -> str:
    return " | ".join(e["message"] for e in result["errors"])


# --- [ISSUER] Open Badges 3.0, Data Integrity --------------------------------------------------


def test_api_open_badge_verifies_in_digital_bazaar_vc(
    env: Env, node_di: NodeRunner, bitstring_status_list: None
) -> None:
    response = _issue(env, _achievement(env), ["ob3-di"])
    assert response.status_code == 201, response.text
    credential = response.json()["formats"]["ob3-di"]
    assert credential["issuer"]["id"] == DID
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["proof"]["verificationMethod"].startswith(DID + "#")
    documents = _documents(env, credential)

    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["achievement"]["name"] = "Introduction to Data Sciences"
    unknown_did = {url: doc for url, doc in documents.items() if url != DID}
    good, bad, unresolved = node_di(
        [
            {
                "op": "verify-credential",
                "credential": credential,
                "documents": documents,
                "checkStatus": True,
            },
            {
                "op": "verify-credential",
                "credential": tampered,
                "documents": documents,
                "checkStatus": True,
            },
            {
                "op": "verify-credential",
                "credential": credential,
                "documents": unknown_did,
                "checkStatus": True,
            },
        ]
    )
    assert ok(good)["verified"], good["errors"]
    [entry] = good["status"]["entries"]
    assert (entry["statusPurpose"], entry["status"]) == ("revocation", False)
    assert entry["statusListIndex"] == _entries(credential)[0]["statusListIndex"]

    assert not ok(bad)["verified"]
    assert "Invalid signature" in _messages(bad), bad["errors"]
    # Without the DID document the did:web key cannot be found: the loader really is what
    # resolved it above.
    assert not ok(unresolved)["verified"]
    assert DID in _messages(unresolved), unresolved["errors"]


# --- [ISSUER] SD-JWT VC ------------------------------------------------------------------------


def _tamper_issuer_jwt(token: str, claim: str, value: Any) -> str:
    """Change one claim of the issuer-signed JWT, keeping its signature."""
    issuer_jwt, rest = token.split("~", 1)
    header, payload, signature = issuer_jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[claim] = value
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}~{rest}"


def test_api_sd_jwt_vc_presented_by_taito_verifies_in_sd_jwt_js(
    env: Env, node_sd_jwt: NodeRunner, node_status: NodeRunner
) -> None:
    holder = jwk.generate("p256")
    response = _issue(
        env, _achievement(env), ["sd-jwt-vc"], holder_jwk=holder.public_key().to_jwk()
    )
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["formats"]["sd-jwt-vc"]
    presentation = sd_jwt.present(
        token,
        reveal=REVEAL,
        holder=KeySigner.for_key(holder),
        nonce=NONCE,
        audience=AUDIENCE,
        iat=datetime.now(UTC),
    )
    issuer_key = _public_jwk(env, "EC")
    [decoded] = node_sd_jwt([{"op": "decode", "sdJwt": token}])
    payload = ok(decoded)["payload"]
    reference = payload["status"]["status_list"]
    status_token = _get(env, reference["uri"]).text

    verify = {
        "op": "verify-sd-jwt-vc",
        "issuerKey": issuer_key,
        "nonce": NONCE,
        "statusLists": {reference["uri"]: status_token},
    }
    good, wrong_nonce, tampered = node_status(
        [
            {**verify, "presentation": presentation},
            {**verify, "presentation": presentation, "nonce": "n-other"},
            {
                **verify,
                "presentation": _tamper_issuer_jwt(presentation, "issuer_name", "Other U"),
            },
        ]
    )

    assert ok(good)["verified"], good["errors"]
    assert good["status"] == 0
    assert good["kb"]["payload"]["nonce"] == NONCE
    assert good["kb"]["payload"]["aud"] == AUDIENCE
    # Exactly the always-visible claims of the issuer-signed JWT plus the chosen disclosures.
    visible = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg", "achievement")}
    assert "given_name" not in visible and "family_name" not in visible
    expected = {
        **visible,
        "given_name": RECIPIENT["given_name"],
        "achievement": {
            "name": ACHIEVEMENT["name"]["en"],
            "ects_credits": ACHIEVEMENT["ects_credits"],
        },
    }
    assert good["claims"] == expected
    assert good["claims"]["iss"] == DID
    assert good["claims"]["cnf"]["jwk"] == holder.public_key().to_jwk()

    assert not ok(wrong_nonce)["verified"]
    assert not ok(tampered)["verified"]
    assert "signature" in _messages(tampered).lower(), tampered["errors"]

    # Revoked through the API: the library reads status 1 in the re-published token and refuses.
    revoked = env.client.post(
        f"/issuers/{env.slug}/credentials/{body['id']}/revoke", headers=env.admin
    )
    assert revoked.status_code == 200, revoked.text
    [after] = node_status(
        [
            {
                **verify,
                "presentation": presentation,
                "statusLists": {reference["uri"]: _get(env, reference["uri"]).text},
            }
        ]
    )
    assert not ok(after)["verified"]
    assert after["status"] == 1, after


# --- [STATUS] Bitstring Status List ------------------------------------------------------------


def test_revocation_is_seen_by_digital_bazaar_check_status(
    env: Env, node_status: NodeRunner, node_di: NodeRunner
) -> None:
    achievement_id = _achievement(env)
    issued = [_issue(env, achievement_id, ["ob3-di"]).json() for _ in range(2)]
    first, second = (i["formats"]["ob3-di"] for i in issued)
    before = _documents(env, first, second)
    revoked = env.client.post(
        f"/issuers/{env.slug}/credentials/{issued[0]['id']}/revoke",
        json={"reason": "issued in error"},
        headers=env.admin,
    )
    assert revoked.status_code == 200, revoked.text
    after = _documents(env, first, second)
    [list_url] = {e["statusListCredential"] for e in _entries(first) + _entries(second)}
    assert after[list_url]["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    old_bits = before[list_url]["credentialSubject"]["encodedList"]
    assert after[list_url]["credentialSubject"]["encodedList"] != old_bits

    # The re-signed list with the bits of the list before revocation: the proof must fail.
    grafted = copy.deepcopy(after)
    grafted[list_url]["credentialSubject"]["encodedList"] = old_bits
    check = {"op": "check-status"}
    results = node_status(
        [
            {**check, "credential": first, "documents": before},
            {**check, "credential": second, "documents": before},
            {**check, "credential": first, "documents": after},
            {**check, "credential": second, "documents": after},
            {**check, "credential": first, "documents": grafted},
        ]
    )
    bits = []
    for result in results[:4]:
        assert ok(result)["verified"], result["errors"]  # proof and issuer checked: see below
        [entry] = result["entries"]
        assert entry["statusPurpose"] == "revocation"
        assert entry["statusListCredential"] == list_url
        bits.append(entry["status"])
    # INTEROP.md: checkStatus() says verified for a revoked credential; the bit tells.
    assert bits == [False, False, True, False]

    assert not ok(results[4])["verified"]
    assert results[4]["entries"] == []
    assert '"BitstringStatusListCredential" not verified' in _messages(results[4])

    # The whole @digitalbazaar/vc verification, status included, says the same bits: and (the
    # quirk again) `verified` stays true for the revoked credential.
    revoked_vc, active_vc = node_di(
        [
            {"op": "verify-credential", "credential": c, "documents": after, "checkStatus": True}
            for c in (first, second)
        ]
    )
    assert ok(revoked_vc)["verified"] and ok(active_vc)["verified"]
    assert [r["status"]["entries"][0]["status"] for r in (revoked_vc, active_vc)] == [True, False]
