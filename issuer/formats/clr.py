"""CLR 2.0 ``ClrCredential`` (1EdTech Comprehensive Learner Record 2.0 §B.1.? ClrCredential).

A CLR is signed by the institution and carries the learner's Open Badges credentials exactly as
they were issued (each keeps its own proof), the achievements they evidence, and associations
between those achievements.
"""

from __future__ import annotations

from typing import Any

from issuer.formats.open_badges import OB_V3, VC_V2, identity, profile
from schemas.learning import IssuerProfile, Recipient, text_in

CLR_V2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
ASSOCIATION_TYPES = (
    "exactMatchOf",
    "isChildOf",
    "isParentOf",
    "isPartOf",
    "isPeerOf",
    "isRelatedTo",
    "precedes",
    "replacedBy",
)


def clr_credential(
    issuer: IssuerProfile,
    recipient: Recipient,
    credentials: list[dict[str, Any]],
    *,
    credential_id: str,
    valid_from: str,
    name: str | None = None,
    associations: list[dict[str, str]] = (),  # type: ignore[assignment]
    salt: str | None = None,
) -> dict[str, Any]:
    achievements: dict[str, dict[str, Any]] = {}
    for credential in credentials:
        held = credential.get("credentialSubject", {})
        achievement = held.get("achievement") if isinstance(held, dict) else None
        if isinstance(achievement, dict) and "id" in achievement:
            achievements.setdefault(achievement["id"], achievement)
    subject: dict[str, Any] = {
        "type": ["ClrSubject"],
        "verifiableCredential": credentials,
        "achievement": list(achievements.values()),
    }
    if recipient.did:
        subject["id"] = recipient.did
    identifiers = identity(recipient, salt)
    if identifiers:
        subject["identifier"] = identifiers
    if associations:
        subject["association"] = [{"type": "Association", **a} for a in associations]
    return {
        "@context": [VC_V2, CLR_V2, OB_V3],
        "id": credential_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": profile(issuer),
        "validFrom": valid_from,
        "name": name or f"Learner record from {text_in(issuer.legal_name, issuer.language)}",
        "credentialSubject": subject,
    }
