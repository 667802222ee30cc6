"""Schemathesis over Taito's own OpenAPI: every operation, authenticated and not, both databases.

The operations are read from ``/openapi.json`` of the app under test, so a new route is fuzzed
the day it is added. Each operation is driven with schema-conforming (positive) and
schema-violating (negative) requests, once anonymous with the generated path values and once
with the caller's credentials and the ids of real objects (an institution with an achievement,
a credential and a batch; a wallet learner). Every response must

* not be a server error (no 5xx at all: the database is up and the master key is configured);
* match what the OpenAPI document declares for its status code: media type, headers and body
  schema (schemathesis' ``content_type_conformance``, ``response_headers_conformance`` and
  ``response_schema_conformance``).

Failures are collected over the whole sweep (hypothesis does not stop at the first one) and
listed together. ``TAITO_FUZZ_EXAMPLES`` raises the number of examples (``make fuzz``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
from schemathesis.transport.requests import REQUESTS_TRANSPORT
from sqlmodel import Session, select

from issuer.tables import StatusEntry
from tests.fuzz.conftest import FIGURES, fuzz_examples
from tests.issuer.conftest import OPERATOR, Env
from tests.security.test_api_access import _victim

# Failures found in routes still being built, listed here (operation, kind) so the sweep keeps
# guarding everything else; each is reported in the terminal summary while it lasts.
# (e.g. ("POST /wallet/auth/resend-verification", "schema"): "202 with an empty body, documented
# as JSON" — fixed by its owner, so no longer listed.)
KNOWN: dict[tuple[str, str], str] = {}
CHECKS = [content_type_conformance, response_headers_conformance, response_schema_conformance]
DROPPED_HEADERS = {"user-agent", "accept-encoding", "connection"}
WALLET_PASSWORD = "fuzz-wallet-password-0123"


@dataclass
class World:
    """Real objects the authenticated pass aims at, and the credential to send per route."""

    env: Env
    ids: dict[str, str]
    wallet: dict[str, str] = field(default_factory=dict)

    def auth(self, path: str) -> dict[str, str]:
        if path.startswith("/wallet"):
            return self.wallet
        if path == "/issuers":
            return {"Authorization": f"Bearer {OPERATOR}"}
        return self.env.admin


@dataclass
class Sweep:
    requests: int = 0
    unsendable: int = 0
    nothing_to_negate: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def fail(self, label: str, kind: str, detail: str) -> None:
        if (label, kind) in KNOWN:
            FIGURES[f"known issue seen: {label} [{kind}] {KNOWN[label, kind]}"] += 1
            return
        # One line per (operation, kind, first line of the failure): a readable list, not noise.
        self.failures.setdefault((label, kind, detail.splitlines()[0][:160]), detail[:2000])


def _world(env: Env) -> World:
    client = env.client
    victim = _victim(env)  # the attack suite's institution: an achievement, credential, batch
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        status_list = session.exec(
            select(StatusEntry.list_id).where(
                StatusEntry.credential_id == victim.credential.removeprefix("urn:uuid:")
            )
        ).first()
    world = World(
        env,
        {
            "slug": env.slug,
            "achievement_id": victim.achievement,
            "credential_id": victim.credential,
            "batch_id": victim.batch,
            "list_id": str(status_list),
        },
    )
    registered = client.post(
        "/wallet/auth/register",
        json={"email": "fuzz-learner@example.fi", "password": WALLET_PASSWORD},
    )
    if registered.status_code == 201:
        token = registered.json()["tokens"]["access_token"]
        world.wallet = {"Authorization": f"Bearer {token}"}
    return world


def _serialize_every_body_type(document: dict[str, Any]) -> None:
    """Send bodies of media types schemathesis has no serializer for (PEM, JWT, SVG ...) as is."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            content = (operation.get("requestBody") or {}).get("content", {})
            for media_type in content:
                if REQUESTS_TRANSPORT.get_first_matching_media_type(media_type) is None:
                    json_like = media_type.split(";")[0].endswith("+json")
                    source = "application/json" if json_like else "application/octet-stream"
                    schemathesis.serializer.alias(media_type, source)


def _operations(client: TestClient) -> list[Any]:
    document = client.get("/openapi.json").json()
    _serialize_every_body_type(document)
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Destructive operations last, so they cannot take the caller's key or account away early.
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def _send(client: TestClient, case: Any, auth: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {k: v for k, v in kwargs.pop("headers").items() if k.lower() not in DROPPED_HEADERS}
    headers.update(auth)
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    kwargs.pop("cookies", None)
    request = client.build_request(headers=headers, **kwargs)
    request.read()  # render the body now: a body the client cannot encode is not a request
    return client.send(request)


def _run(
    world: World,
    operation: Any,
    mode: GenerationMode,
    authenticated: bool,
    sweep: Sweep,
    examples: int,
) -> None:
    client = world.env.client
    label = f"{operation.method.upper()} {operation.path}"
    overrides: dict[str, Any] = {}
    if authenticated:
        names = {p.name for p in operation.path_parameters}
        overrides = {k: v for k, v in world.ids.items() if k in names}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=overrides or None)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any) -> None:
        try:
            response = _send(client, case, world.auth(operation.path) if authenticated else {})
        except (ValueError, UnicodeError, TypeError, AttributeError):
            # httpx refuses to build it (a header value no HTTP client can send): not a request.
            sweep.unsendable += 1
            return
        sweep.requests += 1
        sweep.statuses[response.status_code] = sweep.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            sweep.fail(
                label,
                f"{response.status_code}",
                f"{response.status_code} {response.text[:300]}\n{case.as_curl_command()}",
            )
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as failure:
            sweep.fail(label, "schema", f"{response.status_code} {failure}")

    try:
        exercise()
    except Unsatisfiable:
        # Nothing left to negate once the path holds real ids (e.g. a GET with only {slug}).
        sweep.nothing_to_negate += 1


@pytest.fixture
def world(env: Env) -> Iterator[World]:
    yield _world(env)


def _sweep(world: World, select: Callable[[Any], bool]) -> Sweep:
    sweep = Sweep()
    examples = fuzz_examples()
    for operation in _operations(world.env.client):
        if not select(operation):
            continue
        for authenticated in (False, True):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(world, operation, mode, authenticated, sweep, examples)
    return sweep


def test_every_operation_answers_without_5xx_and_as_declared(world: World) -> None:
    sweep = _sweep(world, lambda _operation: True)
    FIGURES["api fuzz requests"] += sweep.requests
    FIGURES["api fuzz requests refused by the client (unsendable)"] += sweep.unsendable
    for status, count in sweep.statuses.items():
        FIGURES[f"api fuzz status {status}"] += count
    assert sweep.requests > 0
    listed = "\n\n".join(
        f"{op} [{kind}] {detail}" for (op, kind, _), detail in sweep.failures.items()
    )
    assert not sweep.failures, f"{len(sweep.failures)} failures:\n\n{listed}"
