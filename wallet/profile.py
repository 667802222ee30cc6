"""The learner's skills profile: across every credential, the ESCO skills and other alignments,
ECTS credits, EQF levels and ISCED-F fields of study, each with the credentials that evidence it.

Read from the metadata columns only (nothing is decrypted)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from wallet.models import (
    CreditEntry,
    Evidence,
    FieldEntry,
    LevelEntry,
    SkillEntry,
    SkillsProfile,
)
from wallet.tables import Learner, WalletCredential


def _rows(session: Session, learner: Learner, only: Iterable[str] | None) -> list[Any]:
    query = select(
        WalletCredential.id,
        WalletCredential.name,
        WalletCredential.skills,
        WalletCredential.profile,
    ).where(WalletCredential.learner_id == learner.id)
    if only is not None:
        query = query.where(col(WalletCredential.id).in_(list(only)))
    return list(session.exec(query.order_by(col(WalletCredential.added_at))))


def skills_profile(
    session: Session, learner: Learner, *, only: Iterable[str] | None = None
) -> SkillsProfile:
    """The profile over all the learner's credentials (or the ``only`` ids, e.g. for a share)."""
    skills: dict[str, SkillEntry] = {}
    levels: dict[int, list[Evidence]] = {}
    fields: dict[str, list[Evidence]] = {}
    credits: list[CreditEntry] = []
    rows = _rows(session, learner, only)
    for credential_id, name, row_skills, profile in rows:
        evidence = Evidence(credential_id=credential_id, name=name)
        for skill in row_skills or []:
            key = skill.get("uri") or f"name:{str(skill.get('name', '')).lower()}"
            entry = skills.setdefault(
                key,
                SkillEntry(
                    name=skill.get("name") or key,
                    uri=skill.get("uri"),
                    framework=skill.get("framework"),
                    credentials=[],
                ),
            )
            if all(e.credential_id != credential_id for e in entry.credentials):
                entry.credentials.append(evidence)
        profile = profile or {}
        if isinstance(profile.get("ects"), int | float):
            credits.append(
                CreditEntry(credential_id=credential_id, name=name, ects=float(profile["ects"]))
            )
        for level in profile.get("eqf_levels") or []:
            levels.setdefault(int(level), []).append(evidence)
        for code in profile.get("fields_of_study") or []:
            fields.setdefault(str(code), []).append(evidence)
    ordered = sorted(skills.values(), key=lambda s: (-len(s.credentials), s.name.lower()))
    return SkillsProfile(
        credentials=len(rows),
        skills=ordered,
        ects_total=round(sum(c.ects for c in credits), 2),
        ects=credits,
        eqf_levels=[LevelEntry(level=k, credentials=v) for k, v in sorted(levels.items())],
        fields_of_study=[FieldEntry(code=k, credentials=v) for k, v in sorted(fields.items())],
    )
