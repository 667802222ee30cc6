"""``taito sign`` and ``taito verify``: every format, offline, as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.inputs import open_badge
from keys import jwk, sd_jwt
from keys.signing import KeySigner
from tests.taito.test_cli import taito

FORMATS = [
    ("eddsa-rdfc-2022", "ed25519"),
    ("eddsa-jcs-2022", "ed25519"),
    ("ecdsa-rdfc-2019", "p256"),
    ("vc-jwt", "ed25519"),
    ("vc-jwt", "rsa"),
    ("vc+jwt", "p256"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    result = taito("contexts", "sync", "--from", str(shared / "contexts"), cwd=folder)
    assert result.returncode == 0, result.stderr
    credential = open_badge("unused")
    del credential["issuer"]["id"]  # taken from the key's DID
    (folder / "badge.json").write_text(json.dumps(credential))
    for key_type in jwk.KEY_TYPES:
        assert (
            taito(
                "keys", "new", "--type", key_type, "--out", f"{key_type}.json", cwd=folder
            ).returncode
            == 0
        )
    return folder


@pytest.mark.parametrize(("as_", "key_type"), FORMATS)
def test_sign_then_verify(workdir: Path, as_: str, key_type: str) -> None:
    signed = taito("sign", "badge.json", "--key", f"{key_type}.json", "--as", as_, cwd=workdir)
    assert signed.returncode == 0, signed.stderr
    out = workdir / f"signed-{as_}-{key_type}"
    out.write_text(signed.stdout)
    verified = taito("verify", out.name, cwd=workdir)
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, report
    assert report["verified"] is True
    kid = json.loads((workdir / f"{key_type}.json").read_text())["kid"]
    assert report["issuer"]["id"] == kid.split("#")[0]
    if as_.startswith(("eddsa", "ecdsa")):
        tampered = json.loads(signed.stdout)
        tampered["credentialSubject"]["achievement"]["name"] = "Something else"
        out.write_text(json.dumps(tampered))
    else:
        out.write_text(signed.stdout.strip()[:-4] + "AAAA")
    rejected = taito("verify", out.name, cwd=workdir)
    assert rejected.returncode == 1
    failed = [c for c in json.loads(rejected.stdout)["checks"] if c["status"] == "failed"]
    assert failed and failed[0]["id"] == "proof"


def test_sd_jwt_sign_and_verify_with_key_binding(workdir: Path) -> None:
    holder = jwk.private_key_from_jwk(json.loads((workdir / "p256.json").read_text()))
    (workdir / "holder.jwk").write_text(json.dumps(holder.public_key().to_jwk()))
    claims = {
        "vct": "https://taito.example/vct/learning-credential",
        "given_name": "Aino",
        "achievement": {"name": "Data Science", "ects": 5},
    }
    (workdir / "claims.json").write_text(json.dumps(claims))
    signed = taito(
        "sign",
        "claims.json",
        "--key",
        "ed25519.json",
        "--as",
        "sd-jwt",
        "--sd",
        "/given_name",
        "--sd",
        "/achievement/ects",
        "--holder-jwk",
        "holder.jwk",
        cwd=workdir,
    )
    assert signed.returncode == 0, signed.stderr
    presentation = sd_jwt.present(
        signed.stdout.strip(),
        reveal=["/achievement/ects"],
        holder=KeySigner.for_key(holder),
        nonce="n-7",
        audience="https://employer.example",
        iat=datetime.now(UTC),
    )
    (workdir / "presentation.txt").write_text(presentation)
    good = taito(
        "verify",
        "presentation.txt",
        "--nonce",
        "n-7",
        "--aud",
        "https://employer.example",
        cwd=workdir,
    )
    assert good.returncode == 0, good.stdout
    assert json.loads(good.stdout)["verified"] is True
    bad = taito(
        "verify",
        "-",
        "--nonce",
        "n-8",
        "--aud",
        "https://employer.example",
        cwd=workdir,
        stdin=presentation,
    )
    assert bad.returncode == 1
    assert any(c["code"] == "kb_nonce_mismatch" for c in json.loads(bad.stdout)["checks"])


def test_verify_with_an_issuer_jwk_file(workdir: Path) -> None:
    key = jwk.private_key_from_jwk(json.loads((workdir / "ed25519.json").read_text()))
    (workdir / "issuer.jwk").write_text(json.dumps(key.public_key().to_jwk()))
    other = jwk.generate("ed25519")
    (workdir / "other.jwk").write_text(json.dumps(other.public_key().to_jwk()))
    signed = taito("sign", "badge.json", "--key", "ed25519.json", "--as", "vc-jwt", cwd=workdir)
    (workdir / "token.txt").write_text(signed.stdout)
    assert taito("verify", "token.txt", "--issuer-jwk", "issuer.jwk", cwd=workdir).returncode == 0
    assert taito("verify", "token.txt", "--issuer-jwk", "other.jwk", cwd=workdir).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ["sign", "badge.json", "--key", "ed25519.json", "--as", "rsa-2048"],
        ["sign", "badge.json", "--key", "ed25519.json", "--as", "vc-jwt", "--sd", "/name"],
        ["sign", "missing.json", "--key", "ed25519.json", "--as", "vc-jwt"],
        ["sign", "badge.json", "--key", "ed25519.json", "--as", "ecdsa-rdfc-2019"],
        ["verify", "missing.txt"],
        ["verify"],
    ],
)
def test_usage_errors_exit_2(workdir: Path, args: list[str]) -> None:
    result = taito(*args, cwd=workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("taito: error:")


def test_garbage_input_is_a_failed_report_not_a_crash(workdir: Path) -> None:
    (workdir / "garbage.txt").write_text("definitely not a credential")
    result = taito("verify", "garbage.txt", cwd=workdir)
    assert result.returncode == 1
    assert json.loads(result.stdout)["checks"][0] == {
        "id": "format",
        "status": "failed",
        "code": "unsupported_format",
        "message": "The input is not a credential format this verifier reads (JSON-LD, JWT or SD-JWT).",
    }
