"""VCDM 2.0 structure against the W3C VC 2.0 test-suite inputs and the official JSON Schemas.

The expected verdict is in each input's file name (``-ok`` / ``-fail`` / ``-fail-or-inject``). The
suite's harness adds an issuer to what it sends an issuer endpoint (``createRequestBody`` in
w3c/vc-data-model-2.0-test-suite tests/mock.data.js: a missing issuer, or a missing issuer id in an
issuer object, becomes the implementation's id) and replaces the ``PAST DATE`` / ``FUTURE DATE``
placeholders with real dates; :func:`_as_issued` does the same before checking credentials.

``-fail-or-inject`` inputs (no base context) are rejected: we check, we never inject a context.
``presentation-self-asserted-vc-*`` carry no verdict in their names (whether a VC is self-asserted
depends on how it is secured, which is the verifier's business), so they are not in the verdict
test.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas import vcdm
from schemas.errors import TaitoError
from schemas.json_schemas import schema_errors
from schemas.vcdm import (
    StructureError,
    check_credential,
    check_presentation,
    is_date_time_stamp,
    is_url,
)

SHARED = Path(
    os.environ.get("TAITO_SHARED_DIR") or Path(__file__).resolve().parents[2] / ".." / "shared"
)
INPUTS = SHARED / "conformance" / "vc2" / "test-suite-inputs"
SCHEMAS = SHARED / "conformance" / "vc2" / "schema"
HARNESS_ISSUER = "did:example:test-suite-issuer"

# Where the official JSON Schemas ask more than the data model: the VC schema requires a proof's
# verificationMethod (a Data Integrity matter, not VCDM §4.12), and the VP schema wants every
# verifiableCredential to be a full VC with an array @context, which an enveloped VC (§4.13.1,
# "@context": "<base>") is not. Only the schema refuses these, at exactly this path.
SCHEMA_STRICTER = {
    "credential-proof-ok.json": "proof.verificationMethod",
    "presentation-enveloped-vc-ok.json": "verifiableCredential.0.@context",
}


def _inputs() -> list[Path]:
    if not INPUTS.is_dir():
        return []
    return sorted(INPUTS.rglob("*.json"))


def _verdict(path: Path) -> str | None:
    stem = path.stem
    if stem.endswith("-ok"):
        return "ok"
    if stem.endswith("-fail") or stem.endswith("-fail-or-inject"):
        return "fail"
    return None


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _as_issued(doc: dict[str, Any]) -> dict[str, Any]:
    """What the test suite's harness sends: issuer added, date placeholders filled in."""
    doc = copy.deepcopy(doc)
    if isinstance(doc.get("issuer"), dict):
        if "id" not in doc["issuer"]:
            doc["issuer"]["id"] = HARNESS_ISSUER
    elif "issuer" not in doc:
        doc["issuer"] = HARNESS_ISSUER
    dates = {"PAST DATE": "2020-01-01T00:00:00Z", "FUTURE DATE": "2999-01-01T00:00:00Z"}
    for key in ("validFrom", "validUntil"):
        if doc.get(key) in dates:
            doc[key] = dates[doc[key]]
    return doc


def _check(path: Path) -> None:
    doc = _load(path)
    if path.name.startswith("presentation"):
        check_presentation(doc)
    else:
        check_credential(_as_issued(doc))


def _require_inputs() -> None:
    if not INPUTS.is_dir():
        pytest.skip(f"VC 2.0 test-suite inputs absent ({INPUTS}); set TAITO_SHARED_DIR")


VERDICT_FILES = [p for p in _inputs() if _verdict(p) is not None]


def test_inputs_present() -> None:
    _require_inputs()
    assert len(_inputs()) >= 97
    assert sum(1 for p in VERDICT_FILES if _verdict(p) == "fail") >= 40


@pytest.mark.parametrize("path", VERDICT_FILES, ids=lambda p: p.name)
def test_test_suite_verdict(path: Path) -> None:
    _require_inputs()
    if _verdict(path) == "ok":
        _check(path)
    else:
        with pytest.raises(StructureError) as caught:
            _check(path)
        assert caught.value.code == "invalid_structure"
        assert isinstance(caught.value.extra["path"], str)
        assert caught.value.detail


def _schema(name: str) -> dict[str, Any]:
    file = SCHEMAS / name
    if not file.is_file():
        pytest.skip(f"official VC JSON Schema absent ({file})")
    schema: dict[str, Any] = _load(file)
    return schema


OK_FILES = [p for p in VERDICT_FILES if _verdict(p) == "ok"]


@pytest.mark.parametrize("path", OK_FILES, ids=lambda p: p.name)
def test_ok_inputs_match_official_json_schema(path: Path) -> None:
    """Cross-check: what we accept, the W3C VC / VP JSON Schemas (draft 2020-12) accept too."""
    _require_inputs()
    credential_schema = _schema("verifiable-credential-schema.json")
    if path.name.startswith("presentation"):
        # The VP schema $refs the VC schema by its $id: resolved from what we pass, not fetched.
        doc, schema = _load(path), _schema("verifiable-presentation-schema.json")
        errors = schema_errors(doc, schema, resources=[credential_schema])
    else:
        errors = schema_errors(_as_issued(_load(path)), credential_schema)
    if path.name in SCHEMA_STRICTER:
        assert SCHEMA_STRICTER[path.name] in [e["path"] for e in errors]
    else:
        assert errors == []


def test_official_schema_is_draft_2020_12() -> None:
    schema = _schema("verifiable-credential-schema.json")
    Draft202012Validator.check_schema(schema)


# --- rules one at a time ----------------------------------------------------------------------

BASE = "https://www.w3.org/ns/credentials/v2"


