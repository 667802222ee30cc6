"""Taito's one internal model of what an institution awards, mapped to every output format.

``issuer/formats/`` has one mapping module per format (Open Badges 3.0, CLR 2.0, ELM/Europass,
SD-JWT VC); each reads these models and nothing else, so a field added here reaches every format
through its mapping. Multilingual text is a :data:`LangString`: BCP 47 tag -> text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

LangString = dict[str, str]


def _non_empty(value: LangString) -> LangString:
    if not value or not all(isinstance(k, str) and k and v.strip() for k, v in value.items()):
        raise ValueError("give the text in at least one language, e.g. {'en': '...'}")
    return value


RequiredText = Annotated[LangString, AfterValidator(_non_empty)]


def text_in(value: LangString | None, language: str, fallback: str = "en") -> str | None:
    """The text in ``language``, else ``fallback``, else any language."""
    if not value:
        return None
    return value.get(language) or value.get(fallback) or next(iter(value.values()))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Alignment(_Model):
    """An alignment to a skill, occupation or competency framework (ESCO, CASE, ...)."""

    target_name: str = Field(min_length=1, max_length=500)
    target_url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    target_framework: str | None = Field(default=None, max_length=200)  # "ESCO", "CASE", ...
    target_code: str | None = Field(default=None, max_length=200)
    target_type: str | None = Field(default=None, max_length=100)  # OB 3.0 AlignmentTargetType
    target_description: str | None = Field(default=None, max_length=2000)


class LearningOutcome(_Model):
    text: RequiredText
    esco_skill: str | None = Field(default=None, pattern=r"^https?://")


ParticipationMode = Literal["online", "onsite", "blended"]


class AchievementSpec(_Model):
    """An achievement template: Open Badges 3.0 ``Achievement`` + EU micro-credential fields.

    The EU fields follow the Council Recommendation on micro-credentials (2022/C 243/02, Annex I)
    as the European Learning Model carries them.
    """

    name: RequiredText
    description: RequiredText
    criteria: RequiredText  # narrative of what a learner must do
    criteria_url: str | None = Field(default=None, pattern=r"^https?://")
    image: str | None = Field(default=None, max_length=200_000)  # URL or data: URI
    achievement_type: str = Field(default="Course", max_length=100)  # OB 3.0 AchievementType
    alignments: tuple[Alignment, ...] = ()
    tags: tuple[str, ...] = ()
    learning_outcomes: tuple[LearningOutcome, ...] = ()
    ects_credits: float | None = Field(default=None, ge=0, le=400)
    workload_hours: int | None = Field(default=None, ge=0, le=20_000)
    eqf_level: int | None = Field(default=None, ge=1, le=8)
    isced_f: str | None = Field(default=None, pattern=r"^\d{2,4}$")  # ISCED-F 2013 field code
    assessment_type: str | None = Field(default=None, max_length=200)
    participation_mode: ParticipationMode | None = None
    quality_assurance: str | None = Field(default=None, max_length=2000)
    prerequisites: LangString | None = None
    stackable: bool | None = None
    language: str = Field(default="en", min_length=2, max_length=35)  # main language (BCP 47)


class IssuerProfile(_Model):
    """An institution as it appears in what it signs."""

    id: str = Field(min_length=4)  # its DID (did:web by default)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    legal_name: RequiredText
    url: str = Field(pattern=r"^https?://")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    country: str = Field(pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    legal_identifier: str | None = Field(default=None, max_length=200)  # e.g. Finnish Y-tunnus
    logo: str | None = Field(default=None, max_length=200_000)
    accreditation: str | None = Field(default=None, max_length=2000)
    language: str = "en"


class Recipient(_Model):
    """Who receives an award: at least one identifier."""

    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    did: str | None = Field(default=None, pattern=r"^did:[a-z0-9]+:.+")
    student_number: str | None = Field(default=None, max_length=100)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _has_identifier(self) -> Recipient:
        if not (self.email or self.did or self.student_number):
            raise ValueError("a recipient needs an email, a DID or a student number")
        return self


class ResultValue(_Model):
    name: str = Field(min_length=1, max_length=200)  # e.g. "Grade"
    value: str = Field(min_length=1, max_length=200)  # e.g. "5" or "A"


class Evidence(_Model):
    url: str | None = Field(default=None, pattern=r"^https?://")
    name: str | None = Field(default=None, max_length=500)
    narrative: str | None = Field(default=None, max_length=5000)


class Award(_Model):
    """One issued record: this recipient earned this achievement from this issuer."""

    credential_id: str = Field(pattern=r"^(urn:uuid:|https?://)")
    achievement_id: str = Field(pattern=r"^(urn:|https?://)")
    recipient: Recipient
    issued_on: datetime
    valid_from: datetime
    valid_until: datetime | None = None
    results: tuple[ResultValue, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    salt: str | None = None  # for the hashed email IdentityObject (OB 3.0 §B.1.?)

    @model_validator(mode="after")
    def _period(self) -> Award:
        for moment in (self.issued_on, self.valid_from, self.valid_until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("dates must carry a time zone")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self
