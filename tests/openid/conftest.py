"""A real Taito server on loopback (uvicorn), on SQLite and PostgreSQL, with one institution.

The OpenID tests talk to it over HTTP only, as a wallet and a relying party would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.demo_openid import loopback
from taito.settings import Settings
from tests.issuer.conftest import ACHIEVEMENT, OPERATOR

SLUG = "tampere"
RECIPIENT = {"email": "aino.virtanen@example.fi", "given_name": "Aino", "family_name": "Virtanen"}


@dataclass
class Server:
    base: str
    http: httpx.Client
    admin: dict[str, str]
    achievement_id: str
    app: Any

    @property
    def issuer(self) -> str:
        return f"{self.base}/issuers/{SLUG}"

    def offer(self, **body: Any) -> dict[str, Any]:
        payload = {"achievement_id": self.achievement_id, "recipient": RECIPIENT, **body}
        response = self.http.post(f"/issuers/{SLUG}/offers", headers=self.admin, json=payload)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def public_host() -> str:
    """The host of the server's public URL (a module may name it, e.g. for a certificate)."""
    return "127.0.0.1"


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    """More settings for the server (a module overrides this fixture)."""
    return {}


@pytest.fixture
def server(
    database_url: str,
    tmp_path: Path,
    shared: Path,
    public_host: str,
    extra_settings: dict[str, Any],
) -> Iterator[Server]:
    contexts = tmp_path / "contexts"
    ContextCache(contexts).sync_from_dir(shared / "contexts")
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()

    def make_app(base: str) -> Any:
        return create_app(
            Settings(
                database_url=database_url,
                master_key=KeyVault.new_master_key(),
                operator_token=OPERATOR,
                public_url=base.replace("127.0.0.1", public_host),
                context_dir=contexts,
                allow_private_network=True,
                **extra_settings,
            )
        )

    with (
        loopback(make_app) as (loop, app),
        httpx.Client(base_url=loop.replace("127.0.0.1", public_host), timeout=60) as http,
    ):
        base = loop.replace("127.0.0.1", public_host)
        operator = {"Authorization": f"Bearer {OPERATOR}"}
        created = http.post(
            "/issuers",
            headers=operator,
            json={
                "slug": SLUG,
                "legal_name": {
                    "fi": "Tampereen korkeakoulu",
                    "sv": "Tammerfors högskola",
                    "en": "Tampere College",
                },
                "url": "https://tampere.example",
                "country": "FI",
                "key_types": ["ed25519", "p256", "rsa"],
            },
        )
        assert created.status_code == 201, created.text
        key = http.post(
            f"/issuers/{SLUG}/api-keys",
            headers=operator,
            json={"name": "registrar", "scopes": ["issuer:admin"]},
        ).json()["key"]
        admin = {"Authorization": f"Bearer {key}"}
        achievement = http.post(
            f"/issuers/{SLUG}/achievements", headers=admin, json=ACHIEVEMENT
        ).json()
        yield Server(base, http, admin, achievement["id"], app)
