"""``credentialSchema`` (VC Data Model 2.0 §4.11): the schemas a credential names are applied from
the pinned cache, or fetched through the guarded client when the policy allows; a schema that
cannot be had is a warning, never a silent pass; a mismatch fails the ``schema`` check."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.contexts import ContextCache, StaticLoader
from schemas.credential_schemas import REGISTRY, SchemaCache, SchemaStoreError
from verifier.context import VerifierContext
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, HttpPolicy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SCHEMA_URL = "https://schemas.example/degree.json"
PROFILE_URL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile-jsonschema1.json"
DEGREE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["degree"],
            "properties": {"degree": {"type": "string"}},
        }
    },
}


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader()


def _credential(subject: Mapping[str, Any], schema_type: str = "JsonSchema") -> str:
    """A VC 2.0 credential naming a schema; its proof is a placeholder (the schema check answers
    before the proof is looked at, and the proof failing does not change it)."""
    return json.dumps(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": dict(subject),
            "credentialSchema": {"id": SCHEMA_URL, "type": schema_type},
            "proof": {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "proofPurpose": "assertionMethod",
                "verificationMethod": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
                "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "proofValue": "z111",
            },
        }
    )


def _options(
    loader: StaticLoader, lookup: Callable[[str], Mapping[str, Any] | None] | None
) -> VerifyOptions:
    return VerifyOptions(now=NOW, loader=loader, credential_schemas=lookup)


def _schema_check(data: str, options: VerifyOptions) -> tuple[str, str, str]:
    check = verify_credential(data, options).check("schema")
    assert check is not None
    return check.status, check.code, check.message


def test_matching_schema_passes(loader: StaticLoader) -> None:
    status, code, message = _schema_check(
        _credential({"degree": "MSc"}), _options(loader, {SCHEMA_URL: DEGREE_SCHEMA}.get)
    )
    assert (status, code) == ("passed", "ok")
    assert SCHEMA_URL in message


def test_breaking_the_named_schema_fails_with_the_path(loader: StaticLoader) -> None:
    report = verify_credential(
        _credential({"degree": 5}), _options(loader, {SCHEMA_URL: DEGREE_SCHEMA}.get)
    )
    check = report.check("schema")
    assert check is not None
    assert (check.status, check.code) == ("failed", "credential_schema_mismatch")
    assert "credentialSubject.degree" in check.message
    assert not report.verified


def test_schema_not_available_is_a_warning(loader: StaticLoader) -> None:
    for lookup in (None, {}.get):
        status, code, message = _schema_check(
            _credential({"degree": "MSc"}), _options(loader, lookup)
        )
        assert (status, code) == ("warning", "credential_schema_unchecked")
        assert SCHEMA_URL in message


def test_unknown_schema_type_is_not_applied(loader: StaticLoader) -> None:
    status, code, _ = _schema_check(
        _credential({"degree": 5}, schema_type="ShaclValidator2017"),
        _options(loader, {SCHEMA_URL: DEGREE_SCHEMA}.get),
    )
    assert (status, code) == ("warning", "credential_schema_unchecked")


def test_an_unusable_schema_is_unchecked_not_a_mismatch(loader: StaticLoader) -> None:
    broken = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": 12}
    status, code, _ = _schema_check(
        _credential({"degree": "MSc"}), _options(loader, {SCHEMA_URL: broken}.get)
    )
    assert (status, code) == ("warning", "credential_schema_unchecked")


# --- the verifier context: pinned cache first, fetch only by policy --------------------------


@pytest.fixture
def served() -> Iterator[list[str]]:
    seen: list[str] = []
    yield seen


def _context(loader: StaticLoader, seen: list[str], *, fetch: bool) -> VerifierContext:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=DEGREE_SCHEMA)

    http = GuardedHttp(
        HttpPolicy(),
        transport=httpx.MockTransport(handler),
        resolver=lambda _host, _port: ["93.184.215.14"],
    )
    return VerifierContext(loader=loader, http=http, clock=lambda: NOW, fetch_schemas=fetch)


def test_context_fetches_a_schema_only_when_the_policy_allows(
    loader: StaticLoader, served: list[str]
) -> None:
    closed = _context(loader, served, fetch=False)
    assert _schema_check(_credential({"degree": 5}), closed.options())[1] == (
        "credential_schema_unchecked"
    )
    assert served == []
    fetching = _context(loader, served, fetch=True)
    assert _schema_check(_credential({"degree": 5}), fetching.options())[1] == (
        "credential_schema_mismatch"
    )
    assert _schema_check(_credential({"degree": "MSc"}), fetching.options())[0] == "passed"
    assert served == ["/degree.json"]  # fetched once (pinned address), then remembered


def test_context_never_fetches_private_addresses(loader: StaticLoader) -> None:
    http = GuardedHttp(HttpPolicy(), resolver=lambda _host, _port: ["127.0.0.1"])
    context = VerifierContext(loader=loader, http=http, clock=lambda: NOW, fetch_schemas=True)
    status, code, _ = _schema_check(_credential({"degree": 5}), context.options())
    assert (status, code) == ("warning", "credential_schema_unchecked")


# --- the pinned cache --------------------------------------------------------------------------


def test_cache_serves_every_alias_of_a_pinned_schema(tmp_path: Path, conformance: Path) -> None:
    cache = SchemaCache(tmp_path)
    stored = cache.sync_from_dir(conformance / "ob3" / "schemas" / "json")
    assert len(stored) == 3 and cache.missing() == []
    for url, entry in REGISTRY.items():
        schema = cache.get(url)
        assert schema is not None and schema["$id"] == entry.urls[0]
    assert cache.get(SCHEMA_URL) is None


def test_cache_refuses_a_changed_file(tmp_path: Path, conformance: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    original = (conformance / "ob3" / "schemas" / "json" / "profile.json").read_bytes()
    (source / "profile.json").write_bytes(original.replace(b'"object"', b'"array"', 1))
    with pytest.raises(SchemaStoreError):
        SchemaCache(tmp_path / "cache").sync_from_dir(source)
    assert not (tmp_path / "cache" / "profile.json").exists()
    # a file altered on disk after the sync is refused when read
    cache = SchemaCache(tmp_path / "cache")
    (source / "profile.json").write_bytes(original)
    cache.sync_from_dir(source)
    (tmp_path / "cache" / "profile.json").write_bytes(original + b" ")
    with pytest.raises(SchemaStoreError):
        SchemaCache(tmp_path / "cache").get(PROFILE_URL)
