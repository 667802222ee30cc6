"""The sealed key store on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from keys.errors import InvalidKey, KeyStoreError
from keys.jwk import KEY_TYPES, KeyType
from keys.store import KeyStore, KeyVault, StoredKey


@pytest.fixture
def store() -> KeyStore:
    return KeyStore(KeyVault(KeyVault.new_master_key()))


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_round_trip_through_the_database(
    engine: Engine, store: KeyStore, key_type: KeyType
) -> None:
    with Session(engine) as session:
        row = store.create(session, "issuer:uni", key_type)
        session.commit()
        kid = row.kid
        secret = store.private_key(row).to_jwk()["d"]
    with Session(engine) as session:
        loaded = session.exec(select(StoredKey).where(StoredKey.kid == kid)).one()
        assert secret.encode() not in loaded.sealed_private
        key = store.private_key(loaded)
        assert key.to_jwk()["d"] == secret
        assert key.public_key() == loaded.public_key
        signer = store.signer(loaded)
        loaded.public_key.verify(signer.sign(b"hello"), b"hello")


def test_rotation_keeps_old_keys_for_verification(engine: Engine, store: KeyStore) -> None:
    with Session(engine) as session:
        first = store.create(session, "issuer:uni", "ed25519")
        second = store.rotate(session, "issuer:uni", "ed25519")
        other = store.create(session, "issuer:other", "ed25519")
        session.commit()
        assert store.active(session, "issuer:uni", "ed25519").kid == second.kid  # type: ignore[union-attr]
        kids = [row.kid for row in store.keys(session, "issuer:uni")]
        assert kids == [first.kid, second.kid]
        assert other.kid not in kids
        assert not session.get(StoredKey, first.id).active  # type: ignore[union-attr]


def test_wrong_master_key_fails_clearly_and_changes_nothing(
    engine: Engine, store: KeyStore
) -> None:
    with Session(engine) as session:
        row = store.create(session, "issuer:uni", "p256")
        session.commit()
        before = (row.kid, row.sealed_private, row.active)
    wrong = KeyStore(KeyVault(KeyVault.new_master_key()))
    with Session(engine) as session:
        loaded = session.exec(select(StoredKey)).one()
        with pytest.raises(KeyStoreError) as caught:
            wrong.private_key(loaded)
        assert "TAITO_MASTER_KEY" in caught.value.detail
        count = session.exec(select(func.count()).select_from(StoredKey)).one()
        assert count == 1
        assert (loaded.kid, loaded.sealed_private, loaded.active) == before


def test_sealed_key_is_bound_to_its_row(engine: Engine, store: KeyStore) -> None:
    with Session(engine) as session:
        row = store.create(session, "issuer:a", "ed25519")
        row.owner = "issuer:b"  # a blob moved to another owner must not open
        with pytest.raises(KeyStoreError):
            store.private_key(row)
        session.rollback()


def test_failed_insert_leaves_no_partial_state(engine: Engine, store: KeyStore) -> None:
    with Session(engine) as session:
        row = store.create(session, "issuer:uni", "ed25519")
        session.commit()
        duplicate_kid = row.kid
    with Session(engine) as session:
        store.create(session, "issuer:uni", "p256")
        with pytest.raises(Exception):  # noqa: B017 - the unique constraint, per driver
            store.create(session, "issuer:uni", "ed25519", kid=duplicate_kid)
        session.rollback()
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(StoredKey)).one() == 1


@pytest.mark.parametrize("bad", ["short", "", "!!!!", "A" * 20])
def test_master_key_must_be_strong_base64url(bad: str) -> None:
    with pytest.raises(InvalidKey):
        KeyVault(bad)


def test_no_private_key_in_logs_or_reprs(
    engine: Engine, store: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Session(engine) as session:
        row = store.create(session, "issuer:uni", "ed25519")
        session.commit()
        secret = store.private_key(row).to_jwk()["d"]
        texts = [repr(row), str(row), repr(store.signer(row)), repr(store.vault), caplog.text]
    assert all(secret not in text for text in texts)
