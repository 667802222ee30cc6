"""A wallet app on each database, learners, and credentials signed with did:key issuers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import Session

from bench.inputs import open_badge
from keys import data_integrity, jwk, vc_jwt
from keys.did import did_key
from keys.signing import KeySigner
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from wallet.context import WalletContext

PUBLIC_URL = "https://wallet.example.test"
PASSWORD = "correct horse battery staple"
# Cheap argon2id parameters for tests only (production uses RFC 9106's recommendation).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ISSUER_KEY = jwk.generate("ed25519")
ISSUER_DID = did_key(ISSUER_KEY.public_key())
ISSUER_SIGNER = KeySigner.for_key(ISSUER_KEY)


@pytest.fixture
def contexts_dir(shared: Path, tmp_path: Path) -> Path:
    cache = ContextCache(tmp_path / "contexts")
    cache.sync_from_dir(shared / "contexts")
    return tmp_path / "contexts"


def wallet_settings(database_url: str, contexts: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        public_url=PUBLIC_URL,
        context_dir=contexts,
        **extra,
    )


@contextmanager
def wallet_client(database_url: str, contexts: Path) -> Iterator[TestClient]:
    """A migrated database and a Taito app over it (its own master key)."""
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(wallet_settings(database_url, contexts))
    app.state.wallet.password_hasher = FAST_HASHER
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def client(database_url: str, contexts_dir: Path) -> Iterator[TestClient]:
    with wallet_client(database_url, contexts_dir) as test_client:
        yield test_client


def import_archive(
    client: TestClient, headers: dict[str, str], archive: bytes, passphrase: str
) -> Any:
    """POST /wallet/import as a browser form would."""
    return client.post(
        "/wallet/import",
        files={"file": ("wallet.taito", archive)},
        data={"passphrase": passphrase},
        headers=headers,
    )


def wallet_of(client: TestClient) -> WalletContext:
    context: WalletContext = client.app.state.wallet  # type: ignore[attr-defined]
    return context


def session_of(client: TestClient) -> Session:
    return Session(wallet_of(client).engine)


@dataclass
class Account:
    id: str
    email: str
    headers: dict[str, str]
    refresh_token: str


def register(client: TestClient, email: str | None = None, password: str = PASSWORD) -> Account:
    email = email or f"learner-{uuid.uuid4().hex[:8]}@example.fi"
    response = client.post(
        "/wallet/auth/register",
        json={"email": email, "password": password, "display_name": "Aino"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(
        body["learner"]["id"],
        email,
        {"Authorization": f"Bearer {body['tokens']['access_token']}"},
        body["tokens"]["refresh_token"],
    )


def signed_badge(
    loader: Any, *, name: str = "Introduction to Data Science", alignments: int = 2, **changes: Any
) -> dict[str, Any]:
    """An OB 3.0 credential signed (eddsa-rdfc-2022) by a did:key issuer: verifies offline."""
    credential = open_badge(ISSUER_DID, alignments=alignments)
    credential["credentialSubject"]["achievement"]["name"] = name
    credential["id"] = f"urn:uuid:{uuid.uuid4()}"
    credential.update(changes)
    return data_integrity.add_proof(
        credential,
        signer=ISSUER_SIGNER,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=datetime.now(UTC) - timedelta(minutes=5),
    )


def signed_jwt(name: str = "Databases") -> str:
    """An OB 3.0 VC-JWT (OB 3.0 §8.2) signed by the did:key issuer."""
    credential = open_badge(ISSUER_DID, alignments=1)
    credential["credentialSubject"]["achievement"]["name"] = name
    credential["id"] = f"urn:uuid:{uuid.uuid4()}"
    return vc_jwt.sign_credential_jwt(
        credential, signer=ISSUER_SIGNER, profile="ob3", now=datetime.now(UTC)
    )


def loader_of(client: TestClient) -> Any:
    return wallet_of(client).verifier.loader
