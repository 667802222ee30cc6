"""The operator's logs: JSON or text, a request id on every record of a request, and an access log
that names route templates, never the paths and queries that carry share-link and e-mail tokens
(in one process, and from a real ``taito serve``)."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from keys.store import KeyVault
from taito import logs
from taito.app import create_app
from taito.settings import Settings
from tests.taito.test_metrics import serve_environment


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    root = logging.getLogger()
    handlers = root.handlers[:]
    loggers = [logging.getLogger(n) for n in ("", "httpx", "httpx2", "httpcore", "taito.access")]
    levels = [(logger, logger.level) for logger in loggers]
    access_on = logs._access_on
    yield
    root.handlers[:] = handlers
    for logger, level in levels:
        logger.setLevel(level)
    logs._access_on = access_on


def _app(database_url: str, **options: Any) -> TestClient:
    """The app as ``taito serve`` sets it up (``app_factory``: logging, then ``create_app``)."""
    settings = Settings(database_url=database_url, master_key=KeyVault.new_master_key(), **options)
    logs.configure(settings.log_level, settings.log_format, settings.access_log)
    app = create_app(settings)

    def note() -> dict[str, str]:  # a sync endpoint: served on a worker thread
        logging.getLogger("taito.test").warning("written while serving")
        return {}

    app.add_api_route("/test/note", note)
    return TestClient(app)


def _secret_requests(client: TestClient | httpx.Client) -> list[str]:
    """Requests whose paths or queries carry bearer secrets; returns the secrets."""
    token, mailed = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    assert client.get(f"/s/{token}").status_code == 404  # an unknown share link
    assert client.get(f"/wallet/verify-email?token={mailed}").status_code in (200, 400)
    return [token, mailed]


def test_json_lines_carry_the_request_id_and_route_templates_only(
    database_url: str,
    engine: Engine,  # migrated
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _app(database_url, log_format="json") as client:
        hidden = _secret_requests(client)
        noted = client.get("/test/note")
    err = capsys.readouterr().err
    for secret in hidden:
        assert secret not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = {(e["method"], e["route"]) for e in lines if e["logger"] == "taito.access"}
    assert {("GET", "/s/{token}"), ("GET", "/wallet/verify-email"), ("GET", "/test/note")} <= access
    [note] = [e for e in lines if e["logger"] == "taito.test"]
    assert note["level"] == "WARNING" and note["message"] == "written while serving"
    assert note["request_id"] == noted.headers["x-request-id"]  # the id the answer carried
    [line] = [e for e in lines if e.get("route") == "/test/note"]
    assert line["request_id"] == noted.headers["x-request-id"] and line["status"] == 200
    # httpx writes every URL it fetches at INFO (the verifier fetches share links): not ours
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert isinstance(line["duration_ms"], float) and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"]
    )


def test_text_lines_and_the_access_log_turned_off(
    database_url: str,
    engine: Engine,  # migrated
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _app(database_url, access_log=False) as client:
        noted = client.get("/test/note")
        # uvicorn's dictConfig re-enables every logger it does not name: the access log stays off
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        client.get("/test/note")
    err = capsys.readouterr().err
    assert f"WARNING taito.test [{noted.headers['x-request-id']}] written while serving" in err
    assert "taito.access" not in err
    with _app(database_url) as client:
        client.get("/test/note")
    assert re.search(
        r"INFO taito\.access \[[0-9a-f]{32}\] GET /test/note 200 ", capsys.readouterr().err
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_taito_serve_logs_no_path_no_query_and_no_address(tmp_path: Path, workers: int) -> None:
    env, port = serve_environment(tmp_path, TAITO_LOG_FORMAT="json")
    taito = str(Path(sys.executable).with_name("taito"))
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [taito, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.2)
                hidden = _secret_requests(client)
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    for secret in hidden:
        assert secret not in text
    assert "127.0.0.1:" not in text.replace(f"127.0.0.1:{port}", "")  # no client address:port
    entries = [json.loads(line) for line in text.splitlines()]  # every line is JSON, uvicorn's too
    routes = {e.get("route") for e in entries if e["logger"] == "taito.access"}
    assert {"/readyz", "/s/{token}", "/wallet/verify-email"} <= routes
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any(e["logger"] == "uvicorn.error" for e in entries)  # uvicorn writes through ours


def test_a_proxys_request_id_is_taken_only_when_trusted_and_well_formed(
    database_url: str,
    engine: Engine,  # migrated
    capsys: pytest.CaptureFixture[str],
) -> None:
    given = "edge-7f3a.42_Z"
    ours = re.compile(r"[0-9a-f]{32}")
    with _app(database_url, trust_request_id=True) as client:
        taken = client.get("/test/note", headers={"X-Request-ID": given})
        assert taken.headers["x-request-id"] == given
        problem = client.get("/issuers/no-such-slug", headers={"X-Request-ID": given}).json()
        assert problem["instance"] == f"urn:taito:request:{given}"
        for bad in ("a" * 65, "two words", "semi;colon", ""):
            answer = client.get("/test/note", headers={"X-Request-ID": bad})
            assert ours.fullmatch(answer.headers["x-request-id"]), bad
        twice = client.get("/test/note", headers=[("X-Request-ID", "a"), ("X-Request-ID", "b")])
        assert ours.fullmatch(twice.headers["x-request-id"])
    assert f"[{given}] written while serving" in capsys.readouterr().err
    with _app(database_url) as client:  # not trusted: always Taito's own
        answer = client.get("/test/note", headers={"X-Request-ID": given})
        assert ours.fullmatch(answer.headers["x-request-id"])
