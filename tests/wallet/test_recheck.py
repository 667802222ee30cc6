"""The periodic status job: ``taito wallet recheck`` re-verifies what was not checked lately."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.taito.test_cli import taito
from tests.wallet.conftest import loader_of, register, session_of, signed_badge, wallet_of
from wallet import storage
from wallet.tables import WalletCredential


def _age(client: TestClient, credential_id: str, hours: int) -> None:
    with session_of(client) as session:
        row = session.get(WalletCredential, credential_id)
        assert row is not None
        row.checked_at = wallet_of(client).clock() - timedelta(hours=hours)
        row.report = {"verified": True, "checks": [], "stale": True}
        session.add(row)
        session.commit()


def test_recheck_due_only_touches_stale_credentials(client: TestClient) -> None:
    account = register(client)
    ids = [
        client.post(
            "/wallet/credentials", json=signed_badge(loader_of(client)), headers=account.headers
        ).json()["id"]
        for _ in range(2)
    ]
    _age(client, ids[0], hours=25)
    _age(client, ids[1], hours=2)
    with session_of(client) as session:
        assert storage.recheck_due(session, wallet_of(client)) == 1
        rows = {r.id: r for r in session.exec(select(WalletCredential))}
    assert "stale" not in rows[ids[0]].report and rows[ids[0]].report["verified"] is True
    assert rows[ids[1]].report.get("stale") is True


def test_cli_recheck(client: TestClient, tmp_path: Path) -> None:
    account = register(client)
    credential_id = client.post(
        "/wallet/credentials", json=signed_badge(loader_of(client)), headers=account.headers
    ).json()["id"]
    _age(client, credential_id, hours=48)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    result = taito(
        "wallet",
        "recheck",
        cwd=tmp_path,
        env={
            "TAITO_DATABASE_URL": settings.database_url,
            "TAITO_MASTER_KEY": settings.master_key.get_secret_value(),
            "TAITO_CONTEXT_DIR": str(settings.context_dir),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "1 wallet credential(s) re-checked" in result.stdout
    with session_of(client) as session:
        row = session.get(WalletCredential, credential_id)
        assert row is not None and "stale" not in row.report and row.status == "valid"
