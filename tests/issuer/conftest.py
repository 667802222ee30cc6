"""An issuer app on each database, with an operator, an institution and API keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from keys import jwk, x509
from keys.did import (
    VerificationMethod,
    did_web_url,
    method_from_document,
    resolve_offline,
    split_did_url,
)
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings

OPERATOR = "operator-token-for-tests-0123456789"
PUBLIC_URL = "https://uni.example.test"

ACHIEVEMENT = {
    "name": {"en": "Introduction to Data Science", "fi": "Johdatus datatieteeseen"},
    "description": {"en": "Statistics, data wrangling and visualisation with Python."},
    "criteria": {"en": "Passed the final project and three graded assignments."},
    "achievement_type": "Course",
    "alignments": [
        {
            "target_name": "use statistical techniques",
            "target_framework": "ESCO",
            "target_url": "http://data.europa.eu/esco/skill/cc7e8ff7-1ab8-4a56-b2fc-2a6b6b8bba1b",
        }
    ],
    "learning_outcomes": [{"text": {"en": "Explain a data set with descriptive statistics."}}],
    "ects_credits": 5,
    "workload_hours": 135,
    "eqf_level": 6,
    "isced_f": "0613",
    "participation_mode": "online",
    "assessment_type": "Project work",
}


@dataclass
class Env:
    client: TestClient
    admin: dict[str, str]
    issuing: dict[str, str]
    slug: str

    def resolve(self, did_url: str) -> VerificationMethod:
        """Resolve did:key/did:jwk offline and this server's did:web through its own API."""
        did, _ = split_did_url(did_url)
        if not did.startswith("did:web:"):
            return resolve_offline(did_url)
        path = "/" + did_web_url(did).split("/", 3)[3]
        document = self.client.get(path).json()
        return method_from_document(document, did_url)


@pytest.fixture
def app_client(database_url: str, shared: Path, tmp_path: Path) -> Iterator[TestClient]:
    cache = ContextCache(tmp_path / "contexts")
    cache.sync_from_dir(shared / "contexts")
    migrations = make_engine(database_url)
    upgrade(migrations)
    migrations.dispose()
    ca_key = jwk.generate("p256")
    ca = x509.make_ca("Taito Test Seal CA", ca_key, now=datetime.now(UTC), days=30)
    (tmp_path / "seal-ca.pem").write_bytes(x509.dump_pem(ca))
    (tmp_path / "seal-ca.jwk").write_text(json.dumps(ca_key.to_jwk()))
    settings = Settings(
        seal_ca_cert_file=tmp_path / "seal-ca.pem",
        seal_ca_key_file=tmp_path / "seal-ca.jwk",
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        operator_token=OPERATOR,
        public_url=PUBLIC_URL,
        context_dir=tmp_path / "contexts",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def operator() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR}"}


def make_institution(client: TestClient, slug: str, **extra: Any) -> dict[str, Any]:
    body = {
        "slug": slug,
        "legal_name": {"en": f"University {slug}", "fi": f"Yliopisto {slug}"},
        "url": f"https://{slug}.example.test",
        "email": f"registrar@{slug}.example.test",
        "country": "FI",
        "legal_identifier": "0245896-3",
        **extra,
    }
    response = client.post("/issuers", json=body, headers=operator())
    assert response.status_code == 201, response.text
    return dict(response.json())


def make_key(
    client: TestClient, slug: str, scopes: list[str], auth: dict[str, str] | None = None
) -> dict[str, str]:
    response = client.post(
        f"/issuers/{slug}/api-keys",
        json={"name": "test", "scopes": scopes},
        headers=auth or operator(),
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture
def env(app_client: TestClient) -> Env:
    make_institution(app_client, "helsinki", key_types=["ed25519", "p256", "rsa"])
    admin = make_key(app_client, "helsinki", ["issuer:admin"])
    issuing = make_key(app_client, "helsinki", ["achievements:write", "credentials:issue"], admin)
    return Env(app_client, admin, issuing, "helsinki")
