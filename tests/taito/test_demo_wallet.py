"""``taito demo``'s wallet part: the learner's presentations verify with the parameters written
beside them (and fail with others), and reveal only the chosen claims; the share link is one."""

from __future__ import annotations

import json
from pathlib import Path

from keys import jose
from keys.sd_jwt import processing
from schemas import strict_json
from taito.demo_wallet import REVEAL
from tests.taito.test_cli import taito


def test_demo_presents_and_shares(tmp_path: Path, shared: Path) -> None:
    result = taito(
        "demo", "--out", "out", "--contexts-from", str(shared / "contexts"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    params = json.loads((out / "presentation-params.json").read_text())
    assert set(params) == {"nonce", "aud", "challenge", "domain"}

    sd_jwt = out / "sd-jwt-presentation.txt"
    good = taito(
        "verify", str(sd_jwt), "--nonce", params["nonce"], "--aud", params["aud"], cwd=tmp_path
    )
    assert good.returncode == 0, good.stdout
    report = json.loads(good.stdout)
    assert {c["id"]: c["status"] for c in report["checks"]}["holder_binding"] == "passed"
    replayed = taito(
        "verify", str(sd_jwt), "--nonce", "other", "--aud", params["aud"], cwd=tmp_path
    )
    assert replayed.returncode == 1
    parts = processing.split(sd_jwt.read_text().strip())
    payload = strict_json.loads(jose.decode_unverified(parts.issuer_jwt).payload)
    revealed = processing.process(payload, parts.disclosures, "sha-256").revealed
    assert {"/" + "/".join(map(str, r.path)) for r in revealed} == set(REVEAL)

    vp = out / "vp-di.json"
    holder = json.loads(vp.read_text())["holder"]
    subject = json.loads((out / "ob3-di.json").read_text())["credentialSubject"]["id"]
    assert holder == subject  # presented with the key the credential is bound to
    args = ("--challenge", params["challenge"], "--domain", params["domain"])
    assert taito("verify", str(vp), *args, cwd=tmp_path).returncode == 0
    wrong = ("--challenge", "replayed", "--domain", params["domain"])
    assert taito("verify", str(vp), *wrong, cwd=tmp_path).returncode == 1

    link = (out / "share-link.txt").read_text().strip()
    assert link.startswith("https://demo.taito.example/s/") and len(link.rsplit("/", 1)[1]) >= 43
    assert "share-link.txt" in result.stdout
