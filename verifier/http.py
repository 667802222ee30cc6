"""The one guarded HTTP client for remote fetches: status lists now; did:web, issuer metadata and
OpenID documents later. Everything a verifier fetches names a URL chosen by someone else, so each
fetch is bounded and checked:

* **schemes**: ``https`` only, ``http`` only when the policy allows it; no user-info in URLs;
* **SSRF guard**: the host name is resolved and *every* address checked — loopback, private
  (RFC 1918, RFC 4193), link-local (169.254/16 with cloud metadata 169.254.169.254, fe80::/10),
  shared (100.64/10), unspecified, multicast, reserved and documentation ranges are refused unless
  ``allow_private_network`` (``TAITO_ALLOW_PRIVATE_NETWORK``: development and tests);
* **DNS rebinding**: the request is sent to the checked address itself (the URL's host becomes
  the address; ``Host`` and the TLS server name stay the original name, so certificates are still
  checked against it) and connections are never kept alive, so a second lookup cannot swap it;
* **redirects** are followed by hand, up to ``max_redirects``, each hop checked like the first;
* **time**: connect / read timeouts, and a total deadline across hops and the body;
* **size**: ``Content-Length`` over the limit is refused before reading; the body is streamed
  and reading stops one chunk past the limit; compressed bodies are inflated with the same bound;
* **offline sections**: inside ``with offline_only():`` a fetch the cache cannot answer raises
  :class:`NetworkNeeded` (a ``BaseException``, so no ``except Exception`` turns it into a check)
  instead of blocking: the API verifies on the event loop and re-runs in a thread only then;
* **cache** (RFC 9111, in memory, bounded by entries and bytes, keyed by URL and ``Accept``):
  ``Cache-Control: max-age`` / ``no-store`` / ``no-cache``, ``Age``, ``Expires``, and revalidation
  with ``If-None-Match`` (ETag) / ``If-Modified-Since``. ``now`` is injectable.

::

    TaitoError (schemas.errors)
    └── FetchError          fetch_failed      a network error, a non-2xx answer, a bad URL
        ├── FetchBlocked    fetch_blocked     scheme or address refused by the policy (SSRF guard)
        ├── FetchTimeout    fetch_timeout     connect / read timeout or total deadline passed
        ├── FetchTooLarge   fetch_too_large   the body is larger than ``max_bytes``
        └── FetchRedirects  fetch_redirects   more redirects than allowed, or a broken Location
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import socket
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from schemas.errors import TaitoError

__all__ = [
    "FetchBlocked",
    "FetchError",
    "FetchRedirects",
    "FetchResponse",
    "FetchTimeout",
    "FetchTooLarge",
    "GuardedHttp",
    "HttpPolicy",
    "NetworkNeeded",
    "Resolver",
    "is_blocked_address",
    "offline_only",
]

Resolver = Callable[[str, int], list[str]]
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(TaitoError):
    code = "fetch_failed"
    status = 502
    title = "Remote document could not be fetched"


class FetchBlocked(FetchError):
    code = "fetch_blocked"
    status = 400
    title = "Remote address not allowed"


class FetchTimeout(FetchError):
    code = "fetch_timeout"
    status = 504
    title = "Remote fetch timed out"


class FetchTooLarge(FetchError):
    code = "fetch_too_large"
    title = "Remote document too large"


class FetchRedirects(FetchError):
    code = "fetch_redirects"
    title = "Too many or invalid redirects"


class NetworkNeeded(BaseException):
    """A fetch inside :func:`offline_only` that the cache cannot answer: nothing was sent. A
    ``BaseException`` so that code turning every ``Exception`` into a failed check lets it
    through to the caller, which repeats the work where blocking is allowed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


_OFFLINE_ONLY: ContextVar[bool] = ContextVar("taito_http_offline_only", default=False)


@contextlib.contextmanager
def offline_only() -> Iterator[None]:
    """Within this block (this thread / task), :meth:`GuardedHttp.get` answers from fresh cache
    entries only and raises :class:`NetworkNeeded` rather than touching the network."""
    token = _OFFLINE_ONLY.set(True)
    try:
        yield
    finally:
        _OFFLINE_ONLY.reset(token)


