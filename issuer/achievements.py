"""Achievement templates of an institution."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from issuer import audit
from issuer.context import Caller, IssuerContext
from issuer.errors import NotFound
from issuer.formats.open_badges import OB_V3, VC_V2, achievement
from issuer.institutions import authorize, issuer_profile
from issuer.tables import AchievementRow, Institution
from schemas.learning import AchievementSpec


def url(context: IssuerContext, institution: Institution, achievement_id: str) -> str:
    return (
        f"{context.public_url.rstrip('/')}/issuers/{institution.slug}/achievements/{achievement_id}"
    )


def create(
    session: Session, caller: Caller, institution: Institution, spec: AchievementSpec
) -> AchievementRow:
    authorize(caller, institution, "achievements:write")
    assert institution.id is not None
    row = AchievementRow(issuer_id=institution.id, spec=spec.model_dump(mode="json"))
    session.add(row)
    audit.record(session, caller, institution.id, "achievement.created", row.id, name=spec.name)
    session.commit()
    session.refresh(row)
    return row


def get(session: Session, institution: Institution, achievement_id: str) -> AchievementRow:
    row = session.get(AchievementRow, achievement_id)
    if row is None or row.issuer_id != institution.id:
        raise NotFound(f"The institution has no achievement '{achievement_id}'.")
    return row


def listing(
    session: Session, institution: Institution, *, limit: int = 100, offset: int = 0
) -> list[AchievementRow]:
    return list(
        session.exec(
            select(AchievementRow)
            .where(AchievementRow.issuer_id == institution.id)
            .order_by(col(AchievementRow.created_at))
            .offset(offset)
            .limit(limit)
        )
    )


def spec_of(row: AchievementRow) -> AchievementSpec:
    return AchievementSpec.model_validate(row.spec)


def achievement_json(
    context: IssuerContext, institution: Institution, row: AchievementRow
) -> dict[str, Any]:
    """The public OB 3.0 ``Achievement`` at its id URL."""
    document = achievement(
        spec_of(row), url(context, institution, row.id), issuer_profile(institution)
    )
    return {"@context": [VC_V2, OB_V3], **document}