def _credential(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": [BASE],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Alice"},
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def _path_of(doc: Any, check: Any = check_credential) -> str:
    with pytest.raises(StructureError) as caught:
        check(doc)
    path: str = caught.value.extra["path"]
    return path


def test_minimal_credential_passes() -> None:
    check_credential(_credential())


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"issuer": None}, ""),
        ({"credentialSubject": []}, "credentialSubject"),
        ({"credentialSubject": "did:example:subject"}, "credentialSubject"),
        (
            {"credentialSubject": [{"id": "did:example:a"}, {"id": "not a url"}]},
            "credentialSubject.1.id",
        ),
        ({"type": "VerifiableCredential", "@context": BASE}, None),
        ({"type": []}, "type"),
        ({"type": ["VerifiableCredential", 3]}, "type.1"),
        ({"validFrom": "2024-01-01T00:00:00"}, "validFrom"),
        ({"validFrom": "2023-02-29T00:00:00Z"}, "validFrom"),
        ({"validUntil": "2023-12-31T23:59:59Z"}, "validFrom"),
        ({"validUntil": "2023-12-31T23:00:00-01:00"}, None),
        ({"credentialSchema": {"id": "https://example.org/s", "type": "JsonSchema"}}, None),
        ({"credentialSchema": [{"id": "https://example.org/s"}]}, "credentialSchema.0"),
        ({"evidence": []}, "evidence"),
        ({"proof": [{"type": "DataIntegrityProof"}, {"proofValue": "z"}]}, "proof.1"),
        ({"relatedResource": [{"id": "https://example.org/x"}]}, "relatedResource.0"),
        ({"name": {"@value": "Badge", "@language": "en", "@direction": "up"}}, "name"),
        ({"description": [{"@language": "en"}]}, "description.0"),
        ({"@context": [BASE, {"name": "https://example.org/name"}]}, "@context.1.name"),
        (
            {
                "@context": [BASE, {"@vocab": "https://example.org/#"}],
                "type": ["VerifiableCredential", "X"],
            },
            None,
        ),
        (
            {"@context": [BASE, "https://example.org/ctx"], "type": ["VerifiableCredential", "X"]},
            None,
        ),
        ({"@context": [BASE], "type": ["VerifiableCredential", "Undefined"]}, "type.1"),
        ({"@context": [BASE], "type": ["VerifiableCredential", "https ://x"]}, "type.1"),
    ],
)
def test_rules(changes: dict[str, Any], path: str | None) -> None:
    doc = _credential(**changes)
    if path is None:
        check_credential(doc)
    else:
        assert _path_of(doc) == path


def test_vcdm_1_1_credential() -> None:
    v1 = "https://www.w3.org/2018/credentials/v1"
    doc = _credential(
        **{"@context": [v1], "validFrom": None, "issuanceDate": "2010-01-01T00:00:00Z"}
    )
    check_credential(doc)
    assert _path_of(_credential(**{"@context": [v1], "validFrom": None})) == ""
    bad = _credential(**{"@context": [v1], "issuanceDate": "yesterday"})
    assert _path_of(bad) == "issuanceDate"


def test_not_an_object() -> None:
    docs: list[Any] = [None, [], "credential", 3]
    for doc in docs:
        assert _path_of(doc) == ""
        assert _path_of(doc, check_presentation) == ""


def test_nested_credential_paths() -> None:
    vp = {
        "@context": [BASE],
        "type": "VerifiablePresentation",
        "verifiableCredential": [_credential(), _credential(issuer={"id": "nope"})],
    }
    assert _path_of(vp, check_presentation) == "verifiableCredential.1.issuer.id"
    vp["verifiableCredential"] = [
        {"@context": BASE, "type": "EnvelopedVerifiableCredential", "id": "https://example.org/vc"}
    ]
    assert _path_of(vp, check_presentation) == "verifiableCredential.0.id"


def test_structure_error_is_typed() -> None:
    with pytest.raises(TaitoError) as caught:
        check_credential({"@context": [BASE]})
    assert type(caught.value) is StructureError
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.org/a", True),
        ("did:example:123", True),
        ("urn:uuid:9c9a36f8-518f-4976-a934-6649502d0008", True),
        ("data:application/vc-ld+jwt,eyJ", True),
        ("https://", False),
        ("https ://example.org", False),
        ("example.org/a", False),
        ("did:", False),
        ("http://exa mple.org", False),
        ("", False),
        (None, False),
        (["https://example.org"], False),
    ],
)
def test_is_url(value: Any, expected: bool) -> None:
    assert is_url(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29T12:00:00Z", True),
        ("2023-02-29T12:00:00Z", False),
        ("10000-01-01T00:00:00+14:00", True),
        ("2024-01-01T24:00:00Z", True),
        ("2024-01-01T00:00:00+14:01", False),
        ("2024-01-01T00:00:00.123456789-05:30", True),
        ("2024-01-01 00:00:00Z", False),
        ("2024-01-01", False),
    ],
)
def test_date_time_stamp(value: str, expected: bool) -> None:
    assert is_date_time_stamp(value) is expected


def test_url_character_check_matches_the_per_character_rule() -> None:
    """``is_url``'s one-regex character check equals the per-character rule it replaced, for every
    code point of the Basic Multilingual Plane and a few beyond."""
    forbidden = frozenset('<>"{}|\\^`')
    for code in [*range(0x10000), 0x10FFFF, 0x1F600]:
        char = chr(code)
        rule = char.isspace() or ord(char) < 0x21 or char in forbidden
        assert bool(vcdm._FORBIDDEN_URL_CHAR.search(f"ab{char}cd")) == rule, hex(code)
        if rule:
            assert not is_url(f"https://a.example/{char}x"), hex(code)
