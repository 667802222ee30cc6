"""Open Badges 3.0 credentials as pydantic models, written from the specification's data model.

https://www.imsglobal.org/spec/ob/v3p0/ Appendix B.1 "Credential Data Models" (the class names and
properties below) and §"JSON-LD contexts". Models keep unknown members (JSON-LD extensibility) and
check the required members and their types. Build credentials by field name, dump them for JSON::

    achievement = Achievement(id="urn:uuid:...", name="Teamwork", description="...",
                              criteria=Criteria(narrative="..."))
    credential = AchievementCredential(id=..., issuer=Profile(id=..., name="Example Corp"),
                                       valid_from=now, credential_subject=AchievementSubject(
                                           id="did:example:alice", achievement=achievement))
    credential.to_json()        # == model_dump(by_alias=True, exclude_none=True)

``type`` members default to the class's own type when omitted at construction; when validating a
received document (:func:`validate_open_badge`) a missing ``type`` is an error, as the spec makes it
required. Errors: :class:`schemas.errors.ValidationFailed` with ``extra["errors"]`` a list of
``{"path": "credentialSubject.achievement.criteria", "message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from schemas import vcdm
from schemas.errors import ValidationFailed

OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)

# --- value types ------------------------------------------------------------------------------

_ONE = "single value"
_MANY = "array"
_UNION_TAGS = frozenset({_ONE, _MANY})
T = TypeVar("T")


def _shape(value: Any) -> str:
    return _MANY if isinstance(value, list) else _ONE


# JSON-LD: a single value and an array of values are both allowed and kept as given (round trip).
OneOrMany = Annotated[
    Union[Annotated[T, Tag(_ONE)], Annotated[list[T], Tag(_MANY)]],  # noqa: UP007
    Discriminator(_shape),
]


def _url(value: str) -> str:
    if not vcdm.is_url(value):
        raise ValueError("must be a URL (an absolute URI such as https:, did: or urn:)")
    return value


def _date_time_in(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime needs a timezone")
        value = value.astimezone(UTC).replace(microsecond=0)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _date_time_stamp(value: str) -> str:
    if not vcdm.is_date_time_stamp(value):
        raise ValueError("must be an ISO 8601 / XML Schema date-time with a timezone")
    return value


def _date_time(value: str) -> str:
    if vcdm.parse_date_time(value, require_timezone=False) is None:
        raise ValueError("must be an ISO 8601 / XML Schema date-time")
    return value


Url = Annotated[str, AfterValidator(_url)]
DateTimeStamp = Annotated[str, BeforeValidator(_date_time_in), AfterValidator(_date_time_stamp)]
DateTime = Annotated[str, BeforeValidator(_date_time_in), AfterValidator(_date_time)]
StrictBool = Annotated[bool, Strict()]
Number = Annotated[float, Strict()]
TypeValue = OneOrMany[str]
Context = list[Union[str, dict[str, Any]]]  # noqa: UP007


def _default_context() -> Context:
    return [vcdm.BASE_CONTEXT_V2, OB_CONTEXT]


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- base -------------------------------------------------------------------------------------


class LinkedDataModel(BaseModel):
    """Camel-case JSON names, snake_case Python names, unknown members kept."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    # One of these must appear in ``type`` (the spec's "MUST be ..." for the class).
    required_types: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _type_present(cls, data: Any, info: ValidationInfo) -> Any:
        # Received documents must carry ``type`` when the spec requires it; built objects get the
        # class's default.
        strict = isinstance(info.context, Mapping) and info.context.get("received")
        if strict and cls.required_types and isinstance(data, Mapping) and "type" not in data:
            raise PydanticCustomError("missing_member", "Field required", {"member": "type"})
        return data

    @field_validator("type", check_fields=False)
    @classmethod
    def _type_includes(cls, value: Any) -> Any:
        if cls.required_types and not set(_types(value)) & set(cls.required_types):
            wanted = " or ".join(repr(name) for name in cls.required_types)
            raise ValueError(f"must include {wanted}")
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON object: camelCase names, absent members left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _default_type(*names: str) -> Any:
    return Field(default_factory=lambda: list(names))


