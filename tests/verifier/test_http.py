"""The guarded HTTP client: SSRF guard, redirects, limits, timeouts, caching.

Client logic runs over ``httpx.MockTransport`` with a fake resolver (so "public" names need no
network); the guard and the limits are also run against a real loopback server.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from verifier.http import (
    FetchBlocked,
    FetchError,
    FetchRedirects,
    FetchTimeout,
    FetchTooLarge,
    GuardedHttp,
    HttpPolicy,
    is_blocked_address,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PUBLIC = "93.184.215.14"  # a globally routable address (never contacted: MockTransport)

# --------------------------------------------------------------------------- loopback server

Route = tuple[int, dict[str, str], bytes] | Callable[[BaseHTTPRequestHandler], None]


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 with a random port, serving fixed routes in a thread."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, *_: Any) -> None:  # a client that hung up: not a test error
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# --------------------------------------------------------------------------- mock helpers


def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    hosts: dict[str, list[str]] | None = None,
    clock: Callable[[], datetime] | None = None,
    **policy: Any,
) -> GuardedHttp:
    return GuardedHttp(
        HttpPolicy(**policy),
        transport=httpx.MockTransport(handler),
        resolver=_resolver(hosts or {"issuer.example": [PUBLIC]}),
        clock=clock or (lambda: NOW),
    )


def _ok(body: bytes = b"{}", **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    # A streamed body, as from the network (an in-memory body is read and decoded by httpx).
    return lambda _request: httpx.Response(200, headers=headers, content=iter([body]))


# --------------------------------------------------------------------------- the SSRF guard


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "not-an-ip",
    ],
)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked_address(address)


@pytest.mark.parametrize(
    "resolved", [["10.1.2.3"], ["169.254.169.254"], [PUBLIC, "127.0.0.1"], ["fd00::5"]]
)
def test_a_name_resolving_to_any_private_address_is_blocked(resolved: list[str]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    with (
        _client(handler, hosts={"issuer.example": resolved}) as http,
        pytest.raises(FetchBlocked) as caught,
    ):
        http.get("https://issuer.example/list")
    assert caught.value.code == "fetch_blocked"
    assert calls == []  # nothing was sent


def test_the_request_goes_to_the_checked_address_under_its_name() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    with _client(handler) as http:
        response = http.get("https://issuer.example:8443/a?b=c", accept="application/json")
    (request,) = seen
    assert request.url.host == PUBLIC  # pinned: no second DNS lookup can change it
    assert request.url.port == 8443
    assert request.url.raw_path == b"/a?b=c"
    assert request.headers["host"] == "issuer.example:8443"
    assert request.extensions["sni_hostname"] == "issuer.example"
    assert request.headers["accept"] == "application/json"
    assert response.url == "https://issuer.example:8443/a?b=c"
    assert response.content == b"ok"


def test_next_checked_address_is_tried_when_one_refuses() -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == "2606:4700:4700::1111":
            raise httpx.ConnectError("no IPv6 route", request=request)
        return httpx.Response(200, content=b"v4")

    hosts = {"issuer.example": ["2606:4700:4700::1111", PUBLIC]}
    with _client(handler, hosts=hosts) as http:
        assert http.get("https://issuer.example/x").content == b"v4"
    assert tried == ["2606:4700:4700::1111", PUBLIC]


@pytest.mark.parametrize(
    "url",
    [
        "http://issuer.example/x",
        "ftp://issuer.example/x",
        "file:///etc/passwd",
        "https://user:pw@issuer.example/x",
    ],
)
def test_schemes_and_credentials(url: str) -> None:
    with _client(_ok()) as http, pytest.raises(FetchBlocked):
        http.get(url)


def test_http_only_when_allowed() -> None:
    with _client(_ok(b"plain"), allow_http=True) as http:
        assert http.get("http://issuer.example/x").content == b"plain"


def test_unresolvable_host_and_bad_url_fail_typed() -> None:
    with _client(_ok()) as http:
        with pytest.raises(FetchError) as caught:
            http.get("https://nowhere.example/x")
        assert caught.value.code == "fetch_failed"
        with pytest.raises(FetchError):
            http.get("https://[::1/x")


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/admin",
        "https://internal.example/x",
    ],
)
def test_redirect_to_a_private_address_is_blocked(location: str) -> None:
    hosts = {"issuer.example": [PUBLIC], "internal.example": ["10.0.0.7"]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "issuer.example":
            return httpx.Response(302, headers={"Location": location})
        raise AssertionError("the private target was contacted")

    with _client(handler, hosts=hosts, allow_http=True) as http, pytest.raises(FetchBlocked):
        http.get("https://issuer.example/list")


def test_redirects_are_followed_and_limited() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/") or 0)
        if step < 5:
            return httpx.Response(307, headers={"Location": f"/{step + 1}"})
        return httpx.Response(200, content=b"end")

    with _client(handler, max_redirects=5) as http:
        response = http.get("https://issuer.example/0")
        assert response.content == b"end"
        assert response.url == "https://issuer.example/5"
    with _client(handler, max_redirects=4) as http, pytest.raises(FetchRedirects) as caught:
        http.get("https://issuer.example/0")
    assert caught.value.code == "fetch_redirects"


def test_redirect_without_location() -> None:
    with _client(lambda _r: httpx.Response(301)) as http, pytest.raises(FetchRedirects):
        http.get("https://issuer.example/x")


# --------------------------------------------------------------------------- limits


def test_content_length_over_the_limit_is_refused_unread() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(10**9)}, content=b"")

    with _client(handler, max_bytes=1000) as http, pytest.raises(FetchTooLarge) as caught:
        http.get("https://issuer.example/x")
    assert caught.value.code == "fetch_too_large"


def test_streamed_body_stops_past_the_limit() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(10_000):
            produced.append(1)
            yield bytes(1024)

    handler = lambda _r: httpx.Response(200, content=chunks())  # noqa: E731
    with _client(handler, max_bytes=10_000) as http, pytest.raises(FetchTooLarge):
        http.get("https://issuer.example/x")
    assert len(produced) < 100  # stopped early, not after 10 MB


def test_gzip_content_encoding_is_inflated_under_the_limit() -> None:
    small = gzip.compress(b'{"a": 1}')
    bomb = gzip.compress(bytes(50 * 1024 * 1024))
    with _client(_ok(small, **{"Content-Encoding": "gzip"})) as http:
        assert http.get("https://issuer.example/x").content == b'{"a": 1}'
    bombing = _client(_ok(bomb, **{"Content-Encoding": "gzip"}), max_bytes=1 << 20)
    with bombing as http, pytest.raises(FetchTooLarge):
        http.get("https://issuer.example/x")
    with _client(_ok(b"xx", **{"Content-Encoding": "br"})) as http, pytest.raises(FetchError):
        http.get("https://issuer.example/x")


def test_transport_timeouts_and_errors_are_typed() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(slow) as http, pytest.raises(FetchTimeout) as timeout:
        http.get("https://issuer.example/x")
    assert timeout.value.code == "fetch_timeout"
    with _client(refused) as http, pytest.raises(FetchError) as failed:
        http.get("https://issuer.example/x")
    assert failed.value.code == "fetch_failed"


def test_non_2xx_is_fetch_failed() -> None:
    with _client(lambda _r: httpx.Response(404)) as http, pytest.raises(FetchError) as caught:
        http.get("https://issuer.example/x")
    assert caught.value.code == "fetch_failed"
    assert caught.value.extra == {"status": 404}


# --------------------------------------------------------------------------- caching


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_max_age_is_honoured() -> None:
    hits: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        hits.append(1)
        return httpx.Response(200, headers={"Cache-Control": "max-age=60"}, content=b"v1")

    clock = Clock()
    with _client(handler, clock=clock) as http:
        first = http.get("https://issuer.example/x")
        second = http.get("https://issuer.example/x")
        assert (first.from_cache, second.from_cache) == (False, True)
        assert second.content == b"v1" and second.digest == first.digest
        assert len(hits) == 1
        clock.now += timedelta(seconds=61)
        http.get("https://issuer.example/x")
        assert len(hits) == 2
        # A different Accept is a different representation: not served from this entry.
        http.get("https://issuer.example/x", accept="application/jwt")
        assert len(hits) == 3


def test_no_store_and_no_headers_are_not_cached() -> None:
    for headers in ({"Cache-Control": "no-store, max-age=600"}, {}):
        hits: list[int] = []

        def handler(
            _request: httpx.Request, h: dict[str, str] = headers, hits: list[int] = hits
        ) -> httpx.Response:
            hits.append(1)
            return httpx.Response(200, headers=h, content=b"x")

        with _client(handler) as http:
            http.get("https://issuer.example/x")
            http.get("https://issuer.example/x")
        assert len(hits) == 2


def test_etag_revalidation() -> None:
    seen: list[dict[str, str]] = []
    version = {"etag": '"v1"', "body": b"first"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))
        if request.headers.get("if-none-match") == version["etag"]:
            return httpx.Response(304, headers={"ETag": str(version["etag"])})
        return httpx.Response(
            200,
            headers={"ETag": str(version["etag"]), "Cache-Control": "no-cache"},
            content=bytes(version["body"]),
        )

    with _client(handler) as http:
        first = http.get("https://issuer.example/x")
        assert "if-none-match" not in seen[0]
        again = http.get("https://issuer.example/x")
        assert seen[1]["if-none-match"] == '"v1"'
        assert again.from_cache and again.content == b"first" and again.etag == '"v1"'
        version.update(etag='"v2"', body=b"second")
        changed = http.get("https://issuer.example/x")
        assert changed.content == b"second" and not changed.from_cache
        assert changed.digest != first.digest


def test_expires_header() -> None:
    hits: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        hits.append(1)
        return httpx.Response(
            200,
            content=b"x",
            headers={
                "Date": "Sat, 28 Nov 2026 12:00:00 GMT",
                "Expires": "Sat, 28 Nov 2026 12:05:00 GMT",
            },
        )

    clock = Clock()
    with _client(handler, clock=clock) as http:
        http.get("https://issuer.example/x")
        clock.now += timedelta(minutes=4)
        assert http.get("https://issuer.example/x").from_cache
        clock.now += timedelta(minutes=2)
        assert not http.get("https://issuer.example/x").from_cache
    assert len(hits) == 2


def test_cache_is_bounded() -> None:
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        return httpx.Response(200, headers={"Cache-Control": "max-age=600"}, content=bytes(100))

    with _client(handler, cache_entries=2, cache_bytes=250) as http:
        for path in ("/a", "/b", "/c", "/a"):
            http.get(f"https://issuer.example{path}")
    assert hits == ["/a", "/b", "/c", "/a"]  # /a was evicted by /c


# --------------------------------------------------------------------------- real loopback


def test_loopback_allowed_only_with_the_private_network_flag(server: LoopbackServer) -> None:
    server.routes["/list"] = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
    dev = HttpPolicy.from_settings({"allow_private_network": True})
    with GuardedHttp(dev) as http:
        response = http.get(server.url("/list"))
    assert response.content == b'{"ok": true}'
    assert response.content_type == "application/json"
    with GuardedHttp(HttpPolicy(allow_http=True)) as http, pytest.raises(FetchBlocked):
        http.get(server.url("/list"))
    with GuardedHttp(HttpPolicy(allow_http=True)) as http, pytest.raises(FetchBlocked):
        http.get(f"http://localhost:{server.port}/list")  # by name: resolved, then refused
    assert [path for path, _ in server.requests] == ["/list"]


@pytest.mark.parametrize(
    "location", ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/secret"]
)
def test_real_redirect_to_a_private_address_is_blocked(
    server: LoopbackServer, location: str
) -> None:
    server.routes["/hop"] = (302, {"Location": location.format(port=server.port)}, b"")
    server.routes["/secret"] = (200, {}, b"secret")
    # The operator exempts exactly one host (the first hop); every other hop is checked as usual.
    policy = HttpPolicy(allow_http=True, allow_hosts=frozenset({"127.0.0.1"}))
    with GuardedHttp(policy) as http, pytest.raises(FetchBlocked) as caught:
        http.get(server.url("/hop"))
    assert caught.value.code == "fetch_blocked"
    assert [path for path, _ in server.requests] == ["/hop"]  # the target was never contacted


def test_slow_server_times_out_within_bounded_time(server: LoopbackServer) -> None:
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> None:
        release.wait(10)

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            if release.wait(0.05):
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()

    server.routes["/stall"] = stall
    server.routes["/trickle"] = trickle
    policy = HttpPolicy(allow_private_network=True, allow_http=True, read_timeout=0.5, deadline=1.5)
    try:
        with GuardedHttp(policy) as http:
            started = time.monotonic()
            with pytest.raises(FetchTimeout):
                http.get(server.url("/stall"))
            assert time.monotonic() - started < 3
            started = time.monotonic()
            with pytest.raises(FetchTimeout):  # each byte beats the read timeout; the deadline wins
                http.get(server.url("/trickle"))
            assert time.monotonic() - started < 3
    finally:
        release.set()


def test_ten_megabyte_body_is_refused(server: LoopbackServer) -> None:
    def big(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = bytes(64 * 1024)
        try:
            for _ in range(160):  # 10 MiB, no Content-Length
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client stopped reading, as it should

    server.routes["/big"] = big
    server.routes["/big-declared"] = (200, {}, bytes(10 * 1024 * 1024))
    policy = HttpPolicy(allow_private_network=True, allow_http=True, max_bytes=1024 * 1024)
    with GuardedHttp(policy) as http:
        with pytest.raises(FetchTooLarge):
            http.get(server.url("/big"))
        with pytest.raises(FetchTooLarge):
            http.get(server.url("/big-declared"))
