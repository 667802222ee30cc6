"""End to end over real HTTP: one Taito server on loopback (issuer, wallet and verifier), on each
database, with an institution that issues every format and a learner with a wallet account.

The institution's did:web, its status lists and the Europass seal chain are served by the same
server, so every credential verifies for real (signatures, did:web resolution over HTTP, status
lists) as an employer's verifier would see it.

Fixtures::

    server   -> Server: base URL, httpx client, the app (and its contexts), the institution
    learner  -> Learner: a registered wallet account on that server (``headers`` carry its token)

Helpers: ``server.issue(formats, ...)``, ``server.download(id, fmt)``, ``server.clr()``,
``server.baked(id, "png"|"svg")``, ``server.register()``, ``learner.import_credential(...)``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from keys import jwk, x509
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings

OPERATOR = "e2e-operator-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"
SLUG = "e2e-uni"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only
ACHIEVEMENT: dict[str, Any] = {
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
    "learning_outcomes": [
        {
            "text": {"en": "Explain a data set with descriptive statistics."},
            "esco_skill": "http://data.europa.eu/esco/skill/2f3e8f0b-1f0e-4b46-9c4b-0c3a0b8e0f3a",
        }
    ],
    "ects_credits": 5,
    "workload_hours": 135,
    "eqf_level": 6,
    "isced_f": "0613",
    "participation_mode": "online",
    "assessment_type": "Project work",
}


@dataclass
class Learner:
    server: Server
    id: str
    email: str
    headers: dict[str, str]
    refresh_token: str

    def import_credential(
        self,
        content: bytes | str,
        content_type: str = "text/plain",
        *,
        accept_unverified: bool = False,
        filename: str | None = None,
    ) -> httpx.Response:
        """POST /wallet/credentials: a raw body, or a multipart upload when ``filename``."""
        params = {"accept_unverified": "true"} if accept_unverified else None
        if filename is not None:
            return self.server.http.post(
                "/wallet/credentials",
                files={"file": (filename, content, content_type)},
                headers=self.headers,
                params=params,
            )
        return self.server.http.post(
            "/wallet/credentials",
            content=content,
            headers={**self.headers, "content-type": content_type},
            params=params,
        )


@dataclass
class Server:
    base: str
    http: httpx.Client
    app: FastAPI
    issuing: dict[str, str]
    achievement_id: str
    slug: str = SLUG
    recipient: dict[str, Any] = field(
        default_factory=lambda: {
            "email": "aino.virtanen@example.fi",
            "given_name": "Aino",
            "family_name": "Virtanen",
            "student_number": "0123456",
        }
    )

    def forget(self) -> None:
        """Drop the verifier's HTTP cache (status lists are cacheable for max-age seconds)."""
        self.app.state.verifier.http.clear_cache()

    def issue(self, formats: list[str], **extra: Any) -> dict[str, Any]:
        response = self.http.post(
            f"/issuers/{self.slug}/credentials",
            headers=self.issuing,
            json={
                "achievement_id": extra.pop("achievement_id", self.achievement_id),
                "recipient": self.recipient,
                "formats": formats,
                **extra,
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def download(self, credential_id: str, fmt: str) -> httpx.Response:
        """One format of an issued credential, byte for byte as signed."""
        response = self.http.get(
            f"/issuers/{self.slug}/credentials/{credential_id}/download/{fmt}",
            headers=self.issuing,
        )
        assert response.status_code == 200, response.text
        return response

    def baked(self, credential_id: str, kind: str) -> bytes:
        response = self.http.get(
            f"/issuers/{self.slug}/credentials/{credential_id}/image.{kind}",
            headers=self.issuing,
        )
        assert response.status_code == 200, response.text
        return response.content

    def clr(self, name: str = "Data science studies") -> httpx.Response:
        response = self.http.post(
            f"/issuers/{self.slug}/clr",
            headers=self.issuing,
            json={"recipient": self.recipient, "name": name},
        )
        assert response.status_code == 200, response.text
        return response

    def achievement(self, **changes: Any) -> str:
        response = self.http.post(
            f"/issuers/{self.slug}/achievements",
            headers=self.issuing,
            json={**ACHIEVEMENT, **changes},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def register(self, email: str | None = None) -> Learner:
        email = email or f"learner-{uuid.uuid4().hex[:8]}@example.fi"
        response = self.http.post(
            "/wallet/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Aino"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Learner(
            self,
            body["learner"]["id"],
            email,
            {"Authorization": f"Bearer {body['tokens']['access_token']}"},
            body["tokens"]["refresh_token"],
        )


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(database_url: str, shared: Path, tmp_path: Path) -> Iterator[Server]:
    contexts = tmp_path / "contexts"
    ContextCache(contexts).sync_from_dir(shared / "contexts")
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    ca_key = jwk.generate("p256")
    ca = x509.make_ca("Taito E2E Seal CA", ca_key, now=datetime.now(UTC), days=30)
    (tmp_path / "seal-ca.pem").write_bytes(x509.dump_pem(ca))
    (tmp_path / "seal-ca.jwk").write_text(json.dumps(ca_key.to_jwk()))
    port = _port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        operator_token=OPERATOR,
        public_url=base,
        context_dir=contexts,
        allow_private_network=True,
        seal_ca_cert_file=tmp_path / "seal-ca.pem",
        seal_ca_key_file=tmp_path / "seal-ca.jwk",
        trust_anchors_file=tmp_path / "seal-ca.pem",
    )
    app = create_app(settings)
    app.state.wallet.password_hasher = FAST_HASHER
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            operator = {"Authorization": f"Bearer {OPERATOR}"}
            created = http.post(
                "/issuers",
                headers=operator,
                json={
                    "slug": SLUG,
                    "legal_name": {"en": "E2E University", "fi": "E2E Yliopisto"},
                    "url": "https://e2e-uni.example",
                    "email": "registrar@e2e-uni.example",
                    "country": "FI",
                    "legal_identifier": "0245896-3",
                    "key_types": ["ed25519", "p256"],
                },
            )
            assert created.status_code == 201, created.text
            key = http.post(
                f"/issuers/{SLUG}/api-keys",
                headers=operator,
                json={"name": "registrar", "scopes": ["issuer:admin"]},
            ).json()["key"]
            issuing = {"Authorization": f"Bearer {key}"}
            achievement = http.post(
                f"/issuers/{SLUG}/achievements", headers=issuing, json=ACHIEVEMENT
            )
            assert achievement.status_code == 201, achievement.text
            yield Server(base, http, app, issuing, str(achievement.json()["id"]))
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def learner(server: Server) -> Learner:
    return server.register("aino.virtanen@example.fi")
