"""The context registry and the directory cache, against shared/contexts (read, never copied)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pyld import jsonld

from schemas.contexts import (
    INDEX_FILE,
    REGISTRY,
    ContextCache,
    ContextIntegrityError,
    ContextSourceError,
    StaticLoader,
    UnknownContext,
    check_bytes,
)

VC2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.fixture(scope="module")
def source(shared: Path) -> Path:
    path = shared / "contexts"
    if not (path / "MANIFEST.json").is_file():
        pytest.skip(f"shared contexts absent at {path}")
    return path


@pytest.fixture(scope="module")
def manifest(source: Path) -> list[dict[str, str]]:
    contexts: list[dict[str, str]] = json.loads((source / "MANIFEST.json").read_text())["contexts"]
    return contexts


def test_registry_covers_every_manifest_url_with_the_same_digest(manifest: list[dict[str, str]]):
    for item in manifest:
        assert item["url"] in REGISTRY, item["url"]
        assert REGISTRY[item["url"]].sha256 == item["sha256"]


def test_registry_pins_the_published_vc2_digest():
    # VC Data Model 2.0, Appendix B.1
    assert (
        REGISTRY[VC2].sha256 == "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
    )
    assert REGISTRY[VC2].published is not None


def test_registry_names_the_supported_families():
    for url in (
        "https://www.w3.org/2018/credentials/v1",
        "https://w3id.org/security/data-integrity/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/jwk/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://w3id.org/vc/status-list/2021/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "http://data.europa.eu/snb/model/context/edc-ap",
        "https://w3id.org/citizenship/v4rc1",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ):
        assert url in REGISTRY
    assert REGISTRY[EXAMPLES_V2].test_only
    assert REGISTRY["https://www.w3.org/2018/credentials/examples/v1"].test_only
    assert not REGISTRY[VC2].test_only
    assert len({e.file_name for e in REGISTRY.values()}) == len(REGISTRY)


def test_sync_from_dir_fills_the_cache(tmp_path: Path, source: Path, manifest):
    cache = ContextCache(tmp_path / "cache")
    assert len(cache.missing()) == len(REGISTRY)
    stored = cache.sync_from_dir(source)
    assert sorted(stored) == sorted(item["url"] for item in manifest)
    assert cache.missing() == [url for url in REGISTRY if url not in stored]
    index = json.loads((tmp_path / "cache" / INDEX_FILE).read_text())
    assert set(index) == set(stored)
    for url in stored:
        data = (tmp_path / "cache" / index[url]["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == REGISTRY[url].sha256 == index[url]["sha256"]


def test_loader_serves_cached_contexts_once(tmp_path: Path, source: Path):
    cache = ContextCache(tmp_path)
    cache.sync_from_dir(source)
    loader = cache.loader()
    assert cache.loader() is loader  # memoised
    for entry in REGISTRY.values():
        (tmp_path / entry.file_name).unlink()  # read once: the files are no longer needed
    remote = loader(VC2, {})
    assert remote["documentUrl"] == VC2 and remote["contextUrl"] is None
    assert remote["document"]["@context"]["@protected"] is True
    remote["document"]["@context"]["VerifiableCredential"] = "https://evil.example/"
    assert loader(VC2)["document"]["@context"]["VerifiableCredential"] != "https://evil.example/"


def test_loader_refuses_urls_outside_the_cache(tmp_path: Path, source: Path):
    cache = ContextCache(tmp_path)
    cache.sync_from_dir(source)
    with pytest.raises(UnknownContext) as caught:
        cache.loader()("https://example.com/unknown/v1", {})
    assert caught.value.code == "unknown_context"
    production = cache.loader(include_test_only=False)
    assert VC2 in production and EXAMPLES_V2 not in production
    with pytest.raises(UnknownContext):
        production(EXAMPLES_V2)


def test_loader_works_with_pyld_and_never_fetches(tmp_path: Path, source: Path):
    cache = ContextCache(tmp_path)
    cache.sync_from_dir(source)
    document = {"@context": [VC2], "type": "VerifiableCredential", "issuer": "did:example:1"}
    expanded = jsonld.expand(document, {"documentLoader": cache.loader()})
    assert expanded[0]["@type"] == ["https://www.w3.org/2018/credentials#VerifiableCredential"]
    with pytest.raises(jsonld.JsonLdError) as caught:
        jsonld.expand({"@context": "https://example.com/ctx"}, {"documentLoader": cache.loader()})
    cause: BaseException | None = caught.value
    while cause is not None and not isinstance(cause, UnknownContext):
        cause = cause.__cause__
    assert isinstance(cause, UnknownContext)


def test_tampered_source_is_refused_and_nothing_is_written(tmp_path: Path, source: Path):
    copy = tmp_path / "source"
    shutil.copytree(source, copy)
    target = copy / REGISTRY[VC2].file_name
    target.write_bytes(
        target.read_bytes().replace(b"VerifiableCredential", b"VerifiableCredentiaI", 1)
    )
    cache = ContextCache(tmp_path / "cache")
    with pytest.raises(ContextIntegrityError) as caught:
        cache.sync_from_dir(copy)
    assert caught.value.code == "context_integrity"
    assert not (tmp_path / "cache" / INDEX_FILE).exists()
    assert len(cache.missing()) == len(REGISTRY)


def test_tampered_cache_file_is_refused_when_loaded(tmp_path: Path, source: Path):
    cache = ContextCache(tmp_path)
    cache.sync_from_dir(source)
    path = tmp_path / REGISTRY[VC2].file_name
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(ContextIntegrityError):
        ContextCache(tmp_path).loader()


def test_unknown_manifest_urls_are_noted_and_skipped(tmp_path: Path, source: Path):
    copy = tmp_path / "source"
    copy.mkdir()
    vc2_file = REGISTRY[VC2].file_name
    shutil.copyfile(source / vc2_file, copy / vc2_file)
    (copy / "other.jsonld").write_text('{"@context": {}}')
    (copy / "MANIFEST.json").write_text(
        json.dumps(
            {
                "contexts": [
                    {"url": VC2, "file": vc2_file, "sha256": "ignored"},
                    {"url": "https://example.com/other", "file": "other.jsonld", "sha256": "x"},
                ]
            }
        )
    )
    cache = ContextCache(tmp_path / "cache")
    assert cache.sync_from_dir(copy) == [VC2]
    assert cache.present() == [VC2]
    assert any("https://example.com/other" in note for note in cache.notes)


@pytest.mark.parametrize("name", ["../escape.jsonld", "/etc/passwd", "", None])
def test_unsafe_manifest_file_names_are_refused(tmp_path: Path, name: object):
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"contexts": [{"url": VC2, "file": name}]}))
    with pytest.raises(ContextSourceError) as caught:
        ContextCache(tmp_path / "cache").sync_from_dir(tmp_path)
    assert caught.value.code == "context_source"


def test_missing_or_malformed_manifest(tmp_path: Path):
    with pytest.raises(ContextSourceError):
        ContextCache(tmp_path / "cache").sync_from_dir(tmp_path)
    (tmp_path / "MANIFEST.json").write_text('{"contexts": 1}')
    with pytest.raises(ContextSourceError):
        ContextCache(tmp_path / "cache").sync_from_dir(tmp_path)


def test_store_checks_the_digest(tmp_path: Path, source: Path):
    data = (source / REGISTRY[VC2].file_name).read_bytes()
    cache = ContextCache(tmp_path)
    with pytest.raises(ContextIntegrityError):
        cache.store(VC2, data + b"\n")
    with pytest.raises(UnknownContext):
        cache.store("https://example.com/other", data)
    assert VC2 in cache.missing()
    cache.store(VC2, data)
    assert VC2 not in cache.missing()
    assert cache.loader()(VC2)["document"] == json.loads(data)


def test_static_loaders(source: Path):
    data = (source / REGISTRY[VC2].file_name).read_bytes()
    assert check_bytes(VC2, data) is REGISTRY[VC2]
    loader = StaticLoader.from_bytes({VC2: data})
    assert loader.urls == {VC2}
    with pytest.raises(ContextIntegrityError):
        StaticLoader.from_bytes({VC2: data[:-1]})
    memory = StaticLoader.from_documents({"https://example.com/c": {"@context": {"a": "urn:a"}}})
    assert memory("https://example.com/c")["document"] == {"@context": {"a": "urn:a"}}
    with pytest.raises(UnknownContext):
        memory(VC2)
