"""Open Badges 3.0 ``OpenBadgeCredential`` (1EdTech OB 3.0 §B.1) from Taito's internal model.

EU micro-credential fields without an OB 3.0 property travel as alignments to their European
vocabularies (EQF level, ISCED-F field), so any OB 3.0 displayer shows them and ELM-aware
consumers can read the controlled-vocabulary URIs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from schemas.learning import AchievementSpec, Award, IssuerProfile, Recipient, text_in

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EQF = "http://data.europa.eu/snb/eqf/"
ISCED_F = "http://data.europa.eu/snb/isced-f/"


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def identity(recipient: Recipient, salt: str | None) -> list[dict[str, Any]]:
    """OB 3.0 §B.1.? IdentityObject: email and student number hashed (``sha256$`` + hex)."""
    identifiers: list[dict[str, Any]] = []
    for value, kind in (
        (recipient.email, "emailAddress"),
        (recipient.student_number, "sisSourcedId"),
    ):
        if value is None:
            continue
        normalised = value.strip().lower() if kind == "emailAddress" else value.strip()
        digest = hashlib.sha256((normalised + (salt or "")).encode()).hexdigest()
        entry: dict[str, Any] = {
            "type": "IdentityObject",
            "hashed": True,
            "identityHash": f"sha256${digest}",
            "identityType": kind,
        }
        if salt:
            entry["salt"] = salt
        identifiers.append(entry)
    return identifiers


def profile(issuer: IssuerProfile) -> dict[str, Any]:
    """The issuer's OB 3.0 ``Profile`` (§B.1.? Profile)."""
    result: dict[str, Any] = {
        "id": issuer.id,
        "type": ["Profile"],
        "name": text_in(issuer.legal_name, issuer.language),
        "url": issuer.url,
        "address": {"type": ["Address"], "addressCountryCode": issuer.country},
    }
    if issuer.email:
        result["email"] = issuer.email
    if issuer.logo:
        result["image"] = {"id": issuer.logo, "type": "Image"}
    if issuer.legal_identifier:
        result["otherIdentifier"] = [
            {
                "type": "IdentifierEntry",
                "identifier": issuer.legal_identifier,
                "identifierType": "identifier",
            }
        ]
    return result


def achievement(
    spec: AchievementSpec, achievement_id: str, issuer: IssuerProfile
) -> dict[str, Any]:
    lang = spec.language
    result: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": spec.achievement_type,
        "name": text_in(spec.name, lang),
        "description": text_in(spec.description, lang),
        "criteria": {"narrative": text_in(spec.criteria, lang)},
        "creator": profile(issuer),
        "inLanguage": lang,
    }
    if spec.criteria_url:
        result["criteria"]["id"] = spec.criteria_url
    if spec.image:
        result["image"] = {"id": spec.image, "type": "Image"}
    if spec.ects_credits is not None:
        result["creditsAvailable"] = spec.ects_credits
    if spec.tags:
        result["tag"] = list(spec.tags)
    alignments: list[dict[str, Any]] = [
        {
            k: v
            for k, v in {
                "type": ["Alignment"],
                "targetName": a.target_name,
                "targetUrl": a.target_url,
                "targetDescription": a.target_description,
                "targetFramework": a.target_framework,
                "targetCode": a.target_code,
                "targetType": a.target_type,
            }.items()
            if v is not None
        }
        for a in spec.alignments
    ]
    for outcome in spec.learning_outcomes:
        if outcome.esco_skill:
            alignments.append(
                {
                    "type": ["Alignment"],
                    "targetName": text_in(outcome.text, lang),
                    "targetUrl": outcome.esco_skill,
                    "targetFramework": "ESCO",
                }
            )
    if spec.eqf_level is not None:
        alignments.append(
            {
                "type": ["Alignment"],
                "targetName": f"EQF level {spec.eqf_level}",
                "targetUrl": f"{EQF}{spec.eqf_level}",
                "targetFramework": "EQF",
                "targetCode": str(spec.eqf_level),
            }
        )
    if spec.isced_f is not None:
        alignments.append(
            {
                "type": ["Alignment"],
                "targetName": f"ISCED-F {spec.isced_f}",
                "targetUrl": f"{ISCED_F}{spec.isced_f}",
                "targetFramework": "ISCED-F 2013",
                "targetCode": spec.isced_f,
            }
        )
    if alignments:
        result["alignment"] = alignments
    return result


def credential(
    issuer: IssuerProfile,
    spec: AchievementSpec,
    award: Award,
    *,
    status: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``OpenBadgeCredential`` on VC 2.0 (OB 3.0 §B.1.1 AchievementCredential)."""
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "achievement": achievement(spec, award.achievement_id, issuer),
    }
    if award.recipient.did:
        subject["id"] = award.recipient.did
    identifiers = identity(award.recipient, award.salt)
    if identifiers:
        subject["identifier"] = identifiers
    if award.results:
        subject["result"] = [{"type": ["Result"], "value": r.value} for r in award.results]
        subject["achievement"]["resultDescription"] = [
            {
                "id": f"{award.achievement_id}#result-{i}",
                "type": ["ResultDescription"],
                "name": r.name,
                "resultType": "Result",
            }
            for i, r in enumerate(award.results)
        ]
        for i, result in enumerate(subject["result"]):
            result["resultDescription"] = f"{award.achievement_id}#result-{i}"
    document: dict[str, Any] = {
        "@context": [VC_V2, OB_V3],
        "id": award.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile(issuer),
        "validFrom": _iso(award.valid_from),
        "awardedDate": _iso(award.issued_on),
        "name": text_in(spec.name, spec.language),
        "credentialSubject": subject,
    }
    if award.valid_until is not None:
        document["validUntil"] = _iso(award.valid_until)
    if award.evidence:
        document["evidence"] = [
            {
                k: v
                for k, v in {
                    "id": e.url,
                    "type": ["Evidence"],
                    "name": e.name,
                    "narrative": e.narrative,
                }.items()
                if v is not None
            }
            for e in award.evidence
        ]
    if status:
        document["credentialStatus"] = status if len(status) > 1 else status[0]
    return document
