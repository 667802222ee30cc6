"""Benchmark inputs: an Open Badges 3.0 credential like the ones the issuer produces."""

from __future__ import annotations

from typing import Any

OB3_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def open_badge(
    issuer: str, *, alignments: int = 0, results: int = 0, serial: int = 0
) -> dict[str, Any]:
    """An OpenBadgeCredential (OB 3.0 §B.1.1) with an optional number of alignments / results.

    ``serial`` varies the credential's and the learner's identifiers (distinct credentials).
    """
    achievement: dict[str, Any] = {
        "id": "https://uni.example/achievements/data-science-101",
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": "Introduction to Data Science",
        "description": "Statistics, data wrangling and visualisation with Python (5 ECTS).",
        "criteria": {"narrative": "Passed the final project and three graded assignments."},
        "creditsAvailable": 5,
        "fieldOfStudy": "Computer science",
    }
    if alignments:
        achievement["alignment"] = [
            {
                "type": ["Alignment"],
                "targetName": f"ESCO skill {i}",
                "targetUrl": f"http://data.europa.eu/esco/skill/{i:08d}-0000-4000-8000-000000000000",
                "targetDescription": "Analyse data sets with statistical methods and explain the results.",
                "targetFramework": "ESCO",
                "targetType": "ceasn:Competency",
            }
            for i in range(alignments)
        ]
    if results:
        achievement["resultDescription"] = [
            {
                "id": f"urn:uuid:4c2b1a0e-0000-4000-8000-{i:012d}",
                "type": ["ResultDescription"],
                "name": f"Assignment {i}",
                "resultType": "LetterGrade",
                "allowedValue": ["A", "B", "C", "D", "E", "F"],
            }
            for i in range(results)
        ]
    subject: dict[str, Any] = {
        "id": f"did:example:learner-{1234 + serial}",
        "type": ["AchievementSubject"],
        "achievement": achievement,
    }
    if results:
        subject["result"] = [
            {
                "type": ["Result"],
                "resultDescription": f"urn:uuid:4c2b1a0e-0000-4000-8000-{i:012d}",
                "value": "A",
            }
            for i in range(results)
        ]
    return {
        "@context": list(OB3_CONTEXTS),
        "id": f"urn:uuid:2f6c4d3e-8a1b-4c5d-9e0f-{0x1A2B3C4D5E6F + serial:012x}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "University of Example"},
        "validFrom": "2026-06-01T00:00:00Z",
        "name": "Introduction to Data Science",
        "credentialSubject": subject,
    }


def presentation(
    credentials: list[dict[str, Any]], *, holder: str = "did:example:learner-1234"
) -> dict[str, Any]:
    """A VerifiablePresentation (VC Data Model 2.0 §4.13) of the given credentials."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": list(credentials),
    }


def issued_badge(issuer: str, *, serial: int = 0) -> dict[str, Any]:
    """The Open Badges 3.0 credential Taito's issuer (and ``taito demo``) produces, unsigned.

    The institution is named twice (issuer and achievement creator) with the same address, a
    hashed e-mail identifies the learner, one result and a Bitstring Status List entry.
    """
    achievement_id = (
        "https://uni.example/issuers/uni/achievements/4c2b1a0e-0000-4000-8000-000000000001"
    )
    profile = {
        "id": issuer,
        "type": ["Profile"],
        "name": "University of Example",
        "url": "https://uni.example",
        "address": {"type": ["Address"], "addressCountryCode": "FI"},
    }
    status_list = "https://uni.example/issuers/uni/status/06543d04-cae0-4d20-bb79-f4c0deb88988"
    return {
        "@context": list(OB3_CONTEXTS),
        "id": f"urn:uuid:2fa85df8-fc43-4e91-8abb-{0xFDDCA4835DCD + serial:012x}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile,
        "validFrom": "2026-11-28T13:15:33Z",
        "awardedDate": "2026-11-28T13:15:33Z",
        "name": "Introduction to Data Science",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": "Introduction to Data Science",
                "description": "Statistics, data wrangling and visualisation with Python.",
                "criteria": {"narrative": "Passed the final project."},
                "creator": profile,
                "inLanguage": "en",
                "creditsAvailable": 5.0,
                "resultDescription": [
                    {
                        "id": f"{achievement_id}#result-0",
                        "type": ["ResultDescription"],
                        "name": "Grade",
                        "resultType": "Result",
                    }
                ],
            },
            "identifier": [
                {
                    "type": "IdentityObject",
                    "hashed": True,
                    "identityHash": f"sha256${serial:064x}",
                    "identityType": "emailAddress",
                    "salt": "526e4e18c7e7ca3c",
                }
            ],
            "result": [
                {
                    "type": ["Result"],
                    "value": "5",
                    "resultDescription": f"{achievement_id}#result-0",
                }
            ],
        },
        "credentialStatus": {
            "id": f"{status_list}#{20062 + serial}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(20062 + serial),
            "statusListCredential": status_list,
        },
    }
