"""JSON Schemas that credentials name in ``credentialSchema``: a pinned registry and a local cache.

VC Data Model 2.0 §4.11 lets a credential name the schemas it conforms to; Open Badges 3.0 §8.2
(and CLR 2.0) use the type ``1EdTechJsonSchemaValidator2019`` for a JSON Schema (draft 2019-09)
to apply to the credential as JSON. Verifiers apply them only from a trusted source, so, as with
JSON-LD contexts (:mod:`schemas.contexts`), Taito keeps a registry of schema URLs with the SHA-256
of the exact bytes reviewed, fills a cache directory from a local folder (``taito schemas sync
--from``), and checks every file against its digest when it is written and when it is read.

Several URLs name one document: the schema's own ``$id`` (``…-jsonschema1.json``), the URL the
Open Badges 3.0 text gives for ``credentialSchema`` (``…_schema.json``), and the shorter one the
1EdTech validator's fixtures use. They are listed as aliases of the one pinned file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from schemas import strict_json
from schemas.contexts import sha256_hex, write_atomic
from schemas.errors import TaitoError

MAX_SCHEMA_BYTES = 2 * 1024 * 1024
# VC Data Model 2.0 §4.11 names ``JsonSchema``; OB 3.0 / CLR 2.0 name the 1EdTech validator type.
JSON_SCHEMA_TYPES = frozenset({"JsonSchema", "1EdTechJsonSchemaValidator2019"})


class SchemaStoreError(TaitoError):
    code = "credential_schema_store"
    status = 500
    title = "Credential schema cache problem"


@dataclass(frozen=True)
class SchemaEntry:
    file_name: str  # name in the cache, and in the source folder it is synced from
    sha256: str
    urls: tuple[str, ...]  # the first is the schema's own $id
    # the data model generation the schema was generated for: it requires ``validFrom``, which a
    # VC 1.1 credential (``issuanceDate``) naming the same URL does not have
    base_context: str = "https://www.w3.org/ns/credentials/v2"


_OB = "https://purl.imsglobal.org/spec/ob/v3p0/schema"
ENTRIES: tuple[SchemaEntry, ...] = (
    SchemaEntry(
        "achievementcredential.json",
        "5753fb3ecf7d024ed273dd364bd683f483eb47257e718e6618832cf89eb2083a",
        (
            f"{_OB}/json/ob_v3p0_achievementcredential-jsonschema1.json",
            f"{_OB}/json/ob_v3p0_achievementcredential_schema.json",
            f"{_OB}/achievementcredential.json",
        ),
    ),
    SchemaEntry(
        "endorsementcredential.json",
        "4627e1878848d0192c3f9e26f09ef88a96ad48a46f5fca11b80b679ece0de345",
        (
            f"{_OB}/json/ob_v3p0_endorsementcredential-jsonschema1.json",
            f"{_OB}/json/ob_v3p0_endorsementcredential_schema.json",
            f"{_OB}/endorsementcredential.json",
        ),
    ),
    SchemaEntry(
        "profile.json",
        "9b05049f720b8ad9bd7aed358ca59c643c34bf1cec0b29fd7baa8bf98efed164",
        (f"{_OB}/json/ob_v3p0_profile-jsonschema1.json",),
    ),
)
REGISTRY: Mapping[str, SchemaEntry] = MappingProxyType(
    {url: entry for entry in ENTRIES for url in entry.urls}
)


def applies(url: str, document: Mapping[str, Any]) -> bool:
    """Whether the pinned schema for ``url`` (if any) fits ``document``'s data model version."""
    entry = REGISTRY.get(url)
    if entry is None:
        return True
    contexts = document.get("@context")
    listed = contexts if isinstance(contexts, list) else [contexts]
    return entry.base_context in listed


def for_1edtech_validator(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document as the generated 1EdTech schemas expect it: they type ``proof`` as an array
    only, while a single proof object and a one-item array are the same statement (VC Data Model
    2.0 §4.12, JSON-LD sets)."""
    proof = document.get("proof")
    if isinstance(proof, Mapping):
        return {**document, "proof": [proof]}
    return document


def _parse(entry: SchemaEntry, data: bytes) -> dict[str, Any]:
    digest = sha256_hex(data)
    if digest != entry.sha256:
        raise SchemaStoreError(
            f"The schema file {entry.file_name} has SHA-256 {digest}, not the pinned "
            f"{entry.sha256}."
        )
    document = strict_json.loads(data, max_bytes=MAX_SCHEMA_BYTES)
    if not isinstance(document, dict):
        raise SchemaStoreError(f"The schema file {entry.file_name} is not a JSON object.")
    return document


class SchemaCache:
    """A directory of registry schemas, ``<file_name>`` each, digest-checked on write and read."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._documents: dict[str, dict[str, Any]] = {}

    def sync_from_dir(self, source: Path) -> list[str]:
        """Copy the registry schemas found in ``source`` (by file name); returns their $ids.

        Every file found is checked before any is written: one mismatch refuses the sync.
        """
        accepted: list[tuple[SchemaEntry, bytes]] = []
        for entry in ENTRIES:
            path = Path(source) / entry.file_name
            if path.is_file():
                data = path.read_bytes()
                _parse(entry, data)
                accepted.append((entry, data))
        self.directory.mkdir(parents=True, exist_ok=True)
        for entry, data in accepted:
            write_atomic(self.directory / entry.file_name, data)
        self._documents.clear()
        return [entry.urls[0] for entry, _ in accepted]

    def missing(self) -> list[str]:
        return [e.urls[0] for e in ENTRIES if not (self.directory / e.file_name).is_file()]

    def get(self, url: str) -> Mapping[str, Any] | None:
        """The schema a registry URL names, if it is in the cache; ``None`` otherwise."""
        entry = REGISTRY.get(url)
        if entry is None:
            return None
        document = self._documents.get(entry.file_name)
        if document is None:
            path = self.directory / entry.file_name
            if not path.is_file():
                return None
            document = _parse(entry, path.read_bytes())
            self._documents[entry.file_name] = document
        return document  # shared, read-only by convention: validators never change a schema
