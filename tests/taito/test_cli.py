"""The ``taito`` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keys import did, jwk


def taito(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAITO_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from taito.cli import main; main()", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


@pytest.mark.parametrize("key_type", jwk.KEY_TYPES)
def test_keys_new_writes_a_private_jwk_named_by_its_did(tmp_path: Path, key_type: str) -> None:
    result = taito("keys", "new", "--type", key_type, "--out", "k.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "k.json").read_text())
    key = jwk.private_key_from_jwk(written)
    assert written["kid"] == did.default_method_id(key.public_key())
    assert did.resolve_offline(written["kid"]).public_key == key.public_key()
    assert result.stdout.strip() == written["kid"]
    assert written["d"] not in result.stdout + result.stderr
    assert (tmp_path / "k.json").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "new", "--type", "dsa", "--out", "k.json"],
        ["keys", "new", "--type", "ed25519"],
        ["keys", "frobnicate"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = taito(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("taito: error:"), result.stderr


def test_db_upgrade_and_dev_setup(tmp_path: Path) -> None:
    env = {"TAITO_DATABASE_URL": f"sqlite:///{tmp_path}/var/taito.db"}
    assert taito("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    first = taito("dev", "setup", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "DEVELOPMENT" in first.stderr
    assert (tmp_path / "var" / "dev-verifier.pem").exists()  # OpenID4VP x509_san_dns
    master = (tmp_path / "var" / "dev-master.key").read_text().strip()
    assert master not in first.stdout + first.stderr
    again = taito("dev", "setup", cwd=tmp_path, env=env)
    assert again.stdout == first.stdout  # idempotent: same key, nothing new
    wrong = taito("dev", "setup", cwd=tmp_path, env={**env, "TAITO_MASTER_KEY": "A" * 43})
    assert wrong.returncode == 2
    assert "TAITO_MASTER_KEY" in wrong.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TAITO_LOG_LEVEL", "verbose"),
        ("TAITO_LOG_FORMAT", "xml"),
        ("TAITO_ACCESS_LOG", "sometimes"),
        ("TAITO_WALLET_LOGIN_MAX_FAILURES_ACCOUNT", "0"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(tmp_path: Path, variable: str, value: str) -> None:
    result = taito("serve", "--port", "1", cwd=tmp_path, env={variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("taito: error: bad TAITO_* configuration: ")
    assert variable.removeprefix("TAITO_").lower() in lines[0]


def test_the_log_level_is_read_in_any_case() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from taito.settings import Settings; print(Settings().log_level)"],
        env={**os.environ, "TAITO_LOG_LEVEL": "debug"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "DEBUG"


def test_worker_metrics_port_taken_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    from keys.store import KeyVault
    from taito.database import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'taito.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = taito(
            "worker",
            "--metrics-port",
            str(port),
            cwd=tmp_path,
            env={"TAITO_DATABASE_URL": url, "TAITO_MASTER_KEY": KeyVault.new_master_key()},
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"taito: error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in result.stderr