@dataclass(frozen=True)
class HttpPolicy:
    """Limits of :class:`GuardedHttp`; the defaults are for production."""

    allow_private_network: bool = False
    allow_http: bool = False
    # Host names (as written in URLs) exempt from the address check: an operator's internal issuer.
    allow_hosts: frozenset[str] = frozenset()
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 20.0  # seconds for the whole fetch: every hop and the body
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 3
    cache_entries: int = 256
    cache_bytes: int = 32 * 1024 * 1024
    user_agent: str = "Taito-verifier"

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> HttpPolicy:
        """Read ``allow_private_network`` from the app settings (an object or a mapping)."""
        if isinstance(settings, Mapping):
            allow = bool(settings.get("allow_private_network", False))
        else:
            allow = bool(getattr(settings, "allow_private_network", False))
        # Development and tests serve over plain http on loopback; production stays https-only.
        values: dict[str, Any] = {"allow_private_network": allow, "allow_http": allow}
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class FetchResponse:
    """A fetched (or cached) response body; ``digest`` is the SHA-256 of ``content`` (hex)."""

    url: str  # the final URL, after redirects
    status: int
    content_type: str | None
    content: bytes
    etag: str | None
    digest: str
    from_cache: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FetchError(f"The document at {self.url} is not UTF-8 text.") from exc


@dataclass
class _CacheEntry:
    response: FetchResponse
    fresh_until: datetime
    etag: str | None
    last_modified: str | None


