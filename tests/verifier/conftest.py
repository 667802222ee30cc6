"""A real Taito server on loopback: issuer and verifier, did:web and status lists over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from tests.issuer.conftest import ACHIEVEMENT, OPERATOR
from tests.verifier.test_http import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A real HTTP server on loopback serving the routes a test sets."""
    with LoopbackServer() as running:
        yield running


@dataclass
class Live:
    base: str
    http: httpx.Client
    issuing: dict[str, str]
    achievement_id: str
    app: Any

    def forget(self) -> None:
        """Drop the verifier's HTTP cache (status lists are cacheable for max-age seconds)."""
        self.app.state.verifier.http.clear_cache()

    def issue(self, formats: list[str], **extra: Any) -> dict[str, Any]:
        response = self.http.post(
            "/issuers/live/credentials",
            headers=self.issuing,
            json={
                "achievement_id": self.achievement_id,
                "formats": formats,
                "recipient": {"email": "learner@example.fi", "given_name": "Aino"},
                **extra,
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, shared: Path) -> Iterator[Live]:
    contexts = tmp_path / "contexts"
    ContextCache(contexts).sync_from_dir(shared / "contexts")
    port = _port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        master_key=KeyVault.new_master_key(),
        operator_token=OPERATOR,
        public_url=base,
        context_dir=contexts,
        allow_private_network=True,
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    with httpx.Client(base_url=base, timeout=30) as http:
        operator = {"Authorization": f"Bearer {OPERATOR}"}
        assert (
            http.post(
                "/issuers",
                headers=operator,
                json={
                    "slug": "live",
                    "legal_name": {"en": "Live University"},
                    "url": "https://live.example",
                    "country": "FI",
                },
            ).status_code
            == 201
        )
        key = http.post(
            "/issuers/live/api-keys",
            headers=operator,
            json={"name": "t", "scopes": ["issuer:admin"]},
        ).json()["key"]
        issuing = {"Authorization": f"Bearer {key}"}
        achievement = http.post(
            "/issuers/live/achievements", headers=issuing, json=ACHIEVEMENT
        ).json()
        yield Live(base, http, issuing, achievement["id"], app)
    server.should_exit = True
    thread.join(timeout=20)
