"""The OpenID part of ``taito demo``: both flows over HTTP on loopback, and QR codes that decode
back to exactly the offer and request URIs written next to them."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from schemas.contexts import ContextCache
from taito import demo, demo_openid


def test_demo_runs_both_flows_and_writes_the_qr_codes(tmp_path: Path, shared: Path) -> None:
    contexts = tmp_path / "contexts"
    ContextCache(contexts).sync_from_dir(shared / "contexts")
    out = tmp_path / "out"
    out.mkdir()
    rows = demo_openid.run(out, contexts, demo.ACHIEVEMENT)
    verdicts = {file: verdict for file, _, verdict in rows}
    assert verdicts["credential-offer.png"] == ("accepted by the wallet: dc+sd-jwt, jwt_vc, ldp_vc")
    assert verdicts["presentation-request.png"] == (
        "verified; disclosed: achievement, given_name, issuer_name"
    )
    for name, scheme in (
        ("credential-offer", "openid-credential-offer://"),
        ("presentation-request", "openid4vp://"),
    ):
        uri = (out / f"{name}.txt").read_text().strip()
        assert uri.startswith(scheme)
        [decoded] = zxingcpp.read_barcodes(
            Image.open(out / f"{name}.png"), formats=zxingcpp.BarcodeFormat.QRCode
        )
        assert decoded.text == uri