def is_blocked_address(address: str) -> bool:
    """True for any address that is not globally routable unicast (the SSRF guard's rule)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and is_blocked_address(str(mapped)):
            return True
    # is_global is False for loopback, RFC 1918, RFC 4193, link-local (169.254/16, fe80::/10),
    # shared 100.64/10, unspecified, reserved and documentation ranges; multicast checked apart.
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_unspecified
    )


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _directives(value: str | None) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            result[name.lower()] = arg.strip().strip('"') or None
    return result


def _seconds(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


class GuardedHttp:
    """``GET`` with the guards above. One instance per app (it holds the cache); thread-safe
    enough for CPython's GIL — cache races only cost a refetch."""

    def __init__(
        self,
        policy: HttpPolicy | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.policy = policy or HttpPolicy()
        self._resolver = resolver or _system_resolver
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cache: OrderedDict[tuple[str, str, bool], _CacheEntry] = OrderedDict()
        self._cache_size = 0
        if transport is None:
            # No keep-alive: every request connects to the address checked for it (rebinding).
            transport = httpx.HTTPTransport(
                retries=0, limits=httpx.Limits(max_keepalive_connections=0)
            )
        self._client = httpx.Client(transport=transport, follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GuardedHttp:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- public ----------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        accept: str | None = None,
        now: datetime | None = None,
        signed: bool = False,
    ) -> FetchResponse:
        """Fetch ``url`` (through the cache); raises a :class:`FetchError` subclass.

        ``signed``: the document carries its own signature, checked by the caller, so plain
        ``http`` is fetched too (RFC 5280 §4.2.1.13: CRLs are published over HTTP, and fetching
        them over TLS would need the revocation of the server's certificate first).
        """
        moment = now or self._clock()
        key = (url, accept or "", signed)
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            if moment < entry.fresh_until:
                return replace(entry.response, from_cache=True)
        if _OFFLINE_ONLY.get():
            raise NetworkNeeded(url)
        conditional: dict[str, str] = {}
        if entry is not None:
            if entry.etag:
                conditional["If-None-Match"] = entry.etag
            if entry.last_modified:
                conditional["If-Modified-Since"] = entry.last_modified
        status, final_url, headers, body = self._fetch(url, accept, conditional, signed)
        if status == 304:
            if entry is None:
                raise FetchError(f"{url} answered 304 Not Modified to an unconditional request.")
            # RFC 9111 §4.3.4: a 304 refreshes the stored response's freshness.
            merged = {**entry.response.headers, **headers}
            self._store(key, entry.response, merged, moment)
            return replace(entry.response, from_cache=True)
        if not 200 <= status < 300:
            raise FetchError(f"{url} answered HTTP {status}.", extra={"status": status})
        response = FetchResponse(
            url=final_url,
            status=status,
            content_type=headers.get("content-type"),
            content=body,
            etag=headers.get("etag"),
            digest=hashlib.sha256(body).hexdigest(),
            headers=headers,
        )
        if status == 200:
            self._store(key, response, headers, moment)
        return response

    def clear_cache(self) -> None:
        self._cache.clear()
        self._cache_size = 0

    # --- guard -----------------------------------------------------------------------------

    def _check_url(self, url: str, signed: bool = False) -> tuple[list[httpx.URL], str]:
        """Check scheme and host of ``url``; return the URLs to connect to (one per checked
        address, tried in order) and the host name."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(f"Not a valid URL: {str(url)[:200]!r}.") from exc
        scheme = parsed.scheme
        if scheme != "https" and not (scheme == "http" and (self.policy.allow_http or signed)):
            raise FetchBlocked(f"The URL scheme {scheme!r} is not allowed.", extra={"url": url})
        if parsed.userinfo:
            raise FetchBlocked("URLs with credentials are not fetched.")
        host = parsed.host
        if not host:
            raise FetchError(f"The URL {str(url)[:200]!r} has no host.")
        port = parsed.port or (443 if scheme == "https" else 80)
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                addresses = self._resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise FetchError(f"The host {host!r} cannot be resolved.") from exc
        if not addresses:
            raise FetchError(f"The host {host!r} has no address.")
        if not self.policy.allow_private_network and host not in self.policy.allow_hosts:
            blocked = [a for a in addresses if is_blocked_address(a)]
            if blocked:
                raise FetchBlocked(
                    f"{host} resolves to a non-public address ({blocked[0]}); not fetched.",
                    extra={"host": host, "address": blocked[0]},
                )
        # Pin: connect to the checked address; Host header and TLS name stay the host name.
        return [parsed.copy_with(host=address) for address in addresses[:4]], host

    # --- transfer --------------------------------------------------------------------------

    def _timeout(self, started: float) -> httpx.Timeout:
        left = self.policy.deadline - (time.monotonic() - started)
        if left <= 0:
            raise FetchTimeout(f"The fetch took longer than {self.policy.deadline} seconds.")
        return httpx.Timeout(
            connect=min(self.policy.connect_timeout, left),
            read=min(self.policy.read_timeout, left),
            write=min(self.policy.read_timeout, left),
            pool=min(self.policy.connect_timeout, left),
        )

    def _fetch(
        self, url: str, accept: str | None, conditional: Mapping[str, str], signed: bool
    ) -> tuple[int, str, dict[str, str], bytes]:
        started = time.monotonic()
        current = url
        for hop in range(self.policy.max_redirects + 1):
            targets, host = self._check_url(current, signed)
            headers = {
                "Host": _host_header(httpx.URL(current)),
                "User-Agent": self.policy.user_agent,
                "Accept-Encoding": "identity",
                **({"Accept": accept} if accept else {}),
                **(conditional if hop == 0 else {}),
            }
            try:
                response = self._send(targets, host, headers, started)
                try:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchRedirects(f"{current} redirects without a Location.")
                        try:
                            current = str(httpx.URL(current).join(location))
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise FetchRedirects("The redirect Location is not a URL.") from exc
                        continue
                    body = self._read(response, started)
                    headers_out = {k.lower(): v for k, v in response.headers.items()}
                    return response.status_code, current, headers_out, body
                finally:
                    response.close()
            except httpx.TimeoutException as exc:
                raise FetchTimeout(f"Fetching {current} timed out.") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Fetching {current} failed ({type(exc).__name__}).") from exc
        raise FetchRedirects(
            f"{url} redirects more than {self.policy.max_redirects} times.",
            extra={"max_redirects": self.policy.max_redirects},
        )

    def _send(
        self, targets: list[httpx.URL], host: str, headers: Mapping[str, str], started: float
    ) -> httpx.Response:
        """Send to each checked address in turn until one accepts the connection."""
        for number, target in enumerate(targets, 1):
            request = self._client.build_request(
                "GET",
                target,
                headers=headers,
                timeout=self._timeout(started),
                extensions={"sni_hostname": host},
            )
            try:
                return self._client.send(request, stream=True)
            except httpx.ConnectError:
                if number == len(targets):
                    raise
        raise FetchError(f"{host} has no address to connect to.")  # pragma: no cover

    def _read(self, response: httpx.Response, started: float) -> bytes:
        limit = self.policy.max_bytes
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise FetchTooLarge(
                f"The document is {length} bytes; the limit is {limit}.", extra={"max_bytes": limit}
            )
        if response.is_stream_consumed:
            # Only in-memory transports (tests) hand over a body already read and decoded.
            if len(response.content) > limit:
                raise FetchTooLarge(
                    f"The document is larger than {limit} bytes.", extra={"max_bytes": limit}
                )
            return response.content
        body = bytearray()
        # No chunk size: every network read is seen, so the deadline holds against a trickle.
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > limit:
                raise FetchTooLarge(
                    f"The document is larger than {limit} bytes.", extra={"max_bytes": limit}
                )
            if time.monotonic() - started > self.policy.deadline:
                raise FetchTimeout(f"The fetch took longer than {self.policy.deadline} seconds.")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            return bytes(body)
        if encoding in ("gzip", "x-gzip", "deflate"):
            return _inflate(bytes(body), encoding, limit)
        raise FetchError(f"The response uses an unsupported content coding {encoding!r}.")

    # --- cache (RFC 9111) ---------------------------------------------------------------------

    def _store(
        self,
        key: tuple[str, str, bool],
        response: FetchResponse,
        headers: Mapping[str, str],
        now: datetime,
    ) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_size -= len(old.response.content)
        control = _directives(headers.get("cache-control"))
        if "no-store" in control:  # RFC 9111 §5.2.2.5
            return
        lifetime: timedelta | None = None
        max_age = _seconds(control.get("max-age"))
        if max_age is not None:  # §5.2.2.1; s-maxage is for shared caches only
            lifetime = timedelta(seconds=max_age)
        elif "expires" in headers:  # §5.3: an invalid date means already expired
            try:
                expires = parsedate_to_datetime(headers["expires"])
                date = parsedate_to_datetime(headers["date"]) if "date" in headers else now
                lifetime = expires - date
            except (TypeError, ValueError, IndexError):
                lifetime = timedelta(0)
        if "no-cache" in control or lifetime is None:  # §5.2.2.4: always revalidate
            lifetime = timedelta(0)
        age = _seconds(headers.get("age")) or 0  # §5.1
        fresh_until = now + lifetime - timedelta(seconds=age)
        etag, modified = headers.get("etag"), headers.get("last-modified")
        if fresh_until <= now and not etag and not modified:
            return  # neither fresh nor revalidatable: nothing to gain from storing it
        size = len(response.content)
        if size > self.policy.cache_bytes or self.policy.cache_entries <= 0:
            return
        self._cache[key] = _CacheEntry(
            replace(response, from_cache=False), fresh_until, etag, modified
        )
        self._cache_size += size
        while (
            len(self._cache) > self.policy.cache_entries
            or self._cache_size > self.policy.cache_bytes
        ):
            _, evicted = self._cache.popitem(last=False)
            self._cache_size -= len(evicted.response.content)


def _host_header(url: httpx.URL) -> str:
    host = url.host
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(url.scheme)
    return host if url.port in (None, default) else f"{host}:{url.port}"


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """A Content-Encoding body inflated under the same size limit (no decompression bombs)."""
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"The {encoding} response body is corrupt.") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise FetchTooLarge(
            f"The document inflates past {limit} bytes.", extra={"max_bytes": limit}
        )
    return out
