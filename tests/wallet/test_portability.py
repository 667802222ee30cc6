"""Portability and erasure beyond one server: an export opens in another Taito (its own database
and master key) with the holder keys; tables added later are erased because the database is
asked; a removed credential takes the rows that point at it along."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from keys import jwk
from keys.did import default_method_id
from tests.wallet.conftest import (
    PASSWORD,
    import_archive,
    loader_of,
    register,
    session_of,
    signed_badge,
    signed_jwt,
    wallet_client,
    wallet_of,
)
from wallet import portability
from wallet.errors import InvalidArchive, WrongPassphrase
from wallet.holder import holder_key, holder_key_for
from wallet.tables import Learner

PASSPHRASE = "a long and private passphrase"


@pytest.fixture
def other_taito(tmp_path: Path, contexts_dir: Path) -> Iterator[TestClient]:
    """A second, independent Taito: its own SQLite database and its own master key."""
    with wallet_client(f"sqlite:///{tmp_path / 'other.db'}", contexts_dir) as client:
        yield client


def test_export_opens_in_another_taito_with_the_holder_keys(
    client: TestClient, other_taito: TestClient
) -> None:
    aino = register(client, "aino@example.fi")
    for body in (signed_badge(loader_of(client)), signed_jwt()):
        kwargs = {"json": body} if isinstance(body, dict) else {"content": body}
        assert client.post("/wallet/credentials", headers=aino.headers, **kwargs).status_code == 201
    keys_before = client.get("/wallet/keys", headers=aino.headers).json()
    archive = client.post(
        "/wallet/export", json={"passphrase": PASSPHRASE}, headers=aino.headers
    ).content

    moved = register(other_taito, "aino@example.fi")
    response = import_archive(other_taito, moved.headers, archive, PASSPHRASE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "imported": 2,
        "skipped_duplicates": 0,
        "unverified": 0,
        "holder_keys": 2,
    }
    listed = other_taito.get("/wallet/credentials", headers=moved.headers).json()["items"]
    assert all(i["verified"] and i["source"] == "import" for i in listed)
    # The old holder keys came along (inactive): a credential bound to one can still be presented.
    context = wallet_of(other_taito)
    with session_of(other_taito) as session:
        learner = session.get(Learner, moved.id)
        assert learner is not None
        for key in keys_before:
            found = holder_key_for(session, context, learner, key["public_jwk"])
            assert found is not None and found.kid == key["kid"]
            found.signer.sign(b"still mine")
        assert holder_key(session, context, learner).kid not in {k["kid"] for k in keys_before}
    keys_after = other_taito.get("/wallet/keys", headers=moved.headers).json()
    assert len(keys_after) == 4 and sum(k["active"] for k in keys_after) == 2


def test_archive_errors_are_typed(client: TestClient) -> None:
    aino = register(client)
    archive = client.post(
        "/wallet/export", json={"passphrase": PASSPHRASE}, headers=aino.headers
    ).content
    with pytest.raises(WrongPassphrase):
        portability.open_archive(archive, PASSPHRASE + "!")
    magic, rest = archive[: len(portability.MAGIC)], archive[len(portability.MAGIC) :]
    header, _, body = rest.partition(b"\n")
    greedy = json.loads(header)
    greedy["m"] = 4 * 1024 * 1024  # 4 GiB of argon2 memory: refused before deriving
    with pytest.raises(InvalidArchive):
        portability.open_archive(magic + json.dumps(greedy).encode() + b"\n" + body, PASSPHRASE)
    with pytest.raises(InvalidArchive):
        portability.open_archive(b"TAITO-WALLET 1\nnot json\n", PASSPHRASE)
    short = client.post("/wallet/export", json={"passphrase": "short"}, headers=aino.headers)
    assert short.status_code == 422


def test_tables_added_later_are_erased_and_follow_a_removed_credential(
    client: TestClient,
) -> None:
    aino, ben = register(client, "aino@example.fi"), register(client, "ben@example.fi")
    ids = {}
    for account in (aino, ben):
        response = client.post(
            "/wallet/credentials", json=signed_badge(loader_of(client)), headers=account.headers
        )
        ids[account.id] = response.json()["id"]
    with session_of(client) as session:
        connection = session.connection()
        # Shapes a later feature may add: a learner-owned table, a table pointing at it, and a
        # link to a credential.
        connection.execute(
            text(
                "CREATE TABLE t_share (id VARCHAR(36) PRIMARY KEY, "
                "learner_id TEXT NOT NULL REFERENCES learner(id), "
                "credential_id VARCHAR(36) REFERENCES wallet_credential(id))"
            )
        )
        connection.execute(
            text(
                "CREATE TABLE t_share_access (id INTEGER PRIMARY KEY, "
                "share_id VARCHAR(36) NOT NULL REFERENCES t_share(id))"
            )
        )
        for n, account in enumerate((aino, ben)):
            connection.execute(
                text("INSERT INTO t_share VALUES (:id, :learner, :credential)"),
                {"id": f"s{n}", "learner": account.id, "credential": ids[account.id]},
            )
            connection.execute(
                text("INSERT INTO t_share_access VALUES (:n, :share)"), {"n": n, "share": f"s{n}"}
            )
        connection.execute(
            text("INSERT INTO t_share VALUES ('kept', :learner, NULL)"), {"learner": ben.id}
        )
        session.commit()

    removed = client.delete(f"/wallet/credentials/{ids[ben.id]}", headers=ben.headers)
    assert removed.status_code == 204, removed.text
    deleted = client.request(
        "DELETE", "/wallet/me", json={"password": PASSWORD}, headers=aino.headers
    )
    assert deleted.status_code == 204, deleted.text
    with session_of(client) as session:
        shares = session.execute(text("SELECT id, credential_id FROM t_share")).all()
        accesses = session.execute(text("SELECT share_id FROM t_share_access")).all()
    # Ben's share of the credential he removed and Aino's share are gone, with the access rows
    # that pointed at them; Ben's other share stays.
    assert [tuple(r) for r in shares] == [("kept", None)] and accesses == []


def test_archive_key_names_are_not_trusted(client: TestClient) -> None:
    """A holder key in an archive is named by its own public key, whatever the archive says."""
    aino = register(client, "aino@example.fi")
    victim = client.get("/wallet/keys", headers=aino.headers).json()[0]["kid"]
    forged = jwk.generate("ed25519")
    payload = {
        "format": portability.FORMAT,
        "credentials": [],
        "holder_keys": [{"kid": victim, "private_jwk": forged.to_jwk(), "active": True}],
    }
    mallory = register(client, "mallory@example.fi")
    archive = portability.seal_archive(payload, PASSPHRASE, kdf={"m": 8 * 1024, "t": 1})
    response = import_archive(client, mallory.headers, archive, PASSPHRASE)
    assert response.status_code == 200 and response.json()["holder_keys"] == 1
    kids = {k["kid"] for k in client.get("/wallet/keys", headers=mallory.headers).json()}
    assert default_method_id(forged.public_key()) in kids and victim not in kids
    rsa = {**payload, "holder_keys": [{"private_jwk": jwk.generate("rsa").to_jwk()}]}
    refused = import_archive(
        client, mallory.headers, portability.seal_archive(rsa, PASSPHRASE), PASSPHRASE
    )
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_archive"
