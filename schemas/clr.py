"""Comprehensive Learner Record 2.0 credentials as pydantic models, from the CLR 2.0 data model.

https://www.imsglobal.org/spec/clr/v2p0/ Appendix B.1 "Credential Data Models": a ClrCredential's
subject (ClrSubject) carries one or more AchievementCredentials (Open Badges 3.0, reused from
:mod:`schemas.open_badges`), optional Achievements and Associations between them.

    validate_clr(doc)   raises ValidationFailed, extra["errors"] = [{"path", "message"}, ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from schemas.open_badges import (
    OB_CONTEXT,
    Achievement,
    AchievementCredential,
    Context,
    EndorsementCredential,
    Evidence,
    IdentityObject,
    LinkedDataModel,
    OneOrMany,
    StrictBool,
    TypeValue,
    Url,
    VerifiableCredentialModel,
    _default_type,
    _merge,
    model_errors,
    raise_if_errors,
    structure_errors,
)
from schemas.vcdm import BASE_CONTEXT_V2

CLR_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/clr/v2p0/context"
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"

# CLR 2.0 B.2 enumeration AssociationType.
AssociationType = Literal[
    "exactMatchOf",
    "isChildOf",
    "isParentOf",
    "isPartOf",
    "isPeerOf",
    "isRelatedTo",
    "precedes",
    "replacedBy",
]


def _clr_context() -> Context:
    return [BASE_CONTEXT_V2, CLR_CONTEXT, OB_CONTEXT]


class Association(LinkedDataModel):
    """Association: how two achievements relate (sourceId → targetId); all members required."""

    required_types = ("Association",)
    type: TypeValue = "Association"
    association_type: AssociationType
    source_id: Url
    target_id: Url


class ClrSubject(LinkedDataModel):
    """ClrSubject: type 'ClrSubject' and one or more verifiable credentials required."""

    required_types = ("ClrSubject",)
    id: Url | None = None
    type: TypeValue = _default_type("ClrSubject")
    identifier: list[IdentityObject] | None = None
    achievement: list[Achievement] | None = None
    verifiable_credential: OneOrMany[AchievementCredential]
    association: list[Association] | None = None


class ClrCredential(VerifiableCredentialModel):
    """ClrCredential: id, type 'ClrCredential', issuer, name, credentialSubject, validFrom."""

    required_types = ("ClrCredential",)
    required_context: ClassVar[tuple[str, ...]] = (CLR_CONTEXT_PREFIX,)
    context: Context = Field(alias="@context", default_factory=lambda: _clr_context())
    type: TypeValue = _default_type("VerifiableCredential", "ClrCredential")
    name: str
    partial: StrictBool | None = None
    credential_subject: ClrSubject
    endorsement: list[EndorsementCredential] | None = None
    endorsement_jwt: list[str] | None = None
    evidence: list[Evidence] | None = None


ClrCredential.model_rebuild()


def validate_clr(doc: Any) -> None:
    """Raise :class:`ValidationFailed` unless ``doc`` is a CLR 2.0 credential.

    The VCDM structure of the CLR and of every credential it carries is checked too.
    """
    if not isinstance(doc, Mapping):
        raise_if_errors([{"path": "", "message": "must be a JSON object"}], "CLR")
        return
    groups = [structure_errors(doc)]
    subject = doc.get("credentialSubject")
    if isinstance(subject, Mapping):
        carried = subject.get("verifiableCredential")
        items = carried if isinstance(carried, list) else [carried]
        prefix = "credentialSubject.verifiableCredential"
        for index, item in enumerate(items):
            if item is not None:
                path = f"{prefix}.{index}" if isinstance(carried, list) else prefix
                groups.append(structure_errors(item, path=path))
    model: type[BaseModel] = ClrCredential
    groups.append(model_errors(model, doc))
    raise_if_errors(_merge(*groups), "CLR 2.0 credential")
