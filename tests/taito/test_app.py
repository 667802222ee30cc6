"""The composed application: operations endpoints, problem+json, body limit, settings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from keys.store import KeyVault
from schemas.errors import TaitoError
from taito.app import create_app
from taito.problems import PROBLEM_JSON
from taito.settings import ConfigurationError, Settings


class _Teapot(TaitoError):
    code = "teapot"
    status = 418
    title = "I am a teapot"


def _app(database_url: str, **overrides: object) -> FastAPI:
    settings = Settings(
        database_url=database_url, master_key=KeyVault.new_master_key(), **overrides
    )  # type: ignore[arg-type]
    app = create_app(settings)
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret-value-in-exception")

    @router.get("/typed")
    def typed() -> None:
        raise _Teapot("short and stout", extra={"hint": "tip me over"})

    @router.post("/echo")
    def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    app.include_router(router)
    return app


def test_health_ready_and_docs(database_url: str) -> None:
    client = TestClient(_app(database_url))
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    assert "/readyz" in client.get("/openapi.json").json()["paths"]


def test_readyz_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    client = TestClient(create_app(Settings(database_url=url)))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "database_unavailable"


def test_typed_errors_are_problem_json(tmp_path: Path) -> None:
    client = TestClient(_app(f"sqlite:///{tmp_path}/t.db"))
    response = client.get("/typed")
    assert response.status_code == 418
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].endswith("/teapot")
    assert body["code"] == "teapot"
    assert body["title"] == "I am a teapot"
    assert body["detail"] == "short and stout"
    assert body["hint"] == "tip me over"
    assert body["instance"].endswith(response.headers["x-request-id"])


def test_unknown_route_and_bad_body(tmp_path: Path) -> None:
    client = TestClient(_app(f"sqlite:///{tmp_path}/t.db"))
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    invalid = client.post("/echo", json={"a": "not a number"})
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "validation_failed"
    assert invalid.json()["errors"][0]["path"] == "body.a"
    garbled = client.post("/echo", content=b"{nope", headers={"content-type": "application/json"})
    assert garbled.status_code == 422


def test_unhandled_error_is_a_500_problem_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    client = TestClient(_app(f"sqlite:///{tmp_path}/t.db"), raise_server_exceptions=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "internal_error"
    assert "secret-value" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("size", [2048, 5000])
def test_oversized_bodies_get_413(tmp_path: Path, size: int) -> None:
    client = TestClient(_app(f"sqlite:///{tmp_path}/t.db", max_body_bytes=1024))
    response = client.post(
        "/echo", content=b"{" + b" " * size + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(size // 100):
            yield b" " * 100

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_settings_come_from_the_environment_only_when_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAITO_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("TAITO_MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert settings.database_url.endswith("env.db")
    assert settings.max_body_bytes == 4096
    monkeypatch.setenv("TAITO_MAX_BODY_BYTES", "12")
    with pytest.raises(ValidationError):
        Settings()


def test_master_key_from_file_and_missing(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(KeyVault.new_master_key() + "\n")
    assert len(Settings(master_key_file=key_file).master_key_value()) == 43
    with pytest.raises(ConfigurationError):
        Settings().master_key_value()
    with pytest.raises(ConfigurationError):
        Settings(master_key_file=tmp_path / "absent").master_key_value()
