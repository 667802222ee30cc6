"""``POST /verifier/verify`` over HTTP against the in-process verify rate of the same app.

    python -m bench.http [--seconds 10] [--clients 16] [--workers 2]

Serves Taito with uvicorn (``taito serve --workers N --no-access-log``, loopback, a throw-away
SQLite database), posts the issued Open Badges 3.0 credential (eddsa-rdfc-2022, did:key issuer)
from ``--clients`` concurrent keep-alive connections (driven from one thread) for ``--seconds``, and prints requests/s, p50 / p99 latency and errors next
to ``N`` x the single-thread in-process rate of the verifier use case (``verify_submitted``)
measured in the same run. Target: HTTP >= 50 % of N x in-process, p99 < 100 ms, no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.__main__ import ROOT, loader, measure
from bench.inputs import issued_badge
from keys import data_integrity, jwk
from keys.signing import KeySigner
from keys.store import KeyVault
from taito.app import create_app
from taito.database import make_engine, upgrade


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _credential() -> bytes:
    signer = KeySigner.for_key(jwk.generate("ed25519"))
    unsigned = issued_badge(signer.key_id.split("#")[0])
    del unsigned["credentialStatus"]  # no status list to fetch: the verify path alone
    signed = data_integrity.add_proof(
        unsigned,
        signer=signer,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader(),
        created=datetime(2026, 11, 28, 12, tzinfo=UTC),
    )
    return json.dumps(signed).encode()


def _load(url: str, body: bytes, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` keep-alive connections driven from one thread (``selectors``): the load
    generator shares the 2 cores with the server, so it must cost as little CPU per request as
    possible. Every request is a full ``POST`` with the body; every response is read whole
    (``Content-Length``) and checked for ``200`` and ``"verified":true``."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    request = (
        f"POST {target.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[str] = []
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    sent_at: dict[socket.socket, float] = {}

    def send(connection: socket.socket) -> None:
        sent_at[connection] = time.perf_counter()
        connection.sendall(request)

    def connect() -> None:
        connection = socket.create_connection((host, port), timeout=30)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffers[connection] = bytearray()
        selector.register(connection, selectors.EVENT_READ)
        send(connection)

    def drop(connection: socket.socket, problem: str) -> None:
        latencies.append(time.perf_counter() - sent_at.pop(connection))
        errors.append(problem)
        selector.unregister(connection)
        del buffers[connection]
        connection.close()

    started = time.perf_counter()
    deadline = started + seconds
    for _ in range(clients):
        connect()
    while buffers and time.perf_counter() < deadline + 30:
        for key, _events in selector.select(timeout=1.0):
            connection = key.fileobj
            assert isinstance(connection, socket.socket)
            buffer = buffers[connection]
            try:
                chunk = connection.recv(262144)
            except OSError as exc:
                chunk, problem = b"", type(exc).__name__
            else:
                problem = "connection closed"
            if not chunk:
                drop(connection, problem)
                if time.perf_counter() < deadline:
                    connect()
                continue
            buffer += chunk
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = bytes(buffer[:head_end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                drop(connection, f"no Content-Length: {head[:200]!r}")
                continue
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end > 0 else len(head)])
            if len(buffer) < head_end + 4 + length:
                continue
            text = bytes(buffer[head_end + 4 : head_end + 4 + length])
            del buffer[: head_end + 4 + length]
            latencies.append(time.perf_counter() - sent_at.pop(connection))
            if not (head.startswith(b"http/1.1 200 ") and b'"verified":true' in text):
                status_line = head.split(b"\r\n", 1)[0]
                errors.append(f"{status_line!r}: {text[:200]!r}")
            if time.perf_counter() < deadline:
                send(connection)
            else:
                selector.unregister(connection)
                del buffers[connection]
                connection.close()
    for connection in buffers:
        errors.append("no answer")
        connection.close()
    selector.close()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    body = _credential()
    with tempfile.TemporaryDirectory(prefix="taito-bench-http-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'taito.db'}"
        upgrade(make_engine(database_url))
        environment = {
            **os.environ,
            "TAITO_DATABASE_URL": database_url,
            "TAITO_MASTER_KEY": KeyVault.new_master_key(),
            "TAITO_CONTEXT_DIR": str(ROOT / "var" / "contexts"),
            "TAITO_LOG_LEVEL": "WARNING",
        }
        os.environ.update(environment)
        verifier = create_app().state.verifier
        report = verifier.verify_submitted(json.loads(body), {})
        if not report.verified:
            raise SystemExit(f"the credential does not verify in-process: {report.to_json()}")
        in_process = measure(lambda: verifier.verify_submitted(json.loads(body), {}), seconds=1.0)

        port = _free_port()
        taito = Path(sys.executable).with_name("taito")
        server = subprocess.Popen(
            [
                str(taito),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",  # measured: the server's work, not its log lines
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            _load(f"{base}/verifier/verify", body, args.clients, 2.0)  # warm every worker
            result = _load(f"{base}/verifier/verify", body, args.clients, args.seconds)
        finally:
            server.terminate()
            server.wait(30)
    target = in_process["rate"] * args.workers
    print(
        f"POST /verifier/verify, uvicorn {args.workers} workers, {args.clients} clients, "
        f"{args.seconds:.0f} s (load average {os.getloadavg()[0]:.2f}):\n"
        f"  HTTP        {result['rate']:8,.0f} req/s  p50 {result['p50_ms']:6.1f} ms  "
        f"p99 {result['p99_ms']:6.1f} ms  errors {len(result['errors'])} of "
        f"{result['requests']}\n"
        f"  in-process  {in_process['rate']:8,.0f} /s (one thread; x{args.workers} = "
        f"{target:,.0f}/s)\n"
        f"  HTTP / ({args.workers} x in-process) = {result['rate'] / target:.0%}"
    )
    if result["errors"]:
        print(f"  first error: {result['errors'][0]}")


if __name__ == "__main__":
    main()