# --- B.1 data model classes -------------------------------------------------------------------


class IdentifierEntry(LinkedDataModel):
    """IdentifierEntry: identifier and identifierType required."""

    required_types = ("IdentifierEntry",)
    type: TypeValue = _default_type("IdentifierEntry")
    identifier: str
    identifier_type: str


class GeoCoordinates(LinkedDataModel):
    required_types = ("GeoCoordinates",)
    type: TypeValue = _default_type("GeoCoordinates")
    latitude: Number
    longitude: Number


class Address(LinkedDataModel):
    required_types = ("Address",)
    type: TypeValue = _default_type("Address")
    address_country: str | None = None
    address_country_code: str | None = None
    address_region: str | None = None
    address_locality: str | None = None
    street_address: str | None = None
    post_office_box_number: str | None = None
    postal_code: str | None = None
    geo: GeoCoordinates | None = None


class Image(LinkedDataModel):
    """Image: id (a URL, often a data: URL) and type 'Image'."""

    required_types = ("Image",)
    id: Url
    type: TypeValue = "Image"  # a single IRI (1EdTech schema: the string 'Image')
    caption: str | None = None


class Profile(LinkedDataModel):
    """Profile: an issuer, creator or source; id and type 'Profile' required."""

    required_types = ("Profile",)
    id: Url
    type: TypeValue = _default_type("Profile")
    name: str | None = None
    url: Url | None = None
    phone: str | None = None
    description: str | None = None
    endorsement: list[EndorsementCredential] | None = None
    endorsement_jwt: list[str] | None = None
    image: Image | None = None
    email: str | None = None
    address: Address | None = None
    other_identifier: list[IdentifierEntry] | None = None
    official: str | None = None
    parent_org: Profile | None = None
    family_name: str | None = None
    given_name: str | None = None
    additional_name: str | None = None
    patronymic_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None
    family_name_prefix: str | None = None
    date_of_birth: str | None = None


class Criteria(LinkedDataModel):
    """Criteria: a URL and/or a Markdown narrative of what earns the achievement."""

    id: Url | None = None
    narrative: str | None = None


class Alignment(LinkedDataModel):
    """Alignment: targetName and targetUrl required."""

    required_types = ("Alignment",)
    type: TypeValue = _default_type("Alignment")
    target_code: str | None = None
    target_description: str | None = None
    target_name: str
    target_framework: str | None = None
    target_type: str | None = None
    target_url: Url


class RubricCriterionLevel(LinkedDataModel):
    required_types = ("RubricCriterionLevel",)
    id: Url
    type: TypeValue = _default_type("RubricCriterionLevel")
    alignment: list[Alignment] | None = None
    description: str | None = None
    level: str | None = None
    name: str
    points: str | None = None


class ResultDescription(LinkedDataModel):
    """ResultDescription: id, name and resultType required."""

    required_types = ("ResultDescription",)
    id: Url
    type: TypeValue = _default_type("ResultDescription")
    alignment: list[Alignment] | None = None
    allowed_value: list[str] | None = None
    name: str
    required_level: Url | None = None
    required_value: str | None = None
    result_type: str
    rubric_criterion_level: list[RubricCriterionLevel] | None = None
    value_max: str | None = None
    value_min: str | None = None


class Related(LinkedDataModel):
    required_types = ("Related",)
    id: Url
    type: TypeValue = _default_type("Related")
    in_language: str | None = None
    version: str | None = None


class Achievement(LinkedDataModel):
    """Achievement: id, type 'Achievement', criteria, description and name required."""

    required_types = ("Achievement",)
    id: Url
    type: TypeValue = _default_type("Achievement")
    achievement_type: str | None = None
    alignment: list[Alignment] | None = None
    creator: Profile | None = None
    credits_available: Number | None = None
    criteria: Criteria
    description: str
    endorsement: list[EndorsementCredential] | None = None
    endorsement_jwt: list[str] | None = None
    field_of_study: str | None = None
    human_code: str | None = None
    image: Image | None = None
    in_language: str | None = None
    name: str
    other_identifier: list[IdentifierEntry] | None = None
    related: list[Related] | None = None
    result_description: list[ResultDescription] | None = None
    specialization: str | None = None
    tag: list[str] | None = None
    version: str | None = None


