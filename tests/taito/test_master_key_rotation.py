"""Rotating the master key: the service runs on the new key with the old one as
``TAITO_MASTER_KEY_PREVIOUS`` while ``taito keys rewrap`` re-seals everything, then on the new key
alone; nothing is lost, and a blob no configured key opens stops the rewrap with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from keys import store as store_module
from keys.errors import KeyStoreError
from keys.store import KeyStore, KeyVault, StoredKey, _aad
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.settings import Settings
from tests.issuer.conftest import OPERATOR, Env, make_institution, make_key
from tests.issuer.test_api import _achievement, _issue
from tests.taito.test_cli import taito
from tests.wallet.conftest import PASSWORD, PUBLIC_URL, register, signed_jwt
from wallet.envelope import _key_aad
from wallet.tables import Learner


@pytest.fixture
def contexts(shared: Path, tmp_path: Path) -> Path:
    ContextCache(tmp_path / "contexts").sync_from_dir(shared / "contexts")
    return tmp_path / "contexts"


@contextmanager
def _served(database_url: str, contexts: Path, **keys: Any) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        operator_token=OPERATOR,  # type: ignore[arg-type]
        public_url=PUBLIC_URL,
        context_dir=contexts,
        **keys,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _rewrap(database_url: str, tmp_path: Path, new: str, old: str) -> Any:
    return taito(
        "keys",
        "rewrap",
        cwd=tmp_path,
        env={
            "TAITO_DATABASE_URL": database_url,
            "TAITO_MASTER_KEY": new,
            "TAITO_MASTER_KEY_PREVIOUS": old,
        },
    )


def _all_open_with(engine: Engine, master_key: str) -> bool:
    """Every private key and learner data key opens with ``master_key`` alone."""
    vault = KeyVault(master_key)
    with Session(engine) as session:
        try:
            for row in session.exec(select(StoredKey)):
                KeyStore(vault).private_key(row)
            for learner in session.exec(select(Learner)):
                vault.open(learner.wrapped_data_key, _key_aad(learner.id))
        except KeyStoreError:
            return False
    return True


def _sign_in(client: TestClient, email: str) -> dict[str, str]:
    tokens = client.post("/wallet/auth/login", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def test_the_master_key_is_rotated_while_serving_and_nothing_is_lost(
    database_url: str, engine: Engine, contexts: Path, tmp_path: Path
) -> None:
    old, new = KeyVault.new_master_key(), KeyVault.new_master_key()
    token = signed_jwt()
    with _served(database_url, contexts, master_key=old) as client:
        make_institution(client, "uni")
        admin = make_key(client, "uni", ["issuer:admin"])
        env = Env(client, admin, admin, "uni")
        achievement = _achievement(env)
        assert _issue(env, achievement, ["ob3-di"]).status_code == 201
        learner = register(client)
        imported = client.post(
            "/wallet/credentials",
            content=token,
            headers={**learner.headers, "content-type": "application/vc+jwt"},
        )
        assert imported.status_code == 201, imported.text
        raw = f"/wallet/credentials/{imported.json()['id']}/raw"
    with Session(engine) as session:
        sealed_keys = len(session.exec(select(StoredKey)).all())

    # 1. the new key, the old one as previous: everything works, new seals use the new key
    with _served(database_url, contexts, master_key=new, master_key_previous=old) as client:
        env = Env(client, admin, admin, "uni")
        assert _issue(env, achievement, ["ob3-di"]).status_code == 201
        # an access token from before the change stays valid until it expires
        assert client.get(raw, headers=learner.headers).text == token
        assert client.get(raw, headers=_sign_in(client, learner.email)).text == token
        newcomer = register(client)
    assert not _all_open_with(engine, new) and not _all_open_with(engine, old)

    # 2. the rewrap: every old seal moves to the new key, in one transaction
    done = _rewrap(database_url, tmp_path, new, old)
    assert done.returncode == 0, done.stderr
    with Session(engine) as session:
        total_keys = len(session.exec(select(StoredKey)).all())
    moved = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    assert moved["private keys"].split("│")[2].strip() == str(sealed_keys)
    assert moved["private keys"].split("│")[3].strip() == str(total_keys - sealed_keys)
    assert [c.strip() for c in moved["learner data keys"].split("│")[2:4]] == ["1", "1"]
    assert _all_open_with(engine, new)
    again = _rewrap(database_url, tmp_path, new, old)  # nothing left to move
    assert again.returncode == 0 and "re-sealed" in again.stdout
    assert [c.strip() for c in again.stdout.split("private keys")[1].split("│")[1:3]] == [
        "0",
        str(total_keys),
    ]

    # 3. the new key alone
    with _served(database_url, contexts, master_key=new) as client:
        env = Env(client, admin, admin, "uni")
        assert _issue(env, achievement, ["ob3-di"]).status_code == 201
        assert client.get(raw, headers=learner.headers).status_code == 401  # the old key's
        assert client.get(raw, headers=_sign_in(client, learner.email)).text == token
        assert client.get(
            "/wallet/credentials", headers=_sign_in(client, newcomer.email)
        ).is_success


def test_a_seal_no_configured_key_opens_stops_the_rewrap_with_nothing_changed(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    old, new, stranger = (KeyVault.new_master_key() for _ in range(3))
    with Session(engine) as session:
        KeyStore(KeyVault(old)).create(session, "issuer:a", "ed25519")
        KeyStore(KeyVault(stranger)).create(session, "issuer:b", "ed25519")  # under no known key
        session.commit()
        before = {r.kid: r.sealed_private for r in session.exec(select(StoredKey))}
    failed = _rewrap(database_url, tmp_path, new, old)
    assert failed.returncode == 1
    assert "nothing was changed" in failed.stderr and "neither TAITO_MASTER_KEY" in failed.stderr
    with Session(engine) as session:
        assert {r.kid: r.sealed_private for r in session.exec(select(StoredKey))} == before
    for secret in (old, new, stranger):
        assert secret not in failed.stdout + failed.stderr
    # without a previous key there is nothing to rotate from
    alone = taito(
        "keys",
        "rewrap",
        cwd=tmp_path,
        env={"TAITO_DATABASE_URL": database_url, "TAITO_MASTER_KEY": new},
    )
    assert alone.returncode == 2 and "TAITO_MASTER_KEY_PREVIOUS" in alone.stderr


def test_the_rewrap_goes_page_by_page_and_a_run_cut_short_is_finished_by_the_next(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RESEAL_PAGE", 2)
    old, new, stranger = (KeyVault.new_master_key() for _ in range(3))
    with Session(engine) as session:
        for i in range(5):
            KeyStore(KeyVault(old)).create(session, f"issuer:{i}", "ed25519")
        KeyStore(KeyVault(stranger)).create(session, "issuer:z", "ed25519")  # on the last page
        session.commit()
    rotating = KeyStore(KeyVault(new, [old]))
    with Session(engine) as session, pytest.raises(KeyStoreError):
        rotating.reseal_all(session)  # without the first pass: cut short on the last page
    with Session(engine) as session:
        rows = session.exec(select(StoredKey).where(StoredKey.owner != "issuer:z")).all()
        for row in rows:
            rotating.private_key(row)  # everything still opens while both keys are configured
        moved = sum(
            1
            for row in rows
            if rotating.vault.reseal(row.sealed_private, _aad(row.owner, row.kid)) is None
        )
        assert moved == 4  # two pages committed before the stranger's
        session.delete(session.exec(select(StoredKey).where(StoredKey.owner == "issuer:z")).one())
        session.commit()
    with Session(engine) as session:
        assert rotating.reseal_all(session) == (1, 4)  # the next run finishes it
        assert rotating.reseal_all(session, check_only=True) == (0, 5)
    assert _all_open_with(engine, new)


def test_the_vault_opens_with_the_previous_key_and_seals_with_the_current() -> None:
    old, new = KeyVault.new_master_key(), KeyVault.new_master_key()
    sealed_old = KeyVault(old).seal(b"secret", b"aad")
    rotating = KeyVault(new, [old])
    assert rotating.open(sealed_old, b"aad") == b"secret"
    moved = rotating.reseal(sealed_old, b"aad")
    assert moved is not None and KeyVault(new).open(moved, b"aad") == b"secret"
    assert rotating.reseal(moved, b"aad") is None  # already under the current key
    with pytest.raises(KeyStoreError):
        rotating.open(sealed_old, b"other aad")  # the binding holds under either key
    with pytest.raises(KeyStoreError):
        KeyVault(new).open(sealed_old, b"aad")


def test_new_master_writes_a_fresh_key_only_its_owner_reads(tmp_path: Path) -> None:
    made = taito("keys", "new-master", "--out", "next.key", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    key = (tmp_path / "next.key").read_text().strip()
    KeyVault(key)  # a valid master key
    assert key not in made.stdout + made.stderr
    assert (tmp_path / "next.key").stat().st_mode & 0o077 == 0
    again = taito("keys", "new-master", "--out", "next.key", cwd=tmp_path)
    assert again.returncode == 2 and (tmp_path / "next.key").read_text().strip() == key
