"""Fixtures and helpers of the attack suite (``docs/security.md`` maps each test to its threat).

The issuer fixtures (``app_client``, ``env``: an app on SQLite and PostgreSQL with an institution
and API keys) are re-used from ``tests/issuer/conftest.py``. Remote fetches go through a
:class:`~verifier.http.GuardedHttp` with the production policy, an in-memory transport that
records every request it is asked to send, and a fake DNS resolver: nothing leaves the process,
and a test can assert that an attack fetched nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from keys import base64url, jwk
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from tests.issuer.conftest import app_client, env  # noqa: F401  (fixtures re-used here)
from verifier.context import VerifierContext
from verifier.credential import VerificationReport, VerifyOptions
from verifier.http import GuardedHttp, HttpPolicy

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
PUBLIC_ADDRESS = "93.184.215.14"  # any globally routable address: the fake DNS answer
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="session")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    """The production JSON-LD loader: the hash-checked local contexts, no test vocabularies."""
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


@dataclass
class Network:
    """What the verifier's HTTP client was asked to fetch, and the answers it got."""

    routes: dict[str, Handler] = field(default_factory=dict)
    dns: dict[str, list[str]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.headers["host"]
        handler = self.routes.get(f"{host}{request.url.path}")
        return handler(request) if handler is not None else httpx.Response(404)

    def resolve(self, host: str, port: int) -> list[str]:
        return self.dns.get(host, [PUBLIC_ADDRESS])

    def serve(self, url: str, body: bytes, media_type: str = "application/json") -> None:
        parsed = httpx.URL(url)
        self.routes[f"{parsed.host}{parsed.path}"] = lambda _request: httpx.Response(
            200, content=body, headers={"content-type": media_type}
        )

    def hosts(self) -> list[str]:
        return [r.headers["host"] for r in self.requests]


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def verifier(loader: StaticLoader, network: Network) -> VerifierContext:
    """The verifier as ``create_app`` builds it, with the production (no private network) policy."""
    http = GuardedHttp(
        HttpPolicy(),
        transport=httpx.MockTransport(network.handle),
        resolver=network.resolve,
        clock=lambda: NOW,
    )
    return VerifierContext(loader=loader, http=http, clock=lambda: NOW)


def options(verifier: VerifierContext, **overrides: Any) -> VerifyOptions:
    return verifier.options(**overrides)


def checks(report: VerificationReport) -> dict[str, tuple[str, str]]:
    """``{check id: (status, code)}``; for a repeated id (status entries) the failed one wins."""
    found: dict[str, tuple[str, str]] = {}
    for check in report.checks:
        if check.id not in found or check.status == "failed":
            found[check.id] = (check.status, check.code)
    return found


def signer(key_type: str = "ed25519") -> KeySigner:
    """A did:key (Ed25519, P-256) or did:jwk (RSA) issuer with a fresh key."""
    return KeySigner.for_key(jwk.generate(key_type))  # type: ignore[arg-type]


def did_of(key: KeySigner) -> str:
    return key.key_id.split("#", 1)[0]


def compact(header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, signature: bytes) -> str:
    """A compact JWS assembled by hand: what an attacker sends, no library checks on the way."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ".".join(
        [
            base64url.encode(json.dumps(header).encode()),
            base64url.encode(body),
            base64url.encode(signature),
        ]
    )


def signing_input(token: str) -> bytes:
    return token.rsplit(".", 1)[0].encode("ascii")


def resign(header: Mapping[str, Any], payload: bytes, key: KeySigner) -> str:
    """Sign ``header.payload`` with ``key`` whatever the header claims (bypasses sign_compact)."""
    unsigned = compact(header, payload, b"")[:-1]
    return f"{unsigned}.{base64url.encode(key.sign(unsigned.encode('ascii')))}"
