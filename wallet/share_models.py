"""What the presentation and share-link API accepts and returns (table models never reach it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wallet.presentation import Chosen
from wallet.share_tables import Share, ShareAccess
from wallet.shares import AccessPage, aware, state_of

Pointer = str  # an RFC 6901 JSON Pointer into the SD-JWT's claims, e.g. "/achievement/name"
OptionText = Field(default=None, min_length=1, max_length=500)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChosenCredential(_In):
    id: str = Field(min_length=1, max_length=36, description="a credential id of the wallet")
    reveal: list[Pointer] | None = Field(
        default=None,
        max_length=100,
        description="SD-JWT VC only: JSON Pointers of the claims to disclose (none: all; [] "
        "discloses only what is always visible)",
    )

    @model_validator(mode="after")
    def _pointers(self) -> ChosenCredential:
        for pointer in self.reveal or []:
            if not pointer.startswith("/") or len(pointer) > 500:
                raise ValueError(f"{pointer[:60]!r} is not a JSON Pointer (RFC 6901) to a claim")
        return self

    def chosen(self) -> Chosen:
        return Chosen(self.id, self.reveal)


class PresentationIn(_In):
    format: Literal["ldp_vp", "dc+sd-jwt"] = Field(
        description="ldp_vp: a VP with a Data Integrity proof (challenge, domain); dc+sd-jwt: "
        "one SD-JWT VC with a Key Binding JWT (nonce, audience)"
    )
    credentials: list[ChosenCredential] = Field(min_length=1, max_length=20)
    challenge: str | None = OptionText
    domain: str | None = OptionText
    nonce: str | None = OptionText
    audience: str | None = OptionText
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019"] | None = Field(
        default=None, description="ldp_vp: defaults to the one of the holder key's type"
    )

    @model_validator(mode="after")
    def _options(self) -> PresentationIn:
        if self.format == "ldp_vp":
            if not self.challenge:
                raise ValueError("an ldp_vp presentation needs the verifier's challenge")
            if self.nonce or self.audience:
                raise ValueError("nonce and audience are for dc+sd-jwt; ldp_vp takes challenge")
        else:
            if not (self.nonce and self.audience):
                raise ValueError("a dc+sd-jwt presentation needs the verifier's nonce and audience")
            if self.challenge or self.domain or self.cryptosuite:
                raise ValueError("challenge, domain and cryptosuite are for ldp_vp")
        return self


class PresentationOut(BaseModel):
    format: str
    media_type: str
    presentation: dict[str, Any] | str = Field(
        description="the VP (JSON) or the SD-JWT+KB (text), to send to the verifier as it is"
    )
    holder: str = Field(description="the holder DID (ldp_vp) or cnf key thumbprint (dc+sd-jwt)")
    credential_ids: list[str]
    challenge: str | None = None
    domain: str | None = None
    nonce: str | None = None
    audience: str | None = None


class ShareCreate(_In):
    kind: Literal["credentials", "skills"] = Field(
        default="credentials",
        description="skills: the skills profile of the chosen credentials (none chosen: all)",
    )
    credentials: list[ChosenCredential] = Field(default_factory=list, max_length=20)
    label: str | None = Field(default=None, max_length=200, description="your note: 'for Acme'")
    expires_at: datetime | None = Field(
        default=None, description="when the link stops working (none: never)"
    )
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    max_views: int | None = Field(default=None, ge=1, le=1_000_000)


class ShareUpdate(_In):
    """Members left out stay as they are; a member set to null removes it."""

    label: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    max_views: int | None = Field(default=None, ge=1, le=1_000_000)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class SharedCredentialPublic(BaseModel):
    credential_id: str
    name: str | None
    format: str
    reveal: list[str] | None


class SharePublic(BaseModel):
    id: str
    kind: str
    label: str | None
    state: str = Field(description="active, revoked, expired or used_up")
    expires_at: datetime | None
    password_protected: bool
    max_views: int | None
    views: int
    views_left: int | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    credentials: list[SharedCredentialPublic]

    @classmethod
    def of(cls, share: Share, items: list[Any], now: datetime) -> SharePublic:
        return cls(
            id=share.id,
            kind=share.kind,
            label=share.label,
            state=state_of(share, now),
            expires_at=aware(share.expires_at),
            password_protected=share.password_hash is not None,
            max_views=share.max_views,
            views=share.views,
            views_left=max(0, share.max_views - share.views) if share.max_views else None,
            revoked_at=aware(share.revoked_at),
            created_at=aware(share.created_at) or share.created_at,
            updated_at=aware(share.updated_at) or share.updated_at,
            credentials=[
                SharedCredentialPublic(
                    credential_id=row.id, name=row.name, format=row.format, reveal=item.reveal
                )
                for item, row in items
            ],
        )


class ShareCreated(BaseModel):
    share: SharePublic
    token: str = Field(description="shown once: only its hash is stored")
    url: str = Field(description="the link to send: /s/{token}")


class AccessEntry(BaseModel):
    at: datetime
    outcome: str = Field(description="view, preview, wrong_password or rate_limited")
    user_agent: str = Field(description="a coarse family such as 'Chrome on Android'")

    @classmethod
    def of(cls, row: ShareAccess) -> AccessEntry:
        return cls(at=aware(row.at) or row.at, outcome=row.outcome, user_agent=row.agent)


class AccessLog(BaseModel):
    share_id: str
    views: int
    total: int
    by_outcome: dict[str, int]
    views_by_user_agent: dict[str, int]
    entries: list[AccessEntry]

    @classmethod
    def of(cls, page: AccessPage) -> AccessLog:
        return cls(
            share_id=page.share.id,
            views=page.share.views,
            total=page.total,
            by_outcome=page.by_outcome,
            views_by_user_agent=page.by_agent,
            entries=[AccessEntry.of(e) for e in page.entries],
        )
