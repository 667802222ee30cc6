"""Verifying without the network: ``offline_only`` and ``VerifierContext.verify_submitted_offline``
(the API verifies on the event loop when nothing must be fetched, in a worker thread otherwise)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bench.inputs import open_badge
from keys import jwk, sd_jwt, vc_jwt
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from verifier.context import VerifierContext
from verifier.http import GuardedHttp, HttpPolicy, NetworkNeeded, offline_only

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ISSUER = "https://registry.example/tenant-7"


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


def _http(requests: list[str], cache_control: str) -> tuple[GuardedHttp, jwk.PrivateKey]:
    key = jwk.generate("p256")
    public = {**key.public_key().to_jwk(), "kid": "k1"}

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(
            200,
            json={"issuer": ISSUER, "jwks": {"keys": [public]}},
            headers={"Cache-Control": cache_control},
        )

    http = GuardedHttp(
        HttpPolicy(),
        transport=httpx.MockTransport(handler),
        resolver=lambda host, port: ["93.184.215.14"],
        clock=lambda: NOW,
    )
    return http, key


def test_offline_only_raises_before_sending_and_serves_fresh_cache() -> None:
    requests: list[str] = []
    http, _ = _http(requests, "max-age=300")
    url = "https://registry.example/.well-known/jwt-vc-issuer/tenant-7"
    with offline_only(), pytest.raises(NetworkNeeded) as raised:
        http.get(url, accept="application/json")
    assert raised.value.url == url and requests == []
    assert not isinstance(raised.value, Exception)  # passes through `except Exception`
    fetched = http.get(url, accept="application/json")
    with offline_only():
        cached = http.get(url, accept="application/json")
    assert cached.from_cache and cached.content == fetched.content and len(requests) == 1
    http.get(url, accept="application/json")  # outside the block: as before
    assert len(requests) == 1


def test_offline_only_needs_the_network_to_revalidate() -> None:
    requests: list[str] = []
    http, _ = _http(requests, "no-cache")
    url = "https://registry.example/.well-known/jwt-vc-issuer/tenant-7"
    http.get(url, accept="application/json")
    with offline_only(), pytest.raises(NetworkNeeded):
        http.get(url, accept="application/json")  # stored, but must be revalidated
    assert len(requests) == 1


def test_verify_submitted_offline(loader: StaticLoader) -> None:
    signer = KeySigner.for_key(jwk.generate("ed25519"))
    token = vc_jwt.sign_credential_jwt(
        open_badge(signer.key_id.split("#")[0]), signer=signer, profile="ob3", now=NOW
    )
    requests: list[str] = []
    http, key = _http(requests, "max-age=300")
    context = VerifierContext(loader=loader, http=http, clock=lambda: NOW)
    offline = context.verify_submitted_offline(token, {})
    assert offline is not None and offline.verified  # did:key: nothing to fetch
    assert offline.to_json() == context.verify_submitted(token, {}).to_json()

    claims = {"vct": "https://registry.example/vct/x", "iss": ISSUER, "iat": int(NOW.timestamp())}
    remote = sd_jwt.issue(claims, signer=KeySigner(key, "k1"), disclosable=[])
    assert context.verify_submitted_offline(remote, {}) is None  # the issuer's keys: a fetch
    assert requests == []
    online = context.verify_submitted(remote, {})
    assert online.verified, online.to_json()
    assert len(requests) == 1
    again = context.verify_submitted_offline(remote, {})  # now cached and fresh
    assert again is not None and again.to_json() == online.to_json()
    assert len(requests) == 1
