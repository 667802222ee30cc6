"""``GET /metrics``: the operator's Prometheus metrics, in one process and added up over the
workers of ``taito serve --workers 2`` (real processes, real HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bench.inputs import open_badge
from keys import jwk, vc_jwt
from keys.signing import KeySigner
from keys.store import KeyVault
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings

OPERATOR = "metrics-operator-token"
AUTH = {"Authorization": f"Bearer {OPERATOR}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition text (parsed by prometheus_client's own parser)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counted(name: str, **labels: str) -> float:
    """A counter of this process as it stands (prometheus_client's default registry, which
    ``/metrics`` exposes): tests compare it before and after, as other tests count too."""
    return REGISTRY.get_sample_value(f"{name}_total", labels) or 0.0


def requests_of(text: str, route: str, status: str, method: str = "GET") -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return samples(text).get(("taito_http_requests_total", labels), 0.0)


def test_the_operator_reads_requests_by_route_template_and_the_batch_queue(
    database_url: str,
    engine: Engine,  # migrated
) -> None:
    settings = Settings(
        database_url=database_url,
        master_key=KeyVault.new_master_key(),
        operator_token=OPERATOR,  # type: ignore[arg-type]
        max_body_bytes=8192,
    )
    with TestClient(create_app(settings)) as client:
        before = client.get("/metrics", headers=AUTH).text
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
        assert client.get("/issuers/no-such-slug").status_code == 404
        assert client.get("/no/such/path/123").status_code == 404
        assert client.post("/verifier/verify", content=b"x" * 10_000).status_code == 413
        signer = KeySigner.for_key(jwk.generate("ed25519"))  # a did:key issuer
        badge = open_badge(signer.key_id.split("#")[0])
        token = vc_jwt.sign_credential_jwt(badge, signer=signer, profile="ob3")
        forged = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
        jwt = {"content-type": "application/vc+jwt"}
        for body, verified in ((token, True), (forged, False), ("no credential", False)):
            report = client.post("/verifier/verify", content=body, headers=jwt)
            assert report.status_code == 200 and report.json()["verified"] is verified
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        answer = client.get("/metrics", headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    text = answer.text
    # counters are per process and this process may have served other apps: compare
    assert requests_of(text, "/healthz", "200") - requests_of(before, "/healthz", "200") == 3
    # the route template, never the slug; unknown paths share one label
    assert (
        requests_of(text, "/issuers/{slug}", "404") - requests_of(before, "/issuers/{slug}", "404")
        == 1
    )
    assert "no-such-slug" not in text and "/no/such/path" not in text
    assert requests_of(text, "unmatched", "404") - requests_of(before, "unmatched", "404") == 1
    # the body limit answers before routing, outside the router: counted all the same
    assert (
        requests_of(text, "unmatched", "413", "POST")
        - requests_of(before, "unmatched", "413", "POST")
        == 1
    )
    assert requests_of(text, "/metrics", "401") - requests_of(before, "/metrics", "401") == 2
    buckets = [
        value
        for (name, labels), value in samples(text).items()
        if name == "taito_http_request_duration_seconds_bucket" and ("route", "/healthz") in labels
    ]
    assert buckets and max(buckets) >= 3
    for kind, outcome in (("jwt_vc", "verified"), ("jwt_vc", "failed"), ("unrecognised", "failed")):
        labels = (("format", kind), ("outcome", outcome))
        key = ("taito_verifications_total", labels)
        assert samples(text).get(key, 0) - samples(before).get(key, 0) == 1, (kind, outcome)
    assert ("taito_batch_rows", ()) not in samples(text)  # no batch yet: no state to show
    assert "taito_batch_rows" in text  # the family is described all the same


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_environment(tmp_path: Path, **extra: str) -> tuple[dict[str, str], int]:
    """For ``taito serve`` in its own processes: the environment (a migrated SQLite database in
    ``tmp_path``, a new master key, ``extra``) and a free port."""
    database = f"sqlite:///{tmp_path / 'taito.db'}"
    engine = make_engine(database)
    upgrade(engine)
    engine.dispose()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "TAITO_DATABASE_URL": database,
        "TAITO_MASTER_KEY": KeyVault.new_master_key(),
        **extra,
    }
    return env, free_port()


def _serve_and_count(
    tmp_path: Path, workers: int, requests: int, directory: Path | None = None
) -> list[httpx.Response]:
    """``taito serve --workers N`` in its own processes: ``requests`` GET /healthz, each on a new
    connection (the kernel spreads them over the workers), then six scrapes."""
    env, port = serve_environment(tmp_path, TAITO_OPERATOR_TOKEN=OPERATOR)
    if directory is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    taito = str(Path(sys.executable).with_name("taito"))  # the console script of this install
    command = [taito, "serve", "--port", str(port), "--workers", str(workers), "--no-access-log"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ready = 0
        while ready < workers and time.monotonic() < deadline:  # several answers
            try:
                ready += httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready == workers, "the server did not start"
        time.sleep(1)  # every worker
        for _ in range(requests):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        return [httpx.get(f"{base}/metrics", headers=AUTH, timeout=5) for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_a_scrape_adds_up_every_worker(tmp_path: Path) -> None:
    # taito serve chooses the workers' metrics directory itself
    for scrape in _serve_and_count(tmp_path, workers=2, requests=40):
        assert scrape.status_code == 200
        assert requests_of(scrape.text, "/healthz", "200") == 40  # whichever worker answered


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_a_restart_does_not_add_in_the_counts_of_the_run_before(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"  # the operator's own PROMETHEUS_MULTIPROC_DIR
    _serve_and_count(tmp_path, workers=2, requests=5, directory=directory)
    for scrape in _serve_and_count(tmp_path, workers=1, requests=3, directory=directory):
        assert requests_of(scrape.text, "/healthz", "200") == 3
