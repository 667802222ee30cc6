"""Storage: encrypted at rest with bytes as received, metadata columns, duplicates, holder keys."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from keys.did import resolve_offline
from tests.wallet.conftest import (
    PASSWORD,
    loader_of,
    session_of,
    signed_badge,
    signed_jwt,
    wallet_of,
)
from wallet import accounts, envelope, storage
from wallet.errors import CorruptCredential, CredentialRejected, DuplicateCredential, NotFound
from wallet.holder import holder_dids, holder_key
from wallet.tables import WalletCredential


def _learner(client: TestClient, email: str) -> accounts.Learner:  # type: ignore[name-defined]
    with session_of(client) as session:
        learner = accounts.register(session, wallet_of(client), email, PASSWORD)
        session.expunge(learner)
        return learner


def test_import_stores_bytes_encrypted_and_reads_them_back(client: TestClient) -> None:
    context = wallet_of(client)
    learner = _learner(client, "aino@example.fi")
    raw = json.dumps(signed_badge(loader_of(client)), indent=3).encode()
    with session_of(client) as session:
        row = storage.import_credential(session, context, learner, raw)
        session.commit()
        credential_id = row.id
    with session_of(client) as session:
        stored = session.get(WalletCredential, credential_id)
        assert stored is not None
        assert raw not in stored.ciphertext and b"Data Science" not in stored.ciphertext
        assert stored.verified and stored.status == "valid" and stored.format == "ldp_vc"
        assert stored.name == "Introduction to Data Science"
        assert [s["framework"] for s in stored.skills] == ["ESCO", "ESCO"]
        assert stored.profile["ects"] == 5
        decrypted = storage.get_decrypted(session, context, learner, credential_id)
        assert decrypted.raw == raw  # bytes as received, whitespace and all
        # The AAD binds the credential id: the blob does not open under another row's id.
        with pytest.raises(CorruptCredential):
            envelope.decrypt(
                envelope.unwrap(context.vault(), learner.id, learner.wrapped_data_key),
                learner.id,
                "another-id",
                stored.ciphertext,
            )


def test_duplicates_and_other_learners(client: TestClient) -> None:
    context = wallet_of(client)
    aino, ben = _learner(client, "aino@example.fi"), _learner(client, "ben@example.fi")
    token = signed_jwt()
    with session_of(client) as session:
        first = storage.import_credential(session, context, aino, token)
        session.commit()
        with pytest.raises(DuplicateCredential) as caught:
            storage.import_credential(session, context, aino, "\n" + token + "\n")
        assert caught.value.extra["existing"] == first.id
        # The same credential in another learner's wallet is that learner's own copy.
        storage.import_credential(session, context, ben, token)
        session.commit()
        with pytest.raises(NotFound):
            storage.get_decrypted(session, context, ben, first.id)
        count = session.exec(select(WalletCredential)).all()
        assert len(count) == 2


def test_unverified_is_refused_unless_accepted(client: TestClient) -> None:
    context = wallet_of(client)
    learner = _learner(client, "aino@example.fi")
    badge = signed_badge(loader_of(client))
    badge["credentialSubject"]["achievement"]["name"] = "Tampered"
    with session_of(client) as session:
        with pytest.raises(CredentialRejected) as caught:
            storage.import_credential(session, context, learner, json.dumps(badge))
        assert caught.value.extra["report"]["verified"] is False
        assert session.exec(select(WalletCredential)).all() == []
        row = storage.import_credential(
            session, context, learner, json.dumps(badge), accept_unverified=True
        )
        session.commit()
        assert row.accepted_unverified and not row.verified and row.status == "unverified"
        assert row.name == "Tampered"


def test_holder_keys_sign_and_resolve(client: TestClient) -> None:
    context = wallet_of(client)
    learner = _learner(client, "aino@example.fi")
    with session_of(client) as session:
        for alg, method in (("EdDSA", "did:key"), ("ES256", "did:jwk"), ("ES256", "did:key")):
            signer, did, kid, public_jwk = holder_key(
                session,
                context,
                learner,
                alg,
                did_method=method,  # type: ignore[arg-type]
            )
            assert kid.startswith(did + "#") and signer.key_id == kid
            method_of_kid = resolve_offline(kid)
            method_of_kid.public_key.verify(signer.sign(b"hello"), b"hello")
            assert method_of_kid.public_key.to_jwk() == public_jwk
        assert {k["algorithm"] for k in holder_dids(session, context, learner)} == {
            "EdDSA",
            "ES256",
        }
        rows = session.exec(text("SELECT owner FROM key")).all()
        assert {r[0] for r in rows} == {learner.key_owner}
