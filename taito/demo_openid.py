"""``taito demo``, OpenID part: both OpenID flows end to end over HTTP on loopback.

A throw-away Taito (SQLite) is served by uvicorn on ``127.0.0.1``; then, as separate parties
would over the network: the institution offers a credential (OpenID4VCI 1.0, pre-authorized code
with a PIN), the learner's Taito wallet accepts the scanned offer in every format, an employer's
Taito verifier asks for the course name and the learner's first name (OpenID4VP 1.0, DCQL), and
the wallet answers with exactly those claims. The offer and the request are written as their URIs
and QR codes: ``credential-offer.{png,txt}``, ``presentation-request.{png,txt}``.
"""

from __future__ import annotations

import base64
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from keys.store import KeyVault
from taito.settings import Settings

SLUG = "demo-openid"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def loopback(make_app: Callable[[str], Any]) -> Iterator[tuple[str, Any]]:
    """Serve ``make_app(base_url)`` with uvicorn on a free loopback port; yield ``(base, app)``."""
    import uvicorn

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(base)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("The loopback server did not start.")
    try:
        yield base, app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serve(contexts: Path) -> Iterator[tuple[str, str]]:
    """A throw-away Taito (SQLite) on loopback; yields its base URL and operator token."""
    from taito.app import create_app
    from taito.database import make_engine, upgrade

    with tempfile.TemporaryDirectory(prefix="taito-demo-openid-") as scratch:
        operator = secrets.token_urlsafe(24)
        url = f"sqlite:///{Path(scratch) / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()

        def make_app(base: str) -> Any:
            settings = Settings(
                database_url=url,
                master_key=KeyVault.new_master_key(),
                operator_token=operator,
                public_url=base,
                context_dir=contexts,
                allow_private_network=True,  # the parties reach each other on loopback
                log_level="WARNING",
            )
            return create_app(settings)

        with loopback(make_app) as (base, _app):
            yield base, operator


def _png(data_uri: str) -> bytes:
    return base64.b64decode(data_uri.split(",", 1)[1])


def run(out: Path, contexts: Path, achievement: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Run both flows; write the offer and the request; return ``(file, what, verdict)`` rows."""
    with serve(contexts) as (base, operator), httpx.Client(base_url=base, timeout=120) as http:

        def call(method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
            response = http.request(method, path, headers=headers or {}, **kw)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            return response.json()

        root = {"Authorization": f"Bearer {operator}"}
        call(
            "POST",
            "/issuers",
            root,
            json={
                "slug": SLUG,
                "legal_name": {
                    "fi": "Demo-korkeakoulu",
                    "sv": "Demohögskolan",
                    "en": "Demo University",
                },
                "url": "https://demo.taito.example",
                "country": "FI",
            },
        )
        key = call(
            "POST",
            f"/issuers/{SLUG}/api-keys",
            root,
            json={"name": "registrar", "scopes": ["issuer:admin"]},
        )["key"]
        registrar = {"Authorization": f"Bearer {key}"}
        course = call("POST", f"/issuers/{SLUG}/achievements", registrar, json=achievement)
        # 1. the institution offers the credential; the PIN would go out by e-mail
        offer = call(
            "POST",
            f"/issuers/{SLUG}/offers",
            registrar,
            json={
                "achievement_id": course["id"],
                "recipient": {"email": "aino.virtanen@example.fi", "given_name": "Aino"},
                "by_reference": True,
            },
        )
        (out / "credential-offer.txt").write_text(offer["offer_uri"] + "\n")
        (out / "credential-offer.png").write_bytes(_png(offer["qr_png"]))
        # 2. the learner's wallet accepts the scanned offer
        learner = call(
            "POST",
            "/wallet/auth/register",
            json={
                "email": "aino.virtanen@example.fi",
                "password": secrets.token_urlsafe(16),
                "display_name": "Aino",
            },
        )
        wallet = {"Authorization": f"Bearer {learner['tokens']['access_token']}"}
        accepted = call(
            "POST",
            "/wallet/offers",
            wallet,
            json={"offer_uri": offer["offer_uri"], "tx_code": offer["tx_code"]},
        )
        formats = sorted(c["format"] for c in accepted["credentials"])
        # 3. an employer asks for the course name and the first name
        vct = f"{base}/vct/learning-credential/v1"
        request = call(
            "POST",
            "/verifier/requests",
            json={
                "client_id_prefix": "decentralized_identifier",
                "dcql_query": {
                    "credentials": [
                        {
                            "id": "course",
                            "format": "dc+sd-jwt",
                            "meta": {"vct_values": [vct]},
                            "claims": [
                                {"path": ["achievement", "name"]},
                                {"path": ["given_name"]},
                            ],
                        }
                    ]
                },
            },
        )
        (out / "presentation-request.txt").write_text(request["authorization_request"] + "\n")
        (out / "presentation-request.png").write_bytes(_png(request["qr_png"]))
        # 4. the wallet shows the match and answers with exactly those claims
        shown = call(
            "POST",
            "/wallet/requests",
            wallet,
            json={"request_uri": request["authorization_request"]},
        )
        choices = {q["id"]: [q["candidates"][0]["credential_id"]] for q in shown["queries"]}
        call(
            "POST",
            "/wallet/requests/response",
            wallet,
            json={"request_uri": request["authorization_request"], "choices": choices},
        )
        result = call(
            "GET",
            f"/verifier/requests/{request['id']}",
            {"Authorization": f"Bearer {request['read_token']}"},
        )
    verdict = result["status"]
    disclosed = (
        result["result"]["credentials"]["course"][0]["disclosed"] if verdict == "verified" else {}
    )
    return [
        (
            "credential-offer.png",
            "OpenID4VCI offer as a QR code (credential-offer.txt: its URI)",
            f"accepted by the wallet: {', '.join(formats)}",
        ),
        ("credential-offer.txt", "openid-credential-offer:// URI (by reference)", "-"),
        (
            "presentation-request.png",
            "OpenID4VP request as a QR code (presentation-request.txt: its URI)",
            f"{verdict}; disclosed: {', '.join(sorted(disclosed))}",
        ),
        ("presentation-request.txt", "openid4vp:// URI (signed request object, request_uri)", "-"),
    ]
