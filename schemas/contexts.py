"""The JSON-LD contexts Taito supports, pinned by SHA-256, and a static document loader.

Contexts are never fetched while a credential is processed (VC Data Model 2.0 §B.1 and Data
Integrity 1.0 §2.4: a verifier "ought to" cache and pin the contexts it trusts). The registry below
names each URL with the digest of its exact bytes; a :class:`ContextCache` directory holds the files,
filled once by ``taito contexts sync`` (from a folder laid out like ``shared/contexts`` or over HTTPS
in the CLI, never here), and its :meth:`ContextCache.loader` serves them to pyld.

::

    TaitoError
    └── ContextError               context_error
        ├── UnknownContext         unknown_context     a URL outside the registry, or not in the cache
        ├── ContextIntegrityError  context_integrity   bytes whose SHA-256 differs from the registry
        └── ContextSourceError     context_source      a sync source folder that cannot be read

The pyld loader contract is ``loader(url, options) -> {"contextUrl", "documentUrl", "document"}``.
Our loader returns no ``tag``, so pyld keeps no process-wide URL-keyed copy: every resolution goes
through the loader that was passed in, and a URL that loader does not hold is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from schemas import strict_json
from schemas.errors import TaitoError

log = logging.getLogger(__name__)

INDEX_FILE = "index.json"
MAX_CONTEXT_BYTES = 2 * 1024 * 1024


class ContextError(TaitoError):
    code = "context_error"
    title = "JSON-LD context problem"


class UnknownContext(ContextError):
    code = "unknown_context"
    title = "Unknown JSON-LD context"


class ContextIntegrityError(ContextError):
    code = "context_integrity"
    status = 500
    title = "JSON-LD context does not match its pinned digest"


class ContextSourceError(ContextError):
    code = "context_source"
    status = 500
    title = "JSON-LD context source cannot be read"


@dataclass(frozen=True)
class ContextEntry:
    url: str
    sha256: str  # hex digest of the exact bytes
    file_name: str  # name inside a ContextCache directory
    test_only: bool = False  # example vocabularies: for tests and spec vectors, never production
    published: str | None = None  # where a specification publishes this digest


def _entry(
    url: str, sha256: str, file_name: str, *, test_only: bool = False, published: str | None = None
) -> tuple[str, ContextEntry]:
    return url, ContextEntry(url, sha256, file_name, test_only, published)


# Digests: those with ``published`` are printed by the named Recommendation; the others are of the
# files we reviewed (shared/contexts/MANIFEST.json, whose SOURCES.md name repository and commit).
REGISTRY: Mapping[str, ContextEntry] = MappingProxyType(dict([
    # VC Data Model 2.0 (its context also defines Bitstring Status List and Data Integrity terms)
    _entry("https://www.w3.org/ns/credentials/v2",
           "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
           "credentials-v2.jsonld", published="VC Data Model 2.0 §B.1"),
    _entry("https://www.w3.org/ns/credentials/examples/v2",
           "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c",
           "credentials-examples-v2.jsonld", test_only=True),
    _entry("https://www.w3.org/ns/credentials/undefined-terms/v2",
           "82dab514ba44eb18f5d1b0f638c5e140c6a556fbfb5089601bdc0fa5eb8b2581",
           "credentials-undefined-terms-v2.jsonld"),
    # VC Data Model 1.1
    _entry("https://www.w3.org/2018/credentials/v1",
           "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc",
           "credentials-v1.jsonld"),
    _entry("https://www.w3.org/2018/credentials/examples/v1",
           "2070ae4e75bc3b4c2cfe2b8b6e86ec45119672bbb5da283f0399ea96c60a0104",
           "credentials-examples-v1.jsonld", test_only=True),
    # Data Integrity 1.0 §2.4, Controlled Identifiers (Multikey, JsonWebKey)
    _entry("https://w3id.org/security/data-integrity/v2",
           "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4",
           "data-integrity-v2.jsonld", published="VC Data Integrity 1.0 §2.4"),
    _entry("https://w3id.org/security/data-integrity/v1",
           "b5d829bd09aa7c42abc6efa0c8ed7635313b5487f37ccfce3ecd149ca9418554",
           "data-integrity-v1.jsonld"),
    _entry("https://w3id.org/security/multikey/v1",
           "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597",
           "multikey-v1.jsonld", published="VC Data Integrity 1.0 §2.4"),
    _entry("https://w3id.org/security/jwk/v1",
           "0f14b62f6071aafe00df265770ea0c7508e118247d79b7d861a406d2aa00bece",
           "jwk-v1.jsonld", published="VC Data Integrity 1.0 §2.4"),
    _entry("https://w3id.org/security/suites/ed25519-2020/v1",
           "3db5c19efb0047a6edfd3b36e24346a8a3caad369d749e3c2d69e862696403e5",
           "ed25519-2020-v1.jsonld"),
    # Status lists: Bitstring Status List v1.0 §5.2, and the legacy StatusList2021
    _entry("https://www.w3.org/ns/credentials/status/v1",
           "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7",
           "credentials-status-v1.jsonld", published="Bitstring Status List v1.0 §5.2"),
    _entry("https://w3id.org/vc/status-list/2021/v1",
           "6dd06a52bedb771e059c1083ba8ba7848dce22f6b4a8cfa0b98ba3fc188870e4",
           "status-list-2021-v1.jsonld"),
    # Citizenship vocabulary (used by the eddsa-rdfc-2022 "employ" vector)
    _entry("https://w3id.org/citizenship/v4rc1",
           "5038c7383afd7ab2158f1b997913a8f60978a0abcf96e0b0d08e29f146d2db1e",
           "citizenship-v4rc1.jsonld"),
    # Open Badges 3.0 (3.0.0 is context.json) and its extensions
    _entry("https://purl.imsglobal.org/spec/ob/v3p0/context.json",
           "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10",
           "ob-v3p0-context.json"),
    _entry("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
           "d582f3564282fb3b709136d28412e78e70b678b4dbc2f0221f67d84932748355",
           "ob-v3p0-context-3.0.1.json"),
    _entry("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
           "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
           "ob-v3p0-context-3.0.2.json"),
    _entry("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
           "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
           "ob-v3p0-context-3.0.3.json"),
    _entry("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
           "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3",
           "ob-v3p0-extensions.json"),
    # Comprehensive Learner Record 2.0
    _entry("https://purl.imsglobal.org/spec/clr/v2p0/context.json",
           "e198d7b517d74c5036434ce495086f67b10244709e9a3df9dcb7f8b1579b6167",
           "clr-v2p0-context.json"),
    _entry("https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
           "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6",
           "clr-v2p0-context-2.0.1.json"),
    # European Learning Model 3.2, European Digital Credentials application profile
    _entry("http://data.europa.eu/snb/model/context/edc-ap",
           "fde0b3fd92e98a8870c173fb98baff361be6dd07e44653a9a5ac6c0fe626b411",
           "elm-3.2-edc-ap-context.jsonld"),
]))  # fmt: skip


class DocumentLoader(Protocol):
    """A pyld document loader: ``(url, options) -> remote document``."""

    def __call__(self, url: str, options: Any = None, /) -> dict[str, Any]: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_for(url: str) -> ContextEntry:
    entry = REGISTRY.get(url) if isinstance(url, str) else None
    if entry is None:
        raise UnknownContext(
            f"The JSON-LD context {str(url)[:200]!r} is not one Taito supports.",
            extra={"url": str(url)[:200]},
        )
    return entry


def check_bytes(url: str, data: bytes) -> ContextEntry:
    """The registry entry of ``url`` if ``data`` has its pinned digest; raise otherwise."""
    entry = entry_for(url)
    digest = sha256_hex(data)
    if digest != entry.sha256:
        raise ContextIntegrityError(
            f"The context {url} has SHA-256 {digest}, not the pinned {entry.sha256}.",
            extra={"url": url, "sha256": digest, "expected": entry.sha256},
        )
    return entry


def _parse_context(url: str, data: bytes) -> dict[str, Any]:
    document = strict_json.loads(data, max_bytes=MAX_CONTEXT_BYTES, max_depth=strict_json.MAX_DEPTH)
    if not isinstance(document, dict) or "@context" not in document:
        raise ContextIntegrityError(f"The context {url} is not a JSON-LD context document.")
    return document


def _copy(value: Any) -> Any:
    """A fresh copy of parsed JSON, so pyld can never alter the memoised document."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class StaticLoader:
    """Serves a fixed set of parsed context documents; anything else is :class:`UnknownContext`."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents: dict[str, dict[str, Any]] = {
            url: _copy(dict(doc)) for url, doc in documents.items()
        }

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> StaticLoader:
        """A loader over documents given in memory (tests; no digest check)."""
        return cls(documents)

    @classmethod
    def from_bytes(cls, files: Mapping[str, bytes]) -> StaticLoader:
        """A loader over registry URLs and their exact bytes, each checked against its digest."""
        documents = {}
        for url, data in files.items():
            check_bytes(url, data)
            documents[url] = _parse_context(url, data)
        return cls(documents)

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def __contains__(self, url: object) -> bool:
        return url in self._documents

    def __call__(self, url: str, options: Any = None, /) -> dict[str, Any]:
        document = self._documents.get(url) if isinstance(url, str) else None
        if document is None:
            raise UnknownContext(
                f"The JSON-LD context {str(url)[:200]!r} is not available offline.",
                extra={"url": str(url)[:200]},
            )
        return {"contextUrl": None, "documentUrl": url, "document": _copy(document)}


def _safe_file_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
    ):
        raise ContextSourceError(f"The manifest names an unsafe file {str(name)[:100]!r}.")
    return name


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ContextCache:
    """A directory of registry contexts: ``<file_name>`` per URL plus ``index.json``.

    Every file is checked against the registry digest when written and again when read, so a
    file changed on disk is refused (``context_integrity``) rather than served.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.notes: list[str] = []
        self._loaders: dict[bool, StaticLoader] = {}

    def _path(self, entry: ContextEntry) -> Path:
        return self.directory / entry.file_name

    def _write(self, entries: Iterable[tuple[ContextEntry, bytes]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for entry, data in entries:
            write_atomic(self._path(entry), data)
        index = {
            url: {"file": entry.file_name, "sha256": entry.sha256}
            for url, entry in REGISTRY.items()
            if self._path(entry).is_file()
        }
        write_atomic(
            self.directory / INDEX_FILE,
            json.dumps(index, indent=2, sort_keys=True).encode() + b"\n",
        )
        self._loaders.clear()

    def sync_from_dir(self, source: Path) -> list[str]:
        """Copy the registry contexts found in ``source`` (``MANIFEST.json`` layout) into the cache.

        All files are checked before any is written; one digest mismatch refuses the whole sync.
        URLs outside the registry are skipped and noted in :attr:`notes`. Returns the URLs stored.
        """
        source = Path(source)
        try:
            manifest = strict_json.loads((source / "MANIFEST.json").read_bytes())
        except OSError as exc:
            raise ContextSourceError(f"No readable MANIFEST.json in {source}.") from exc
        contexts = manifest.get("contexts") if isinstance(manifest, dict) else None
        if not isinstance(contexts, list):
            raise ContextSourceError("MANIFEST.json has no 'contexts' list.")
        accepted: list[tuple[ContextEntry, bytes]] = []
        for item in contexts:
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                raise ContextSourceError("A MANIFEST.json entry has no 'url'.")
            url = item["url"]
            if url not in REGISTRY:
                note = f"skipped {url}: not in Taito's context registry"
                self.notes.append(note)
                log.info(note)
                continue
            path = source / _safe_file_name(item.get("file"))
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ContextSourceError(f"Cannot read {path.name} for {url}.") from exc
            entry = check_bytes(url, data)
            _parse_context(url, data)
            accepted.append((entry, data))
        self._write(accepted)
        return [entry.url for entry, _ in accepted]

    def store(self, url: str, data: bytes) -> None:
        """Store bytes fetched by the caller (an HTTPS sync) after checking the pinned digest."""
        entry = check_bytes(url, data)
        _parse_context(url, data)
        self._write([(entry, data)])

    def present(self) -> list[str]:
        return [url for url, entry in REGISTRY.items() if self._path(entry).is_file()]

    def missing(self) -> list[str]:
        return [url for url, entry in REGISTRY.items() if not self._path(entry).is_file()]

    def loader(self, *, include_test_only: bool = True) -> StaticLoader:
        """A static loader over the cached contexts, read and digest-checked once, then memoised.

        ``include_test_only=False`` leaves out the example vocabularies (production verifiers).
        """
        cached = self._loaders.get(include_test_only)
        if cached is not None:
            return cached
        documents: dict[str, dict[str, Any]] = {}
        for url, entry in REGISTRY.items():
            if entry.test_only and not include_test_only:
                continue
            path = self._path(entry)
            if not path.is_file():
                continue
            data = path.read_bytes()
            check_bytes(url, data)
            documents[url] = _parse_context(url, data)
        loader = StaticLoader(documents)
        self._loaders[include_test_only] = loader
        return loader
