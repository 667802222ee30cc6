"""Security headers of the server-rendered pages (OWASP ASVS V14.4)."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("verifier.page") is None, reason="no HTML pages (verifier/page.py)"
)


@pytest.fixture
def pages(app_client: TestClient) -> TestClient:
    """The app with the page router (mounted here when ``create_app`` does not wire it yet)."""
    if not _serves_page(app_client):
        page = importlib.import_module("verifier.page")
        app_client.app.include_router(page.router)  # type: ignore[attr-defined]
    return app_client


def _serves_page(client: TestClient) -> bool:
    return client.get("/verify").headers.get("content-type", "").startswith("text/html")


@pytest.mark.parametrize(
    ("method", "form"), [("GET", None), ("POST", {"credential": "not a credential"})]
)
def test_verify_page_sends_security_headers(
    pages: TestClient, method: str, form: dict[str, str] | None
) -> None:
    response = pages.request(method, "/verify", data=form)
    assert response.headers["content-type"].startswith("text/html")
    policy = {
        part.strip().split(" ", 1)[0]: part.strip()
        for part in response.headers["content-security-policy"].split(";")
    }
    assert policy["default-src"] == "default-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert "script-src" not in policy  # falls back to default-src 'none': no script at all
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
