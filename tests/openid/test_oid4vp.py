"""OpenID4VP 1.0 over real HTTP: DCQL requests as openid4vp:// URIs and QR codes (unsigned with
the redirect_uri prefix, signed with decentralized_identifier by value and by reference), answered
with presentations of credentials obtained over OpenID4VCI, for all three formats; the result is
polled with the read token or fetched with the response_code after a redirect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from keys.jwk import PrivateKey
from tests.openid.conftest import Server
from tests.openid.holder import (
    Wallet,
    authorization_request,
    holder_key,
    present_jwt,
    present_ldp,
    present_sd_jwt,
    resolve_offer,
    respond,
)
from tests.openid.test_oid4vci import decode_qr_png, decode_qr_svg

SD = "LearningCredential_dc+sd-jwt"
LDP = "OpenBadgeCredential_ldp_vc"
JWT = "OpenBadgeCredential_jwt_vc_json"
OB_TYPES = [["VerifiableCredential", "OpenBadgeCredential"]]
OB_IRIS = [
    [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
    ]
]


@dataclass
class Held:
    credential: Any
    key: PrivateKey


def obtain(server: Server) -> dict[str, Held]:
    """One credential of each format, over OpenID4VCI, each bound to its own holder key."""
    made = server.offer()
    wallet = Wallet(server.http, resolve_offer(server.http, made["offer_uri"]))
    assert wallet.token(made["tx_code"]).status_code == 200
    held = {}
    for config in (SD, LDP, JWT):
        key = holder_key("ed25519" if config == LDP else "p256")
        response = wallet.request(config, [key])
        assert response.status_code == 200, response.text
        held[config] = Held(response.json()["credentials"][0]["credential"], key)
    return held


def vct(server: Server) -> str:
    return f"{server.base}/vct/learning-credential/v1"


def query_for(server: Server, fmt: str, query_id: str = "cred") -> dict[str, Any]:
    if fmt == "dc+sd-jwt":
        return {
            "id": query_id,
            "format": fmt,
            "meta": {"vct_values": [vct(server)]},
            "claims": [{"path": ["achievement", "name"]}, {"path": ["given_name"]}],
        }
    return {
        "id": query_id,
        "format": fmt,
        "meta": {"type_values": OB_IRIS if fmt == "ldp_vc" else OB_TYPES},
        "claims": [{"path": ["credentialSubject", "achievement", "name"]}],
    }


def create(server: Server, credentials: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    response = server.http.post(
        "/verifier/requests", json={"dcql_query": {"credentials": credentials}, **body}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def poll(server: Server, created: dict[str, Any]) -> dict[str, Any]:
    response = server.http.get(
        f"/verifier/requests/{created['id']}",
        headers={"Authorization": f"Bearer {created['read_token']}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def presentation(server: Server, fmt: str, held: Held, request: dict[str, Any]) -> Any:
    if fmt == "dc+sd-jwt":
        return present_sd_jwt(
            held.credential, held.key, request, ["/achievement/name", "/given_name"]
        )
    if fmt == "ldp_vc":
        return present_ldp(held.credential, held.key, request, server.app.state.verifier.loader)
    return present_jwt(held.credential, held.key, request)


FORMATS = {"dc+sd-jwt": SD, "ldp_vc": LDP, "jwt_vc_json": JWT}
IDS = {"dc+sd-jwt": "learning", "ldp_vc": "badge", "jwt_vc_json": "badge_jwt"}


@pytest.mark.parametrize("prefix", ["redirect_uri", "decentralized_identifier"])
def test_every_format_presented_and_verified(server: Server, prefix: str) -> None:
    held = obtain(server)
    queries = [query_for(server, fmt, IDS[fmt]) for fmt in FORMATS]
    created = create(server, queries, client_id_prefix=prefix)
    uri = created["authorization_request"]
    assert uri.startswith("openid4vp://?")
    assert decode_qr_png(created["qr_png"]) == uri
    assert decode_qr_svg(created["qr_svg"]) == uri
    assert created["client_id"].startswith(prefix + ":")
    request = authorization_request(server.http, uri)
    assert request["response_type"] == "vp_token"
    assert request["response_mode"] == "direct_post"
    assert request["nonce"] == created["nonce"] and request["state"] == created["state"]
    if prefix == "redirect_uri":
        assert request["client_id"] == "redirect_uri:" + request["response_uri"]
    assert poll(server, created)["status"] == "pending"
    vp_token = {
        IDS[fmt]: [presentation(server, fmt, held[config], request)]
        for fmt, config in FORMATS.items()
    }
    response = respond(server.http, request, vp_token)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    result = poll(server, created)
    assert result["status"] == "verified", result
    credentials = result["result"]["credentials"]
    [sd] = credentials["learning"]
    assert {tuple(c["path"]): c["value"] for c in sd["claims"]} == {
        ("achievement", "name"): ["Introduction to Data Science"],
        ("given_name",): ["Aino"],
    }
    for query_id in ("badge", "badge_jwt"):
        [w3c] = credentials[query_id]
        assert w3c["claims"][0]["value"] == ["Introduction to Data Science"]
        assert w3c["holder"].startswith("did:key:")
    # the request is answered once
    again = respond(server.http, request, vp_token)
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"


def test_signed_request_by_value(server: Server) -> None:
    created = create(
        server,
        [query_for(server, "dc+sd-jwt")],
        client_id_prefix="decentralized_identifier",
        by_reference=False,
    )
    request = authorization_request(server.http, created["authorization_request"])
    assert request["aud"] == "https://self-issued.me/v2"
    assert request["dcql_query"]["credentials"][0]["format"] == "dc+sd-jwt"


def test_redirect_with_response_code(server: Server) -> None:
    held = obtain(server)
    created = create(
        server, [query_for(server, "dc+sd-jwt")], redirect_uri="https://employer.example/done"
    )
    request = authorization_request(server.http, created["authorization_request"])
    response = respond(
        server.http, request, {"cred": [presentation(server, "dc+sd-jwt", held[SD], request)]}
    )
    assert response.status_code == 200, response.text
    redirect = response.json()["redirect_uri"]
    assert redirect.startswith("https://employer.example/done#response_code=")
    code = redirect.split("=", 1)[1]
    by_code = server.http.get(f"/verifier/requests/{created['id']}", params={"response_code": code})
    assert by_code.status_code == 200 and by_code.json()["status"] == "verified"
    wrong = server.http.get(f"/verifier/requests/{created['id']}", params={"response_code": "x"})
    assert wrong.status_code == 404


def test_wallet_error_response_is_recorded(server: Server) -> None:
    created = create(server, [query_for(server, "dc+sd-jwt")])
    request = authorization_request(server.http, created["authorization_request"])
    declined = server.http.post(
        request["response_uri"], data={"error": "access_denied", "state": request["state"]}
    )
    assert declined.status_code == 200
    result = poll(server, created)
    assert result["status"] == "failed" and result["result"]["error"] == "access_denied"
