"""European Learning Model 3.2 ``EuropeanDigitalCredential`` (Europass) from Taito's internal model.

The document is JSON-LD under the VC 1.1 base context and the EDC application profile context
(``http://data.europa.eu/snb/model/context/edc-ap``) and is built to conform to the EDC generic
SHACL shapes (EDC AP 1.2.0, ``edc-generic-full``: the no-CV shapes plus the controlled-vocabulary
restrictions). Shape of the graph::

    EuropeanDigitalCredential
    ├── issuer                 Organisation (legalName, eIDASIdentifier, location, homepage, ...)
    ├── credentialSubject      Person (names, e-mail contact point, student number)
    │   └── hasClaim           LearningAchievement
    │       ├── awardedBy      AwardingProcess (awardingBody = the issuer, awardingDate)
    │       ├── provenBy       LearningAssessment per result (grade)
    │       └── specifiedBy    LearningAchievementSpecification, or Qualification when an EQF
    │                          level is given (ELM 3.2 carries EQFLevel on Qualification only)
    ├── displayParameter       DisplayParameter (title, languages, one rendered page image)
    └── credentialProfiles, credentialSchema, issued, validFrom, validUntil

Controlled vocabularies are the EU ones the shapes restrict to: EQF levels
``http://data.europa.eu/snb/eqf/{1..8}``, ISCED-F 2013 fields
``http://data.europa.eu/snb/isced-f/{code}``, EU authority tables for languages and countries
(ISO 639 / ISO 3166 alpha-3), ECTS as the credit framework, the learning-assessment mode scheme.
Every node gets an IRI under the credential's id (``<credential id>#issuer-location``, ...).

:func:`seal_elm` seals the RFC 8785 canonical JSON of the credential as a JAdES baseline-B
compact JWS (:mod:`keys.jades`).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pycountry
import rfc8785

from keys import jades
from keys.signing import Signer
from keys.x509 import Certificate
from schemas.errors import ValidationFailed
from schemas.learning import AchievementSpec, Award, IssuerProfile, LangString

__all__ = [
    "EDC_AP_CONTEXT",
    "EDC_GENERIC_FULL",
    "ElmIncomplete",
    "elm_credential",
    "seal_elm",
]

VC_V1 = "https://www.w3.org/2018/credentials/v1"
EDC_AP_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"
EDC_GENERIC_FULL = "http://data.europa.eu/snb/model/ap/edc-generic-full"

# Controlled vocabularies (ELM 3.2 / EU Vocabularies). Schemes are what the edc-generic-full
# restriction shapes require in skos:inScheme.
EQF = "http://data.europa.eu/snb/eqf/"
EQF_SCHEME = "http://data.europa.eu/snb/eqf/25831c2"
ISCED_F = "http://data.europa.eu/snb/isced-f/"
ISCED_F_SCHEME = "http://data.europa.eu/snb/isced-f/25831c2"
LANGUAGE = "http://publications.europa.eu/resource/authority/language"
COUNTRY = "http://publications.europa.eu/resource/authority/country"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type"
CREDENTIAL_TYPE_SCHEME = "http://data.europa.eu/snb/credential/25831c2"
CREDENTIAL_TYPE_GENERIC = "http://data.europa.eu/snb/credential/e34929035b"
EDUCATION_CREDIT_SCHEME = "http://data.europa.eu/snb/education-credit/25831c2"
ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
ENCODING_SCHEME = "http://data.europa.eu/snb/encoding/25831c2"
BASE64_ENCODING = "http://data.europa.eu/snb/encoding/6146cde7dd"
ESCO_SKILL = "http://data.europa.eu/esco/skill/"
ESCO_SKILLS_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"
MODE_SCHEME = "http://data.europa.eu/snb/learning-assessment/25831c2"
# The concepts of the mode scheme that the ELM examples use; "onsite" (in person) has a concept
# too, but its identifier is not in the material this module was checked against, so it is not
# emitted rather than guessed.
MODE: dict[str, str] = {
    "online": "http://data.europa.eu/snb/learning-assessment/920fbb3cbe",
    "blended": "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
}

# What the Europass examples put in the seal's 'cty' (see keys.jades).
SEAL_CONTENT_TYPE = "octet-stream"


class ElmIncomplete(ValidationFailed):
    """The internal model lacks something the EDC application profile requires."""

    code = "elm_incomplete"
    title = "Cannot express this award as a European Digital Credential"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _concept(concept_id: str, scheme: str, label: LangString | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": concept_id,
        "type": "Concept",
        "inScheme": {"id": scheme, "type": "ConceptScheme"},
    }
    if label:
        node["prefLabel"] = label
    return node


def _language_code(tag: str) -> str:
    """BCP 47 tag -> EU authority language code (ISO 639-2/T, upper case): 'fi' -> 'FIN'."""
    primary = tag.split("-")[0].lower()
    found = None
    if len(primary) == 2:
        found = pycountry.languages.get(alpha_2=primary)
    elif len(primary) == 3:
        found = pycountry.languages.get(alpha_3=primary)
    if found is None:
        raise ElmIncomplete(f"The language {tag!r} has no ISO 639 three-letter code.")
    return str(found.alpha_3).upper()


def _language(tag: str) -> dict[str, Any]:
    return _concept(f"{LANGUAGE}/{_language_code(tag)}", LANGUAGE)


def _country(alpha_2: str) -> dict[str, Any]:
    found = pycountry.countries.get(alpha_2=alpha_2.upper())
    if found is None:
        raise ElmIncomplete(f"{alpha_2!r} is not an ISO 3166-1 country code.")
    return _concept(f"{COUNTRY}/{found.alpha_3}", COUNTRY)


def _note(node_id: str, text: LangString) -> dict[str, Any]:
    return {"id": node_id, "type": "Note", "noteLiteral": dict(text)}


def _in(language: str, value: str) -> LangString:
    return {language: value}


def _organisation(issuer: IssuerProfile, base: str) -> dict[str, Any]:
    """The issuer as an ELM ``Organisation`` that also satisfies the EDC IssuerNodeShape."""
    if not issuer.legal_identifier:
        # EDC AP IssuerNodeShape: an issuer has exactly one eIDAS legal identifier.
        raise ElmIncomplete(
            "A European Digital Credential needs the issuer's legal identifier "
            "(e.g. its business ID); set legal_identifier on the institution."
        )
    legal_identifier = {
        "id": f"{base}#issuer-legal-identifier",
        "type": "LegalIdentifier",
        "notation": issuer.legal_identifier,
        "spatial": _country(issuer.country),
    }
    organisation: dict[str, Any] = {
        "id": issuer.id,
        "type": "Organisation",
        "legalName": dict(issuer.legal_name),
        "eIDASIdentifier": legal_identifier,
        "registration": legal_identifier,
        "location": {
            "id": f"{base}#issuer-location",
            "type": "Location",
            "address": {
                "id": f"{base}#issuer-address",
                "type": "Address",
                "countryCode": _country(issuer.country),
            },
        },
        "homepage": {
            "id": f"{base}#issuer-homepage",
            "type": "WebResource",
            "contentURL": issuer.url,
        },
    }
    if issuer.email:
        organisation["contactPoint"] = {
            "id": f"{base}#issuer-contact",
            "type": "ContactPoint",
            "emailAddress": {"id": f"mailto:{issuer.email}", "type": "Mailbox"},
        }
    if issuer.accreditation:
        organisation["additionalNote"] = [
            _note(f"{base}#issuer-accreditation", _in(issuer.language, issuer.accreditation))
        ]
    return organisation


def _credit_points(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _specification(spec: AchievementSpec, award: Award, base: str) -> dict[str, Any]:
    lang = spec.language
    # ELM 3.2: EQFLevel is a property of Qualification (a LearningAchievementSpecification).
    node_type = (
        "Qualification" if spec.eqf_level is not None else "LearningAchievementSpecification"
    )
    node: dict[str, Any] = {
        "id": award.achievement_id,
        "type": node_type,
        "title": dict(spec.name),
        "description": dict(spec.description),
        "language": [_language(lang)],
        "additionalNote": [_note(f"{base}#criteria", spec.criteria)],
    }
    if spec.criteria_url:
        node["supplementaryDocument"] = [
            {
                "id": f"{base}#criteria-document",
                "type": "WebResource",
                "contentURL": spec.criteria_url,
            }
        ]
    if spec.tags:
        node["category"] = {lang: list(spec.tags)}
    if spec.learning_outcomes:
        outcomes = []
        for index, outcome in enumerate(spec.learning_outcomes):
            entry: dict[str, Any] = {
                "id": f"{base}#learning-outcome-{index}",
                "type": "LearningOutcome",
                "title": dict(outcome.text),
            }
            if outcome.esco_skill and outcome.esco_skill.startswith(ESCO_SKILL):
                entry["relatedESCOSkill"] = [_concept(outcome.esco_skill, ESCO_SKILLS_SCHEME)]
            elif outcome.esco_skill:
                entry["relatedSkill"] = [{"id": outcome.esco_skill, "type": "Concept"}]
            outcomes.append(entry)
        node["learningOutcome"] = outcomes
    if spec.ects_credits is not None:
        node["creditPoint"] = [
            {
                "id": f"{base}#credit-points",
                "type": "CreditPoint",
                "framework": _concept(
                    ECTS, EDUCATION_CREDIT_SCHEME, {"en": "European Credit Transfer System"}
                ),
                "point": _credit_points(spec.ects_credits),
            }
        ]
    if spec.workload_hours is not None:
        # ELM volumeOfLearning is an xsd:duration (ISO 8601), e.g. 'PT150H'.
        node["volumeOfLearning"] = f"PT{spec.workload_hours}H"
    if spec.eqf_level is not None:
        node["eqfLevel"] = _concept(
            f"{EQF}{spec.eqf_level}", EQF_SCHEME, {"en": f"Level {spec.eqf_level}"}
        )
    if spec.isced_f is not None:
        node["thematicArea"] = [_concept(f"{ISCED_F}{spec.isced_f}", ISCED_F_SCHEME)]
    if spec.participation_mode in MODE:
        node["mode"] = [_concept(MODE[spec.participation_mode], MODE_SCHEME)]
    if spec.prerequisites:
        node["entryRequirement"] = _note(f"{base}#entry-requirement", spec.prerequisites)
    if spec.assessment_type:
        node["provenBy"] = [
            {
                "id": f"{base}#assessment-specification",
                "type": "LearningAssessmentSpecification",
                "title": _in(lang, spec.assessment_type),
            }
        ]
    if spec.quality_assurance:
        node["additionalNote"].append(
            _note(f"{base}#quality-assurance", _in(lang, spec.quality_assurance))
        )
    return node


def _person(award: Award, language: str, base: str) -> dict[str, Any]:
    recipient = award.recipient
    person: dict[str, Any] = {"id": recipient.did or f"{base}#subject", "type": "Person"}
    if recipient.given_name:
        person["givenName"] = _in(language, recipient.given_name)
    if recipient.family_name:
        person["familyName"] = _in(language, recipient.family_name)
    full = " ".join(n for n in (recipient.given_name, recipient.family_name) if n)
    if full:
        person["fullName"] = _in(language, full)
    if recipient.email:
        person["contactPoint"] = [
            {
                "id": f"{base}#subject-contact",
                "type": "ContactPoint",
                "emailAddress": {"id": f"mailto:{recipient.email}", "type": "Mailbox"},
            }
        ]
    if recipient.student_number:
        person["identifier"] = [
            {
                "id": f"{base}#subject-student-number",
                "type": "Identifier",
                "notation": recipient.student_number,
                "schemeName": "student number",
            }
        ]
    return person


_DATA_URI = re.compile(r"^data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]+)$")


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    raise ElmIncomplete("The display image must be a PNG or JPEG file.")


def _placeholder_png(
    width: int = 210, height: int = 297, rgb: tuple[int, int, int] = (255, 255, 255)
) -> bytes:
    """A plain A4-proportioned PNG (ISO/IEC 15948: IHDR, one IDAT, IEND), for the mandatory
    display image when the caller has no rendering of the credential."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def _display_image(spec: AchievementSpec, display_image: bytes | None) -> bytes:
    if display_image is not None:
        return display_image
    if spec.image:
        match = _DATA_URI.match(spec.image)
        if match:
            try:
                return base64.b64decode("".join(match.group(2).split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ElmIncomplete("The achievement image data: URI is not base64.") from exc
    return _placeholder_png()


def _display(spec: AchievementSpec, image: bytes, base: str) -> dict[str, Any]:
    file_type = _image_type(image)
    primary = _language(spec.language)
    languages = {_language_code(tag) for tag in spec.name} | {_language_code(spec.language)}
    return {
        "id": f"{base}#display",
        "type": "DisplayParameter",
        "title": dict(spec.name),
        "description": dict(spec.description),
        "primaryLanguage": primary,
        "language": [_concept(f"{LANGUAGE}/{code}", LANGUAGE) for code in sorted(languages)],
        "individualDisplay": [
            {
                "id": f"{base}#display-{spec.language}",
                "type": "IndividualDisplay",
                "language": primary,
                "displayDetail": [
                    {
                        "id": f"{base}#display-{spec.language}-page-1",
                        "type": "DisplayDetail",
                        "page": 1,
                        "image": {
                            "id": f"{base}#display-{spec.language}-page-1-image",
                            "type": "MediaObject",
                            "content": base64.b64encode(image).decode("ascii"),
                            "contentEncoding": _concept(BASE64_ENCODING, ENCODING_SCHEME),
                            "contentType": _concept(f"{FILE_TYPE}/{file_type}", FILE_TYPE),
                        },
                    }
                ],
            }
        ],
    }


def elm_credential(
    issuer: IssuerProfile,
    achievement: AchievementSpec,
    award: Award,
    *,
    display_image: bytes | None = None,
) -> dict[str, Any]:
    """An unsigned ELM 3.2 ``EuropeanDigitalCredential`` (EDC AP 1.2.0, generic profile).

    ``display_image`` is the PNG/JPEG rendering of the credential that the EDC display parameter
    requires; without it the achievement's ``data:`` image is used, else a plain placeholder page.
    Raises :class:`ElmIncomplete` when the issuer has no legal identifier or a language or
    country has no EU authority code.
    """
    base = award.credential_id
    language = achievement.language
    organisation = _organisation(issuer, base)
    claim: dict[str, Any] = {
        "id": f"{base}#achievement",
        "type": "LearningAchievement",
        "title": dict(achievement.name),
        "description": dict(achievement.description),
        "awardedBy": {
            "id": f"{base}#awarding-process",
            "type": "AwardingProcess",
            "awardingBody": [organisation],
            "awardingDate": _iso(award.issued_on),
        },
        "specifiedBy": _specification(achievement, award, base),
    }
    if award.results:
        claim["provenBy"] = [
            {
                "id": f"{base}#assessment-{index}",
                "type": "LearningAssessment",
                "title": _in(language, result.name),
                "grade": _note(f"{base}#assessment-{index}-grade", _in(language, result.value)),
                "awardedBy": {"id": f"{base}#awarding-process", "type": "AwardingProcess"},
            }
            for index, result in enumerate(award.results)
        ]
    subject = _person(award, language, base)
    subject["hasClaim"] = [claim]
    document: dict[str, Any] = {
        "@context": [VC_V1, EDC_AP_CONTEXT],
        "id": award.credential_id,
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": [
            _concept(CREDENTIAL_TYPE_GENERIC, CREDENTIAL_TYPE_SCHEME, {"en": "Generic"})
        ],
        "credentialSchema": [{"id": EDC_GENERIC_FULL, "type": "ShaclValidator2017"}],
        "issuer": organisation,
        "credentialSubject": subject,
        "issuanceDate": _iso(award.issued_on),
        "issued": _iso(award.issued_on),
        "validFrom": _iso(award.valid_from),
        "displayParameter": _display(achievement, _display_image(achievement, display_image), base),
    }
    if award.valid_until is not None:
        document["validUntil"] = _iso(award.valid_until)
        document["expirationDate"] = _iso(award.valid_until)
    return document


def seal_elm(
    credential: dict[str, Any],
    *,
    signer: Signer,
    chain: Sequence[Certificate],
    signing_time: datetime,
) -> str:
    """JAdES-seal (baseline-B, compact) the RFC 8785 canonical JSON bytes of ``credential``."""
    try:
        payload = rfc8785.dumps(credential)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ElmIncomplete(f"The credential is not canonicalisable JSON: {exc}"[:200]) from exc
    return jades.seal(
        payload,
        signer=signer,
        chain=chain,
        signing_time=signing_time,
        content_type=SEAL_CONTENT_TYPE,
    )
