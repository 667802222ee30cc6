"""SD-JWT VC claims for a learning credential (draft-ietf-oauth-sd-jwt-vc), and its type metadata.

Every achievement claim is selectively disclosable; ``iss``, ``iat``, ``vct``, ``cnf``, ``status``
and the validity claims are not (SD-JWT VC §3.2.2).
"""

from __future__ import annotations

from typing import Any

from schemas.learning import AchievementSpec, Award, IssuerProfile, text_in

VCT_PATH = "/vct/learning-credential/v1"


def vct(public_url: str) -> str:
    return public_url.rstrip("/") + VCT_PATH


def claims(
    issuer: IssuerProfile,
    spec: AchievementSpec,
    award: Award,
    *,
    public_url: str,
    status: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``(claims, disclosable JSON pointers)``."""
    lang = spec.language
    achievement: dict[str, Any] = {
        "id": award.achievement_id,
        "name": text_in(spec.name, lang),
        "description": text_in(spec.description, lang),
        "criteria": text_in(spec.criteria, lang),
        "type": spec.achievement_type,
    }
    optional = {
        "ects_credits": spec.ects_credits,
        "eqf_level": spec.eqf_level,
        "isced_f": spec.isced_f,
        "workload_hours": spec.workload_hours,
        "participation_mode": spec.participation_mode,
        "assessment_type": spec.assessment_type,
    }
    achievement.update({k: v for k, v in optional.items() if v is not None})
    if spec.learning_outcomes:
        achievement["learning_outcomes"] = [text_in(o.text, lang) for o in spec.learning_outcomes]
    if spec.alignments:
        achievement["skills"] = [
            {"name": a.target_name, "uri": a.target_url} for a in spec.alignments
        ]
    body: dict[str, Any] = {
        "vct": vct(public_url),
        "iss": issuer.id,
        "iat": int(award.issued_on.timestamp()),
        "nbf": int(award.valid_from.timestamp()),
        "issuer_name": text_in(issuer.legal_name, issuer.language),
        "achievement": achievement,
        "awarded_on": award.issued_on.date().isoformat(),
    }
    if award.valid_until is not None:
        body["exp"] = int(award.valid_until.timestamp())
    recipient = award.recipient
    for name, value in (
        ("given_name", recipient.given_name),
        ("family_name", recipient.family_name),
        ("email", recipient.email),
        ("student_number", recipient.student_number),
    ):
        if value:
            body[name] = value
    if recipient.did:
        body["sub"] = recipient.did
    if award.results:
        body["results"] = [{"name": r.name, "value": r.value} for r in award.results]
    if status:
        body["status"] = status
    pointers = [f"/achievement/{name}" for name in achievement]
    pointers += [
        f"/{n}"
        for n in ("given_name", "family_name", "email", "student_number", "results", "awarded_on")
        if n in body
    ]
    pointers += [f"/achievement/learning_outcomes/{i}" for i in range(len(spec.learning_outcomes))]
    return body, pointers


def type_metadata(public_url: str) -> dict[str, Any]:
    """SD-JWT VC Type Metadata (§6) served at the ``vct`` URL."""
    return {
        "vct": vct(public_url),
        "name": "Learning credential",
        "description": "A learning achievement (micro-credential, course, degree) awarded by an institution.",
        "display": [
            {"lang": "en", "name": "Learning credential", "description": "A learning achievement"},
            {"lang": "fi", "name": "Osaamismerkki", "description": "Opintosuoritus tai osaaminen"},
            {"lang": "sv", "name": "Kompetensbevis", "description": "En studieprestation"},
        ],
        "claims": [
            {
                "path": ["achievement", "name"],
                "display": [
                    {"lang": "en", "label": "Achievement"},
                    {"lang": "fi", "label": "Suoritus"},
                    {"lang": "sv", "label": "Prestation"},
                ],
            },
            {
                "path": ["achievement", "ects_credits"],
                "display": [
                    {"lang": "en", "label": "ECTS credits"},
                    {"lang": "fi", "label": "Opintopisteet"},
                    {"lang": "sv", "label": "Studiepoäng"},
                ],
            },
            {
                "path": ["issuer_name"],
                "display": [
                    {"lang": "en", "label": "Issuer"},
                    {"lang": "fi", "label": "Myöntäjä"},
                    {"lang": "sv", "label": "Utfärdare"},
                ],
            },
            {"path": ["given_name"], "sd": "always"},
            {"path": ["family_name"], "sd": "always"},
        ],
    }