class IdentityObject(LinkedDataModel):
    """IdentityObject: hashed, identityHash and identityType required."""

    required_types = ("IdentityObject",)
    type: TypeValue = "IdentityObject"  # a single IRI (1EdTech schema: the string 'IdentityObject')
    hashed: StrictBool
    identity_hash: str
    identity_type: str
    salt: str | None = None


class Result(LinkedDataModel):
    required_types = ("Result",)
    type: TypeValue = _default_type("Result")
    achieved_level: Url | None = None
    alignment: list[Alignment] | None = None
    result_description: Url | None = None
    status: str | None = None
    value: str | None = None


class AchievementSubject(LinkedDataModel):
    """AchievementSubject: type 'AchievementSubject' and the achievement required."""

    required_types = ("AchievementSubject",)
    id: Url | None = None
    type: TypeValue = _default_type("AchievementSubject")
    activity_end_date: DateTime | None = None
    activity_start_date: DateTime | None = None
    credits_earned: Number | None = None
    achievement: Achievement
    identifier: list[IdentityObject] | None = None
    image: Image | None = None
    license_number: str | None = None
    narrative: str | None = None
    result: list[Result] | None = None
    role: str | None = None
    source: Profile | None = None
    term: str | None = None


class Evidence(LinkedDataModel):
    required_types = ("Evidence",)
    id: Url | None = None
    type: TypeValue = _default_type("Evidence")
    narrative: str | None = None
    name: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None


class CredentialSchema(LinkedDataModel):
    """VCDM §4.11: id (URL) and type required."""

    id: Url
    type: TypeValue = "1EdTechJsonSchemaValidator2019"


class CredentialStatus(LinkedDataModel):
    """VCDM §4.10: type required, id a URL when present."""

    id: Url | None = None
    type: TypeValue


class RefreshService(LinkedDataModel):
    id: Url
    type: TypeValue


class TermsOfUse(LinkedDataModel):
    id: Url | None = None
    type: TypeValue


class Proof(LinkedDataModel):
    """An embedded proof; only its type is structural, the rest is the cryptosuite's business."""

    type: str
    created: DateTime | None = None
    cryptosuite: str | None = None
    challenge: str | None = None
    domain: str | None = None
    nonce: str | None = None
    proof_purpose: str | None = None
    proof_value: str | None = None
    verification_method: str | None = None


class EndorsementSubject(LinkedDataModel):
    required_types = ("EndorsementSubject",)
    id: Url
    type: TypeValue = _default_type("EndorsementSubject")
    endorsement_comment: str | None = None


# --- credentials ------------------------------------------------------------------------------


class VerifiableCredentialModel(LinkedDataModel):
    """Members every Open Badges / CLR credential shares (VCDM 2.0 §4, with 1.1 dates)."""

    required_context: ClassVar[tuple[str, ...]] = (OB_CONTEXT_PREFIX,)

    context: Context = Field(alias="@context", default_factory=lambda: _default_context())
    id: Url
    name: str | None = None
    description: str | None = None
    image: Image | None = None
    issuer: Profile
    valid_from: DateTimeStamp | None = None
    valid_until: DateTimeStamp | None = None
    issuance_date: DateTime | None = None  # VCDM 1.1, in early OB 3.0 credentials
    expiration_date: DateTime | None = None
    awarded_date: DateTimeStamp | None = None
    credential_schema: OneOrMany[CredentialSchema] | None = None
    credential_status: OneOrMany[CredentialStatus] | None = None
    refresh_service: OneOrMany[RefreshService] | None = None
    terms_of_use: OneOrMany[TermsOfUse] | None = None
    proof: OneOrMany[Proof] | None = None

    @field_validator("context")
    @classmethod
    def _contexts(cls, value: Context) -> Context:
        # VCDM §4.3 base context first; OB 3.0 §"JSON-LD" / CLR 2.0: the spec's context follows.
        if not value or value[0] not in (vcdm.BASE_CONTEXT_V2, vcdm.BASE_CONTEXT_V1):
            raise ValueError(f"the first item must be {vcdm.BASE_CONTEXT_V2!r}")
        for prefix in cls.required_context:
            if not any(isinstance(item, str) and item.startswith(prefix) for item in value):
                raise ValueError(f"must include a context starting with {prefix!r}")
        return value

    @model_validator(mode="after")
    def _validity(self) -> VerifiableCredentialModel:
        # VCDM 2.0 §4.9 (validFrom, required by OB 3.0 / CLR 2.0); VCDM 1.1 §4.6 issuanceDate.
        member = "issuanceDate" if self.context[0] == vcdm.BASE_CONTEXT_V1 else "validFrom"
        present = self.issuance_date if member == "issuanceDate" else self.valid_from
        if present is None:
            raise PydanticCustomError("missing_member", "Field required", {"member": member})
        return self


