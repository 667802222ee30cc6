"""Searchable metadata of a credential, read from the document of every format Taito receives.

Open Badges 3.0 (``achievement`` with ``alignment`` and ``creditsAvailable``), CLR 2.0 (the
record, plus what its member credentials carry), Europass / ELM 3.2 (``hasClaim`` →
``specifiedBy`` with ``creditPoint``, ``eqfLevel``, ``thematicArea`` and ESCO skills of the
learning outcomes), SD-JWT VC (Taito's learning-credential claims) and any other VC (name,
issuer, dates). What is read here is a summary for listing, search and the skills profile; the
credential itself is kept as received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keys import jose
from schemas import strict_json
from schemas.errors import TaitoError

EQF = "http://data.europa.eu/snb/eqf/"
ISCED_F = "http://data.europa.eu/snb/isced-f/"
ESCO = "http://data.europa.eu/esco/"
MAX_TEXT = 500
SEARCH_TEXT_BYTES = 1000


@dataclass
class Metadata:
    issuer_id: str | None = None
    issuer_name: str | None = None
    name: str | None = None
    description: str | None = None
    types: list[str] = field(default_factory=list)
    issued_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    skills: list[dict[str, Any]] = field(default_factory=list)  # name, uri, framework, code
    ects: float | None = None
    eqf_levels: list[int] = field(default_factory=list)
    fields_of_study: list[str] = field(default_factory=list)  # ISCED-F codes
    workload_hours: float | None = None

    def profile(self) -> dict[str, Any]:
        return {
            "ects": self.ects,
            "eqf_levels": sorted(set(self.eqf_levels)),
            "fields_of_study": sorted(set(self.fields_of_study)),
            "workload_hours": self.workload_hours,
        }

    def search_text(self) -> str:
        parts = [self.name, self.description, self.issuer_name, self.issuer_id, *self.types]
        parts += [s.get("name") for s in self.skills]
        # At most SEARCH_TEXT_BYTES of UTF-8, so it fits a B-tree index entry on PostgreSQL.
        joined = " ".join(p for p in parts if p).lower()
        return joined.encode()[:SEARCH_TEXT_BYTES].decode("utf-8", "ignore")


def text(value: Any, language: str = "en") -> str | None:
    """A plain string from a string, a language map ({"en": ...}) or a JSON-LD value list."""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, Mapping):
        if "@value" in value:
            return text(value["@value"])
        chosen = value.get(language) or next((v for v in value.values() if v), None)
        return text(chosen)
    if isinstance(value, list) and value:
        return text(value[0], language)
    return None


def parse_date(value: Any) -> datetime | None:
    """A datetime from an ISO 8601 string or a NumericDate (RFC 7519 §2); ``None`` if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _code_after(uri: Any, prefix: str) -> str | None:
    if isinstance(uri, str) and uri.startswith(prefix):
        return uri[len(prefix) :].strip("/") or None
    return None


def _add_alignment(meta: Metadata, alignment: Mapping[str, Any]) -> None:
    """OB 3.0 Alignment: EQF and ISCED-F ones are levels and fields, the rest are skills."""
    url = alignment.get("targetUrl")
    framework = text(alignment.get("targetFramework"))
    code = text(alignment.get("targetCode"))
    eqf = _code_after(url, EQF) or (code if framework == "EQF" else None)
    if eqf is not None and eqf.isdigit():
        meta.eqf_levels.append(int(eqf))
        return
    isced = _code_after(url, ISCED_F) or (code if framework and "ISCED" in framework else None)
    if isced is not None:
        meta.fields_of_study.append(isced)
        return
    name = text(alignment.get("targetName"))
    if name or url:
        meta.skills.append(
            {
                "name": name or str(url),
                "uri": url if isinstance(url, str) else None,
                "framework": framework or ("ESCO" if str(url).startswith(ESCO) else None),
                "code": code,
            }
        )


def _common(meta: Metadata, document: Mapping[str, Any]) -> None:
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        meta.issuer_id = issuer
    elif isinstance(issuer, Mapping):
        meta.issuer_id = issuer.get("id") if isinstance(issuer.get("id"), str) else None
        meta.issuer_name = text(issuer.get("name")) or text(issuer.get("legalName"))
    meta.types = [t for t in _list(document.get("type")) if isinstance(t, str)][:20]
    meta.name = text(document.get("name"))
    meta.description = text(document.get("description"))
    meta.issued_at = parse_date(
        document.get("awardedDate") or document.get("issued") or document.get("issuanceDate")
    ) or parse_date(document.get("validFrom"))
    meta.valid_from = parse_date(document.get("validFrom") or document.get("issuanceDate"))
    meta.valid_until = parse_date(document.get("validUntil") or document.get("expirationDate"))


def _open_badge(meta: Metadata, subject: Mapping[str, Any]) -> None:
    achievements = [a for a in _list(subject.get("achievement")) if isinstance(a, Mapping)]
    if len(achievements) == 1:  # the achievement's name is what a learner searches for
        meta.name = text(achievements[0].get("name")) or meta.name
        meta.description = text(achievements[0].get("description")) or meta.description
    for item in achievements:
        credits = _number(item.get("creditsAvailable"))
        if credits is not None:
            meta.ects = (meta.ects or 0.0) + credits
        for alignment in _list(item.get("alignment")):
            if isinstance(alignment, Mapping):
                _add_alignment(meta, alignment)


