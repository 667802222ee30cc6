"""What the wallet API accepts and returns (table models never reach the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wallet.tables import Learner, WalletCredential


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterIn(_In):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    password: str = Field(min_length=10, max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)


class LoginIn(_In):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(_In):
    refresh_token: str = Field(min_length=1, max_length=200)


class EmailTokenIn(_In):
    token: str = Field(min_length=1, max_length=200)


class PasswordIn(_In):
    password: str = Field(min_length=1, max_length=1024)


class PasswordChangeIn(_In):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class ForgotPasswordIn(_In):
    email: str = Field(min_length=3, max_length=320)


class PasswordResetIn(_In):
    token: str = Field(min_length=1, max_length=200, description="the code of the reset mail")
    new_password: str = Field(min_length=10, max_length=1024)


class ExportIn(_In):
    passphrase: str = Field(min_length=10, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name
    expires_in: int = Field(description="seconds until the access token expires")


class LearnerPublic(BaseModel):
    id: str
    email: str
    display_name: str | None
    email_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, learner: Learner) -> LearnerPublic:
        return cls(
            id=learner.id,
            email=learner.email,
            display_name=learner.display_name,
            email_verified=learner.email_verified_at is not None,
            created_at=learner.created_at,
        )


class RegisteredOut(BaseModel):
    learner: LearnerPublic
    tokens: TokenOut


class Skill(BaseModel):
    name: str
    uri: str | None = None
    framework: str | None = None
    code: str | None = None


class CredentialSummary(BaseModel):
    """A credential's metadata, as listed (nothing here needed decryption)."""

    id: str
    format: str
    container: str | None = Field(description="png / svg when the credential came baked")
    media_type: str
    size: int
    source: str
    issuer_id: str | None
    issuer_name: str | None
    name: str | None
    description: str | None
    types: list[str]
    issued_at: datetime | None
    valid_from: datetime | None
    valid_until: datetime | None
    skills: list[Skill]
    profile: dict[str, Any] = Field(
        description="ects, eqf_levels, fields_of_study (ISCED-F), workload_hours; holder_bound "
        "when the credential is bound to a key (cnf): whether it is one of this learner's"
    )
    verified: bool
    accepted_unverified: bool = Field(description="kept although it did not verify on import")
    status: str = Field(
        description="valid, revoked, suspended, expired, unverified, status_unknown"
    )
    added_at: datetime
    checked_at: datetime

    @classmethod
    def of(cls, row: WalletCredential) -> CredentialSummary:
        return cls.model_validate(row, from_attributes=True)


class CredentialDetail(CredentialSummary):
    report: dict[str, Any] = Field(description="the verifier's report of the last check")

    @classmethod
    def of(cls, row: WalletCredential) -> CredentialDetail:
        return cls.model_validate(row, from_attributes=True)


class CredentialPage(BaseModel):
    items: list[CredentialSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class HolderKeyPublic(BaseModel):
    algorithm: str
    did_key: str
    did_jwk: str
    kid: str
    public_jwk: dict[str, Any]
    active: bool
    created_at: datetime


class Evidence(BaseModel):
    credential_id: str
    name: str | None


class SkillEntry(BaseModel):
    name: str
    uri: str | None
    framework: str | None
    credentials: list[Evidence]


class CreditEntry(BaseModel):
    credential_id: str
    name: str | None
    ects: float


class LevelEntry(BaseModel):
    level: int
    credentials: list[Evidence]


class FieldEntry(BaseModel):
    code: str = Field(description="ISCED-F 2013 field code")
    credentials: list[Evidence]


class SkillsProfile(BaseModel):
    credentials: int
    skills: list[SkillEntry] = Field(description="ESCO skills and other alignments")
    ects_total: float
    ects: list[CreditEntry]
    eqf_levels: list[LevelEntry]
    fields_of_study: list[FieldEntry]


class ImportedOut(BaseModel):
    imported: int
    skipped_duplicates: int
    unverified: int
    holder_keys: int
