"""Open Badges 3.0: our models and the official 1EdTech JSON Schemas, over the published data.

- spec examples and the signing test vector: valid against the official schema (achievementcredential
  or endorsementcredential by the credential's type, per ob3/SOURCES.md) and our models, and a
  model round trip gives back the same JSON;
- 1EdTech validator fixtures (validator-fixtures/ob30, the validator's OB30Tests): the ``simple-err-*``
  files whose fault is structural fail with the path of the fault; the valid simple ones pass.
  ``simple-err-expired`` / ``-issued`` (clock) and ``simple-err-proof-*`` (signature) are not
  structural faults and are left to the verifier's tests.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import TaitoError, ValidationFailed
from schemas.json_schemas import InvalidSchema, UnresolvableReference, schema_errors, validate
from schemas.open_badges import (
    Achievement,
    AchievementCredential,
    AchievementSubject,
    Alignment,
    Criteria,
    EndorsementCredential,
    IdentityObject,
    Image,
    Profile,
    Result,
    ResultDescription,
    validate_open_badge,
)

SHARED = Path(
    os.environ.get("TAITO_SHARED_DIR") or Path(__file__).resolve().parents[2] / ".." / "shared"
)
OB3 = SHARED / "conformance" / "ob3"
FIXTURES = OB3 / "validator-fixtures" / "ob30"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"Open Badges conformance data absent ({path}); set TAITO_SHARED_DIR")


def _official_schema(doc: dict[str, Any]) -> dict[str, Any]:
    types = doc["type"] if isinstance(doc["type"], list) else [doc["type"]]
    name = "endorsementcredential" if "EndorsementCredential" in types else "achievementcredential"
    file = OB3 / "schemas" / "json" / f"{name}.json"
    _require(file)
    schema: dict[str, Any] = _load(file)
    return schema


def _for_official_schema(doc: dict[str, Any]) -> dict[str, Any]:
    # The generated 1EdTech schema types `proof` as an array only; in JSON-LD (and VCDM §4.12) a
    # single proof object and a one-item array are the same statement.
    if isinstance(doc.get("proof"), dict):
        return {**doc, "proof": [doc["proof"]]}
    return doc


def _examples() -> list[Path]:
    found = sorted((OB3 / "examples").rglob("*.json")) if OB3.is_dir() else []
    vectors = OB3 / "test-vectors" / "obv3p0"
    found += sorted(vectors.glob("credential-*.json")) if vectors.is_dir() else []
    return found


EXAMPLES = _examples()


def test_examples_present() -> None:
    _require(OB3 / "examples")
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_official_schema(path: Path) -> None:
    doc = _load(path)
    validate(_for_official_schema(doc), _official_schema(doc))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_our_models_and_round_trips(path: Path) -> None:
    doc = _load(path)
    validate_open_badge(doc)
    model = (
        EndorsementCredential if "EndorsementCredential" in doc["type"] else AchievementCredential
    )
    assert model.model_validate(doc).model_dump(by_alias=True, exclude_none=True) == doc


# simple-err-* fixture -> the path of its (structural) fault, from the fixture's content and the
# validator test that uses it (OB30Tests: TypePropertyProbe, JsonSchemaProbe, ContextPropertyProbe,
# CredentialSubjectProbe, EvidenceProbe, IssuerProbe).
STRUCTURAL_FAULTS = {
    "simple-err-type.json": "type",
    "simple-err-issuer.json": "issuer",
    "simple-err-context.json": "@context",
    "simple-err-credential-subject-type.json": "credentialSubject.type",
    "simple-err-credential-subject-identifier-type.json": "credentialSubject.identifier.0.type",
    "simple-err-credential-subject-result-type.json": "credentialSubject.result.1.type",
    "simple-err-credential-subject-achievement-result-description-type.json": "credentialSubject.achievement.resultDescription.2.type",
    "simple-err-credential-subject-profile-type.json": "credentialSubject.source.type",
    "simple-err-evidence-type.json": "evidence.1.type",
    "simple-err-issuer-type.json": "issuer.type",
    "simple-err-issuer-parentorg-type.json": "issuer.parentOrg.type",
    "simple-err-issuer-otheridentifier-type.json": "issuer.otherIdentifier.1.type",
}
NOT_STRUCTURAL = {
    "simple-err-expired.json",
    "simple-err-issued.json",
    "simple-err-proof-method.json",
    "simple-err-proof-method-no-scheme.json",
    "simple-err-proof-method-unknown-did-method.json",
    "simple-err-proof-method-unknown-scheme.json",
    "simple-err-proof-value.json",
}
# Valid (or valid with warnings only) in OB30Tests.
VALID_SIMPLE = [
    "simple.json",
    "simple-did-key-method.json",
    "simple-did-web-method.json",
    "simple-multiple-proofs.json",
    "simple-context-alias.json",
    "simple_v1.json",
    "simple-eddsa-2022.json",
]


def test_every_err_fixture_is_classified() -> None:
    _require(FIXTURES)
    found = {p.name for p in FIXTURES.glob("simple-err-*.json")}
    assert found == set(STRUCTURAL_FAULTS) | NOT_STRUCTURAL


@pytest.mark.parametrize(("name", "fault"), sorted(STRUCTURAL_FAULTS.items()))
def test_structural_fault_is_found_at_its_path(name: str, fault: str) -> None:
    path = FIXTURES / name
    _require(path)
    doc = _load(path)
    with pytest.raises(ValidationFailed) as caught:
        validate_open_badge(doc)
    ours = [e["path"] for e in caught.value.extra["errors"]]
    official = [e["path"] for e in schema_errors(_for_official_schema(doc), _official_schema(doc))]
    assert fault in ours or fault in official, (ours, official)
    assert fault in ours  # our models find every one of them


@pytest.mark.parametrize("name", VALID_SIMPLE)
def test_valid_simple_fixture_passes(name: str) -> None:
    path = FIXTURES / name
    _require(path)
    doc = _load(path)
    validate_open_badge(doc)
    if doc["@context"][0] == "https://www.w3.org/ns/credentials/v2":
        # the official schema knows VCDM 2.0 only (validFrom, the v2 base context)
        validate(_for_official_schema(doc), _official_schema(doc))


# --- building credentials ---------------------------------------------------------------------


def _built() -> AchievementCredential:
    achievement = Achievement(
        id="https://example.com/achievements/teamwork",
        name="Teamwork",
        description="Collaborates within a group.",
        criteria=Criteria(narrative="Nominated by peers."),
        image=Image(id="https://example.com/teamwork.png", caption="Teamwork"),
        alignment=[Alignment(target_name="Teamwork", target_url="https://example.org/skills/1")],
        result_description=[
            ResultDescription(
                id="urn:uuid:1", name="Grade", result_type="LetterGrade", allowed_value=["A", "B"]
            )
        ],
    )
    subject = AchievementSubject(
        id="did:example:alice",
        achievement=achievement,
        identifier=[
            IdentityObject(
                hashed=False, identity_hash="alice@example.org", identity_type="emailAddress"
            )
        ],
        result=[Result(result_description="urn:uuid:1", value="A")],
    )
    return AchievementCredential(
        id="urn:uuid:2b3c",
        name="Teamwork Badge",
        issuer=Profile(id="https://example.com/issuers/1", name="Example Corp"),
        valid_from=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        credential_subject=subject,
    )


def test_built_credential_is_valid_everywhere() -> None:
    doc = _built().to_json()
    assert doc["validFrom"] == "2024-05-01T12:00:00Z"
    assert doc["credentialSubject"]["achievement"]["criteria"] == {
        "narrative": "Nominated by peers."
    }
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert "resultType" in doc["credentialSubject"]["achievement"]["resultDescription"][0]
    validate_open_badge(doc)
    schema_file = OB3 / "schemas" / "json" / "achievementcredential.json"
    if schema_file.is_file():
        assert schema_errors(doc, _load(schema_file)) == []


def test_extra_members_are_kept() -> None:
    doc = _built().to_json()
    doc["credentialSubject"]["achievement"]["ext:level"] = {"value": 3}
    model = AchievementCredential.model_validate(doc)
    assert model.to_json()["credentialSubject"]["achievement"]["ext:level"] == {"value": 3}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["credentialSubject"]["achievement"].pop("criteria"),
            "credentialSubject.achievement.criteria",
        ),
        (
            lambda d: d["credentialSubject"]["achievement"].pop("type"),
            "credentialSubject.achievement.type",
        ),
        (lambda d: d.pop("validFrom"), "validFrom"),
        (lambda d: d["issuer"].update(id="example.com"), "issuer.id"),
        (
            lambda d: d["credentialSubject"]["identifier"][0].update(hashed="no"),
            "credentialSubject.identifier.0.hashed",
        ),
        (lambda d: d.update(validFrom="1 May 2024"), "validFrom"),
        (lambda d: d["@context"].pop(1), "@context"),
    ],
)
def test_received_document_errors(mutate: Any, path: str) -> None:
    doc = _built().to_json()
    mutate(doc)
    with pytest.raises(ValidationFailed) as caught:
        validate_open_badge(doc)
    assert path in [e["path"] for e in caught.value.extra["errors"]]
    assert all(set(e) == {"path", "message"} for e in caught.value.extra["errors"])


def test_not_an_object_is_a_typed_error() -> None:
    for doc in (None, "badge", [1]):
        with pytest.raises(ValidationFailed) as caught:
            validate_open_badge(doc)
        assert caught.value.code == "validation_failed"


# --- json_schemas -----------------------------------------------------------------------------

DRAFT_2019 = "https://json-schema.org/draft/2019-09/schema"


def test_json_schema_paths_and_draft() -> None:
    schema = {
        "$schema": DRAFT_2019,
        "type": "object",
        "required": ["a"],
        "properties": {"b": {"type": "array", "items": {"$ref": "#/$defs/x"}}},
        "$defs": {"x": {"type": "object", "required": ["c"]}},
    }
    with pytest.raises(ValidationFailed) as caught:
        validate({"b": [{"c": 1}, {}]}, schema)
    paths = [e["path"] for e in caught.value.extra["errors"]]
    assert paths == ["a", "b.1.c"]
    validate({"a": 1, "b": []}, schema)


def test_json_schema_refs_only_from_given_documents() -> None:
    other = {"$schema": DRAFT_2019, "$id": "https://example.org/other.json", "type": "string"}
    schema = {"$schema": DRAFT_2019, "$ref": "https://example.org/other.json"}
    validate("text", schema, resources=[other])
    with pytest.raises(ValidationFailed):
        validate(3, schema, resources=[other])
    with pytest.raises(UnresolvableReference) as caught:
        validate("text", schema)
    assert isinstance(caught.value, TaitoError)


def test_invalid_schema_is_typed() -> None:
    with pytest.raises(InvalidSchema):
        validate({}, {"$schema": DRAFT_2019, "type": 12})
