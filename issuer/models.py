"""Request and response models of the issuer API (table models never reach the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.learning import AchievementSpec, Evidence, LangString, Recipient, ResultValue

Format = Literal["ob3-di", "ob3-jwt", "elm", "sd-jwt-vc"]
KeyTypeName = Literal["ed25519", "p256", "rsa"]
Scope = Literal["achievements:write", "credentials:issue", "credentials:revoke", "issuer:admin"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InstitutionCreate(_Body):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", examples=["helsinki-uas"])
    legal_name: LangString = Field(
        examples=[
            {"en": "Helsinki University of Applied Sciences", "fi": "Helsingin ammattikorkeakoulu"}
        ]
    )
    url: str = Field(pattern=r"^https?://")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    country: str = Field(pattern=r"^[A-Z]{2}$", examples=["FI"])
    legal_identifier: str | None = Field(default=None, max_length=200)
    logo: str | None = Field(default=None, max_length=200_000)
    accreditation: str | None = Field(default=None, max_length=2000)
    language: str = Field(default="en", min_length=2, max_length=35)
    did_method: Literal["web", "key"] = "web"
    key_types: list[KeyTypeName] = Field(default=["ed25519", "p256"], min_length=1)


class InstitutionPublic(BaseModel):
    slug: str
    did: str
    profile_url: str
    legal_name: LangString
    country: str
    keys: list[str]
    created_at: datetime


class ApiKeyCreate(_Body):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyPublic(BaseModel):
    id: int
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret API key. It is shown only once: store it now.")


class KeyRotate(_Body):
    key_type: KeyTypeName = "ed25519"


# RFC 5280 §5.3.1 CRLReason names an institution may give (certificateHold and removeFromCRL
# belong to suspension, cACompromise and aACompromise to the CA)
SealRevocationReason = Literal[
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]


class SealRevoke(_Body):
    """Revoke a seal certificate the server's seal CA issued (the installed one by default)."""

    serial: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{1,40}$")
    reason: SealRevocationReason = "unspecified"


class SealRenewed(BaseModel):
    serial: str
    not_after: datetime
    crl: list[str]
    ocsp: list[str]


class SealRevoked(BaseModel):
    serial: str
    revoked_at: datetime
    reason: str


class AchievementPublic(BaseModel):
    id: str
    url: str
    spec: AchievementSpec
    created_at: datetime


class CredentialIssue(_Body):
    achievement_id: str = Field(min_length=1, max_length=36)
    recipient: Recipient
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    results: list[ResultValue] = Field(default_factory=list, max_length=50)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    formats: list[Format] = Field(default=["ob3-di"], min_length=1)
    suspendable: bool = Field(
        default=False,
        description="also give W3C formats a suspension entry (credentialStatus becomes an array, "
        "which VC 2.0 allows but the 1EdTech OB 3.0 JSON Schema does not)",
    )
    status_messages: list[str] | None = Field(
        default=None,
        min_length=2,
        max_length=4,
        description="also give W3C formats a 'message' status entry (Bitstring Status List, "
        "statusSize 2) with these messages; the first is the initial one",
    )
    holder_jwk: dict[str, Any] | None = Field(
        default=None, description="the learner's public key, bound into the SD-JWT VC (cnf)"
    )

    @property
    def distinct_formats(self) -> list[Format]:
        """The formats, each named once, in the order given (each is signed once)."""
        return list(dict.fromkeys(self.formats))


class CredentialPublic(BaseModel):
    id: str
    achievement_id: str
    status: str
    issued_at: datetime
    formats: dict[str, Any] = Field(
        description="format -> the credential exactly as signed: JSON for ob3-di / elm, text for JWTs"
    )


class AuditEventPublic(BaseModel):
    id: int
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    request_id: str | None
    created_at: datetime


class StatusChange(_Body):
    reason: str | None = Field(default=None, max_length=1000)


class BulkRevoke(_Body):
    ids: list[str] = Field(min_length=1, max_length=10_000)
    reason: str | None = Field(default=None, max_length=1000)


class Association(_Body):
    association_type: Literal[
        "exactMatchOf",
        "isChildOf",
        "isParentOf",
        "isPartOf",
        "isPeerOf",
        "isRelatedTo",
        "precedes",
        "replacedBy",
    ]
    source_id: str = Field(min_length=1, max_length=2000)
    target_id: str = Field(min_length=1, max_length=2000)


class ClrRequest(_Body):
    recipient: Recipient
    name: str | None = Field(default=None, max_length=500)
    associations: list[Association] = Field(default_factory=list, max_length=1000)


class StatusMessageSet(_Body):
    value: int = Field(ge=0, le=3, description="index into the credential's status messages")