class EndorsementCredential(VerifiableCredentialModel):
    """EndorsementCredential: a third party's endorsement of a profile or achievement."""

    required_types = ("EndorsementCredential",)
    type: TypeValue = _default_type("VerifiableCredential", "EndorsementCredential")
    name: str
    credential_subject: EndorsementSubject


class AchievementCredential(VerifiableCredentialModel):
    """AchievementCredential (alias OpenBadgeCredential): the badge awarded to a subject."""

    required_types = ("AchievementCredential", "OpenBadgeCredential")
    type: TypeValue = _default_type("VerifiableCredential", "OpenBadgeCredential")
    credential_subject: AchievementSubject
    endorsement: list[EndorsementCredential] | None = None
    endorsement_jwt: list[str] | None = None
    evidence: list[Evidence] | None = None


OpenBadgeCredential = AchievementCredential

for _model in (Profile, Achievement, EndorsementCredential, AchievementCredential):
    _model.model_rebuild()


# --- validation -------------------------------------------------------------------------------


def errors_from(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """pydantic errors as ``{"path", "message"}`` with dotted JSON paths (camelCase names)."""
    errors = []
    for error in exc.errors(include_url=False):
        parts = [str(part) for part in error["loc"] if part not in _UNION_TAGS]
        if error["type"] == "missing_member":
            parts.append(str((error.get("ctx") or {})["member"]))
        path = ".".join(parts)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.append({"path": path, "message": message})
    return errors


def structure_errors(doc: Any, *, path: str = "") -> list[dict[str, str]]:
    """The VCDM structural check (:func:`schemas.vcdm.check_credential`) as error records."""
    try:
        vcdm.check_credential(doc, path=path)
    except vcdm.StructureError as exc:
        return [{"path": exc.path, "message": exc.detail}]
    return []


def model_errors(model: type[BaseModel], doc: Any, *, prefix: str = "") -> list[dict[str, str]]:
    """Validate a received document against ``model``; [] when it conforms."""
    try:
        model.model_validate(doc, context={"received": True})
    except ValidationError as exc:
        return errors_from(exc, prefix)
    return []


def _merge(*groups: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    merged = []
    for group in groups:
        for error in group:
            key = (error["path"], error["message"])
            if key not in seen:
                seen.add(key)
                merged.append(error)
    return merged


def raise_if_errors(errors: list[dict[str, str]], what: str) -> None:
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"Not a valid {what}: {first['path'] or 'document'}: {first['message']}",
            extra={"errors": errors},
        )


def validate_open_badge(doc: Any) -> None:
    """Raise :class:`ValidationFailed` unless ``doc`` is an Open Badges 3.0 credential.

    An ``EndorsementCredential`` is checked as one; anything else as an AchievementCredential.
    The VCDM structure is checked too (:mod:`schemas.vcdm`).
    """
    if not isinstance(doc, Mapping):
        raise_if_errors([{"path": "", "message": "must be a JSON object"}], "Open Badge")
        return
    model: type[BaseModel] = AchievementCredential
    if "EndorsementCredential" in _types(doc.get("type")):
        model = EndorsementCredential
    raise_if_errors(
        _merge(structure_errors(doc), model_errors(model, doc)), "Open Badges 3.0 credential"
    )
