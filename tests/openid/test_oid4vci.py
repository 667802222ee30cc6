"""OpenID4VCI 1.0 over real HTTP: metadata, offers (by value and by reference, QR codes), the
pre-authorized code flow with tx_code, key-bound credentials in all three formats, batches,
DPoP-bound tokens, deferred issuance and notifications."""

from __future__ import annotations

import base64
import io
import json
import urllib.parse
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from keys.did import default_method_id, split_did_url
from keys.jose import decode_unverified
from keys.jwk import public_key_from_jwk
from tests.openid.conftest import SLUG, Server
from tests.openid.holder import PRE_AUTH, Wallet, holder_key, resolve_offer, well_known

CONFIGS = (
    "OpenBadgeCredential_ldp_vc",
    "OpenBadgeCredential_jwt_vc_json",
    "LearningCredential_dc+sd-jwt",
)


def decode_qr_png(data_uri: str) -> str:
    assert data_uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    [result] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return str(result.text)


def decode_qr_svg(svg: str) -> str:
    """Rasterise the one-path SVG (unit squares: ``M x,y H x2 V y2 H x z``) and decode it."""
    import re

    view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert view is not None
    size = float(view.group(1))
    scale = 20
    image = Image.new("L", (int(size * scale) + 1, int(size * scale) + 1), 255)
    pixels = image.load()
    assert pixels is not None
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    for x, y, x2, y2 in re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)", path.group(1)):
        for px in range(round(float(x) * scale), round(float(x2) * scale)):
            for py in range(round(float(y) * scale), round(float(y2) * scale)):
                pixels[px, py] = 0
    [result] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return str(result.text)


def verify(server: Server, credential: Any, **options: str) -> dict[str, Any]:
    body = {"credential": credential, **options}
    response = server.http.post("/verifier/verify", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_metadata_is_path_aware_and_trilingual(server: Server) -> None:
    metadata = server.http.get(f"/.well-known/openid-credential-issuer/issuers/{SLUG}").json()
    assert metadata["credential_issuer"] == server.issuer
    assert metadata["nonce_endpoint"].startswith(server.issuer + "/")
    assert {d["locale"] for d in metadata["display"]} == {"fi", "sv", "en"}
    assert metadata["display"][0]["name"] == "Tampereen korkeakoulu"
    configs = metadata["credential_configurations_supported"]
    assert set(configs) == set(CONFIGS)
    assert {c["format"] for c in configs.values()} == {"ldp_vc", "jwt_vc_json", "dc+sd-jwt"}
    assert configs["LearningCredential_dc+sd-jwt"]["vct"].endswith("/vct/learning-credential/v1")
    for config in configs.values():
        names = {d["locale"] for d in config["credential_metadata"]["display"]}
        assert names == {"fi", "sv", "en"}
        assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    oauth = server.http.get(well_known(server.issuer, "oauth-authorization-server")).json()
    assert oauth["issuer"] == server.issuer
    assert PRE_AUTH in oauth["grant_types_supported"]
    assert (
        server.http.get("/.well-known/openid-credential-issuer/issuers/nobody").status_code == 404
    )


@pytest.mark.parametrize("by_reference", [False, True])
def test_all_three_formats_bound_to_the_holder_key(server: Server, by_reference: bool) -> None:
    made = server.offer(by_reference=by_reference)
    uri = made["offer_uri"]
    assert uri.startswith("openid-credential-offer://?")
    assert decode_qr_png(made["qr_png"]) == uri
    assert decode_qr_svg(made["qr_svg"]) == uri
    assert made["tx_code"] is not None and len(made["tx_code"]) == 6
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    assert ("credential_offer_uri" in query) is by_reference
    wallet = Wallet(server.http, resolve_offer(server.http, uri))
    grant = wallet.offer["grants"][PRE_AUTH]
    assert grant["tx_code"] == {
        "input_mode": "numeric",
        "length": 6,
        "description": grant["tx_code"]["description"],
    }
    assert made["tx_code"] not in json.dumps(wallet.offer)
    token = wallet.token(made["tx_code"])
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"
    for config in CONFIGS:
        key = holder_key("ed25519" if "ldp" in config else "p256")
        response = wallet.request(config, [key])
        assert response.status_code == 200, response.text
        [item] = response.json()["credentials"]
        credential = item["credential"]
        holder_did = split_did_url(default_method_id(key.public_key()))[0]
        if config.endswith("ldp_vc"):
            assert credential["credentialSubject"]["id"] == holder_did
            assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        elif config.endswith("jwt_vc_json"):
            payload = json.loads(decode_unverified(credential).payload)
            assert payload["credentialSubject"]["id"] == holder_did
            assert payload["sub"] == holder_did
        else:
            claims = json.loads(decode_unverified(credential.split("~")[0]).payload)
            assert credential.endswith("~")  # issued without a KB-JWT
            bound = public_key_from_jwk(claims["cnf"]["jwk"])
            assert bound.thumbprint() == key.public_key().thumbprint()
        report = verify(server, credential)
        assert report["verified"], report
    # the offer was used: its code does not work a second time
    assert wallet.token(made["tx_code"]).json()["error"] == "invalid_grant"
