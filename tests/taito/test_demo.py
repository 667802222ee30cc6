"""``taito demo`` writes every output, and each one is what it says it is."""

from __future__ import annotations

import json
from pathlib import Path

from keys import status_list
from schemas import baking
from tests.taito.test_cli import taito

FILES = [
    "ob3-di.json",
    "ob3-jwt.txt",
    "clr.json",
    "elm.json",
    "elm-sealed.jws",
    "sd-jwt-vc.txt",
    "issuer-did.json",
    "badge.png",
    "badge.svg",
    "status-list-revocation.json",
    "ob3-di-revoked.json",
    "sd-jwt-presentation.txt",
    "vp-di.json",
    "presentation-params.json",
    "share-link.txt",
    "credential-offer.png",
    "credential-offer.txt",
    "presentation-request.png",
    "presentation-request.txt",
]


def test_demo_writes_verifiable_outputs(tmp_path: Path, shared: Path) -> None:
    result = taito(
        "demo", "--out", "out", "--contexts-from", str(shared / "contexts"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    credential = json.loads((out / "ob3-di.json").read_text())
    assert json.loads(baking.unbake_png((out / "badge.png").read_bytes())) == credential
    assert json.loads(baking.unbake_svg((out / "badge.svg").read_bytes())) == credential
    assert "EuropeanDigitalCredential" in json.loads((out / "elm.json").read_text())["type"]
    assert json.loads((out / "clr.json").read_text())["type"][-1] == "ClrCredential"
    for name in ("ob3-di.json", "ob3-jwt.txt", "sd-jwt-vc.txt", "clr.json"):
        check = taito("verify", str(out / name), cwd=tmp_path)
        assert check.returncode == 0, (name, check.stdout)
    revoked = json.loads((out / "ob3-di-revoked.json").read_text())["credentialStatus"]
    published = json.loads((out / "status-list-revocation.json").read_text())
    assert published["id"] == revoked["statusListCredential"]
    bits = status_list.decode_bitstring(published["credentialSubject"]["encodedList"])
    assert bits.set_indices() == [int(revoked["statusListIndex"])]
    assert taito("verify", str(out / "status-list-revocation.json"), cwd=tmp_path).returncode == 0