def _elm(meta: Metadata, subject: Mapping[str, Any]) -> None:
    for claim in _list(subject.get("hasClaim")):
        if not isinstance(claim, Mapping):
            continue
        meta.name = meta.name or text(claim.get("title"))
        meta.description = meta.description or text(claim.get("description"))
        awarded = claim.get("awardedBy")
        if isinstance(awarded, Mapping):
            meta.issued_at = meta.issued_at or parse_date(awarded.get("awardingDate"))
        for spec in _list(claim.get("specifiedBy")):
            if not isinstance(spec, Mapping):
                continue
            for credit in _list(spec.get("creditPoint")):
                if isinstance(credit, Mapping):
                    points = _number(credit.get("point"))
                    if points is not None:
                        meta.ects = (meta.ects or 0.0) + points
            level = spec.get("eqfLevel")
            code = _code_after(level.get("id") if isinstance(level, Mapping) else level, EQF)
            if code is not None and code.isdigit():
                meta.eqf_levels.append(int(code))
            for area in _list(spec.get("thematicArea")):
                field_code = _code_after(
                    area.get("id") if isinstance(area, Mapping) else area, ISCED_F
                )
                if field_code:
                    meta.fields_of_study.append(field_code)
            for outcome in _list(spec.get("learningOutcome")):
                if not isinstance(outcome, Mapping):
                    continue
                for key in ("relatedESCOSkill", "relatedSkill"):
                    for skill in _list(outcome.get(key)):
                        if isinstance(skill, Mapping) and isinstance(skill.get("id"), str):
                            meta.skills.append(
                                {
                                    "name": text(skill.get("prefLabel"))
                                    or text(outcome.get("title"))
                                    or skill["id"],
                                    "uri": skill["id"],
                                    "framework": "ESCO" if skill["id"].startswith(ESCO) else None,
                                    "code": None,
                                }
                            )


def _sd_jwt_vc(meta: Metadata, claims: Mapping[str, Any]) -> None:
    """Taito's learning-credential SD-JWT VC (``issuer/formats/sd_jwt_vc.py``) and any other."""
    meta.issuer_id = claims.get("iss") if isinstance(claims.get("iss"), str) else None
    meta.issuer_name = text(claims.get("issuer_name"))
    meta.types = [str(claims["vct"])] if isinstance(claims.get("vct"), str) else []
    meta.issued_at = parse_date(claims.get("iat"))
    meta.valid_from = parse_date(claims.get("nbf")) or meta.issued_at
    meta.valid_until = parse_date(claims.get("exp"))
    achievement = claims.get("achievement")
    if isinstance(achievement, Mapping):
        meta.name = text(achievement.get("name"))
        meta.description = text(achievement.get("description"))
        meta.ects = _number(achievement.get("ects_credits"))
        meta.workload_hours = _number(achievement.get("workload_hours"))
        level = achievement.get("eqf_level")
        if isinstance(level, int) and not isinstance(level, bool):
            meta.eqf_levels.append(level)
        if isinstance(achievement.get("isced_f"), str):
            meta.fields_of_study.append(achievement["isced_f"])
        for skill in _list(achievement.get("skills")):
            if isinstance(skill, Mapping):
                _add_alignment(
                    meta, {"targetName": skill.get("name"), "targetUrl": skill.get("uri")}
                )
    meta.name = meta.name or text(claims.get("name"))


def _member_document(member: Any) -> Mapping[str, Any] | None:
    if isinstance(member, Mapping):
        return member
    if isinstance(member, str):
        return unverified_jwt_document(member)
    return None


def extract(document: Mapping[str, Any], format: str | None) -> Metadata:
    """The metadata of one credential document (``format`` as the verifier names it)."""
    meta = Metadata()
    if format == "dc+sd-jwt" or ("vct" in document and "@context" not in document):
        _sd_jwt_vc(meta, document)
        return meta
    _common(meta, document)
    subjects = [s for s in _list(document.get("credentialSubject")) if isinstance(s, Mapping)]
    for subject in subjects:
        if "hasClaim" in subject:
            _elm(meta, subject)
        members = [
            inner
            for member in _list(subject.get("verifiableCredential"))
            if (inner := _member_document(member)) is not None
        ]
        if "ClrCredential" in meta.types and members:
            # CLR 2.0: the record's achievements are its members'; count each member once.
            for inner in members:
                part = extract(inner, None)
                meta.skills += part.skills
                meta.eqf_levels += part.eqf_levels
                meta.fields_of_study += part.fields_of_study
                if part.ects is not None:
                    meta.ects = (meta.ects or 0.0) + part.ects
        elif "ClrCredential" in meta.types:
            name = meta.name
            _open_badge(meta, subject)
            meta.name = name or meta.name
        else:
            _open_badge(meta, subject)
    return meta


def unverified_jwt_document(token: str) -> Mapping[str, Any] | None:
    """The credential in a JWT, read without verifying it (metadata of an unverified import).

    VC-JWT 1.1 carries it in the ``vc`` claim (VC 1.1 §6.3.1); ``vc+jwt`` is the credential."""
    try:
        payload = strict_json.loads(jose.decode_unverified(token).payload)
    except TaitoError:
        return None
    if not isinstance(payload, Mapping):
        return None
    vc = payload.get("vc")
    if isinstance(vc, Mapping):
        merged = dict(vc)
        if "iss" in payload and "issuer" not in merged:
            merged["issuer"] = payload["iss"]
        return merged
    return payload
