"""CLR 2.0: our models over the published CLR test vectors, and the rules one at a time.

No official CLR 2.0 JSON Schema is available (clr2/SOURCES.md), so the vectors are checked against
our models only. The validator fixtures under clr2/validator-fixtures use a draft CLR context
(https://dc.imsglobal.org/draft/...) or VCDM 1.1 and are not asserted here.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from schemas.clr import CLR_CONTEXT, Association, ClrCredential, ClrSubject, validate_clr
from schemas.errors import ValidationFailed
from schemas.open_badges import (
    Achievement,
    AchievementCredential,
    AchievementSubject,
    Criteria,
    Profile,
)

SHARED = Path(
    os.environ.get("TAITO_SHARED_DIR") or Path(__file__).resolve().parents[2] / ".." / "shared"
)
VECTORS = SHARED / "conformance" / "clr2" / "test-vectors" / "clrv2p0"


def _vectors() -> list[Path]:
    return sorted(VECTORS.glob("credential-*.json")) if VECTORS.is_dir() else []


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_vectors_present() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"CLR 2.0 test vectors absent ({VECTORS}); set TAITO_SHARED_DIR")
    assert {p.name for p in _vectors()} == {"credential-signed.json", "credential-unsigned.json"}


@pytest.mark.parametrize("path", _vectors(), ids=lambda p: p.name)
def test_vector_is_valid_and_round_trips(path: Path) -> None:
    doc = _load(path)
    validate_clr(doc)
    assert ClrCredential.model_validate(doc).model_dump(by_alias=True, exclude_none=True) == doc


def _vector() -> dict[str, Any]:
    file = VECTORS / "credential-unsigned.json"
    if not file.is_file():
        pytest.skip(f"CLR 2.0 test vector absent ({file})")
    doc: dict[str, Any] = _load(file)
    return copy.deepcopy(doc)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["type"].remove("ClrCredential"), "type"),
        (lambda d: d.pop("name"), "name"),
        (
            lambda d: d["credentialSubject"].pop("verifiableCredential"),
            "credentialSubject.verifiableCredential",
        ),
        (lambda d: d["credentialSubject"].update(type="Subject"), "credentialSubject.type"),
        (lambda d: d["@context"].pop(1), "@context"),
        (
            lambda d: d["credentialSubject"]["verifiableCredential"][0]["credentialSubject"][
                "achievement"
            ].pop("name"),
            "credentialSubject.verifiableCredential.0.credentialSubject.achievement.name",
        ),
        (
            lambda d: d["credentialSubject"]["verifiableCredential"][0].update(
                validFrom="2010-01-01"
            ),
            "credentialSubject.verifiableCredential.0.validFrom",
        ),
        (
            lambda d: d["credentialSubject"].update(
                association=[
                    {
                        "type": "Association",
                        "associationType": "isCousinOf",
                        "sourceId": "urn:uuid:1",
                        "targetId": "urn:uuid:2",
                    }
                ]
            ),
            "credentialSubject.association.0.associationType",
        ),
        (
            lambda d: d["credentialSubject"].update(
                association=[
                    {
                        "type": "Association",
                        "associationType": "isPartOf",
                        "sourceId": "urn:uuid:1",
                        "targetId": "two",
                    }
                ]
            ),
            "credentialSubject.association.0.targetId",
        ),
        (lambda d: d.update(partial="yes"), "partial"),
    ],
)
def test_rules(mutate: Any, path: str) -> None:
    doc = _vector()
    mutate(doc)
    with pytest.raises(ValidationFailed) as caught:
        validate_clr(doc)
    assert path in [e["path"] for e in caught.value.extra["errors"]], caught.value.extra


def test_built_clr_is_valid() -> None:
    issuer = Profile(id="https://example.edu/issuers/1", name="Example University")
    achievement = Achievement(
        id="urn:uuid:a1",
        name="Course 1",
        description="A course.",
        criteria=Criteria(narrative="Pass."),
    )
    badge = AchievementCredential(
        id="urn:uuid:c1",
        issuer=issuer,
        valid_from="2024-01-01T00:00:00Z",
        credential_subject=AchievementSubject(id="did:example:alice", achievement=achievement),
    )
    clr = ClrCredential(
        id="urn:uuid:clr1",
        name="Transcript",
        issuer=issuer,
        valid_from="2024-01-02T00:00:00Z",
        credential_subject=ClrSubject(
            id="did:example:alice",
            verifiable_credential=[badge],
            association=[
                Association(
                    association_type="isPartOf", source_id="urn:uuid:a1", target_id="urn:uuid:a2"
                )
            ],
        ),
    )
    doc = clr.to_json()
    assert CLR_CONTEXT in doc["@context"]
    assert doc["credentialSubject"]["association"][0]["associationType"] == "isPartOf"
    validate_clr(doc)


def test_not_an_object() -> None:
    with pytest.raises(ValidationFailed):
        validate_clr(["clr"])
