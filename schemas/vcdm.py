"""Structural rules of the W3C Verifiable Credentials Data Model 2.0 (and 1.1), without JSON-LD.

https://www.w3.org/TR/vc-data-model-2.0/ — every rule below cites the section it comes from. The
checks look at the JSON shape only: no context is fetched and nothing is expanded. What can be told
from the document alone is checked (base context first, required properties, URL and date formats,
type terms defined by inline contexts, redefinition of protected terms); what needs the remote
contexts (whether a term from another context is defined) is left to JSON-LD processing.

    check_credential(doc)     raises StructureError (code ``invalid_structure``)
    check_presentation(doc)   raises StructureError

``StructureError.extra["path"]`` is the dotted JSON path of the offending member
(``credentialSubject.0.id``, ``@context.1``); the empty string is the document itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from schemas.errors import TaitoError

BASE_CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
BASE_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1"

VERIFIABLE_CREDENTIAL = "VerifiableCredential"
VERIFIABLE_PRESENTATION = "VerifiablePresentation"
ENVELOPED_CREDENTIAL = "EnvelopedVerifiableCredential"
ENVELOPED_PRESENTATION = "EnvelopedVerifiablePresentation"

# Type names the base contexts define (§4.3, §B.1 "Base Context"); used to tell defined type terms
# from undefined ones when no other remote context could define them.
_BASE_TYPE_TERMS = frozenset(
    {
        VERIFIABLE_CREDENTIAL,
        VERIFIABLE_PRESENTATION,
        ENVELOPED_CREDENTIAL,
        ENVELOPED_PRESENTATION,
        "JsonSchemaCredential",
        "JsonSchema",
        "BitstringStatusListCredential",
        "BitstringStatusList",
        "BitstringStatusListEntry",
        "DataIntegrityProof",
        # VCDM 1.1 base context
        "EcdsaSecp256k1Signature2019",
        "EcdsaSecp256r1Signature2019",
        "Ed25519Signature2018",
        "RsaSignature2018",
    }
)

# Top-level terms of the (protected) base context: a later context must not redefine them
# (§4.3 "the base context ... uses @protected"; JSON-LD 1.1 §4.1.11 Protected Term Definitions).
_BASE_PROTECTED_TERMS = _BASE_TYPE_TERMS | frozenset(
    {
        "description",
        "digestMultibase",
        "digestSRI",
        "mediaType",
        "name",
        "proof",
    }
)


class StructureError(TaitoError):
    """A credential or presentation that breaks a structural rule of the data model."""

    code = "invalid_structure"
    status = 422
    title = "Credential structure is not valid"

    def __init__(self, detail: str, *, path: str = "", extra: dict[str, Any] | None = None):
        super().__init__(detail, extra={**(extra or {}), "path": path})
        self.path = path


# --- primitive formats ------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Whitespace (``\s`` is ``str.isspace``), controls and space (< 0x21), and what RFC 3986 never
# allows unescaped: one regex search (C speed), not a Python test per character.
_FORBIDDEN_URL_CHAR = re.compile(r'[\s\x00-\x20<>"{}|\\^`]')
_HOST_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


def is_url(value: Any) -> bool:
    """An absolute URL (RFC 3986 §3: a scheme, then no spaces; web schemes need a host).

    §4.4: identifiers are URLs; ``did:``, ``urn:`` and ``data:`` URLs qualify.
    """
    if not isinstance(value, str) or not value:
        return False
    if _FORBIDDEN_URL_CHAR.search(value):
        return False
    match = _SCHEME.match(value)
    if match is None or match.end() == len(value):
        return False
    scheme = match.group()[:-1].lower()
    if scheme in _HOST_SCHEMES:
        try:
            return bool(urlsplit(value).hostname)
        except ValueError:
            return False
    return True


# XML Schema 1.1 Part 2 §3.4.28 dateTimeStamp (a dateTime whose timezone is required); §4.9.
_DATE_TIME = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))-(?P<month>0[1-9]|1[0-2])-"
    r"(?P<day>0[1-9]|[12][0-9]|3[01])T"
    r"(?:(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    r"(?P<fraction>\.[0-9]+)?|(?P<midnight>24:00:00(?:\.0+)?))"
    r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar, for any year."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_date_time(value: Any, *, require_timezone: bool = True) -> tuple[int, str] | None:
    """Parse an XML Schema dateTime(Stamp) into a sortable (UTC seconds, fraction) key, or None.

    Years beyond 9999 (``datetime``'s limit) are valid XML Schema years, hence the own arithmetic.
    """
    if not isinstance(value, str):
        return None
    match = _DATE_TIME.fullmatch(value)
    if match is None or (require_timezone and match["tz"] is None):
        return None
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if day > _days_in_month(year, month):
        return None
    if match["midnight"]:
        hour = 24
        minute = second = 0
        fraction = ""
    else:
        hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
        fraction = (match["fraction"] or "")[1:].rstrip("0")
    offset = 0
    tz = match["tz"]
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        offset = sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return seconds - offset, fraction.ljust(12, "0")


def is_date_time_stamp(value: Any) -> bool:
    """XML Schema ``dateTimeStamp``: a dateTime with a timezone (§4.9)."""
    return parse_date_time(value) is not None


# --- helpers ----------------------------------------------------------------------------------


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _values(value: Any) -> list[Any]:
    """A JSON-LD value as a list: a single value and a one-item array mean the same (§4.1)."""
    return value if isinstance(value, list) else [value]


def _items(value: Any, path: str) -> Iterator[tuple[Any, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield item, _join(path, index)
    else:
        yield value, path


def _require_object(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StructureError(f"{what} must be a JSON object.", path=path)
    return value


def _check_url(value: Any, path: str, what: str) -> None:
    if not isinstance(value, str):
        raise StructureError(f"{what} must be a single URL string.", path=path)
    if not is_url(value):
        raise StructureError(f"{what} must be a URL, got {value[:80]!r}.", path=path)


def _check_optional_id(node: Mapping[str, Any], path: str, what: str) -> None:
    # §4.4 Identifiers: "If present, the value of the id property MUST be a single URL".
    if "id" in node:
        _check_url(node["id"], _join(path, "id"), f"The id of {what}")


def _type_values(node: Mapping[str, Any], path: str, what: str) -> list[str]:
    # §4.5 Types: type is one or more terms/URLs (strings).
    if "type" not in node:
        raise StructureError(f"{what[0].upper()}{what[1:]} must have a type.", path=path)
    raw = node["type"]
    values = _values(raw)
    if not values:
        raise StructureError(f"The type of {what} must not be empty.", path=_join(path, "type"))
    for value, item_path in _items(raw, _join(path, "type")):
        if not isinstance(value, str) or not value:
            raise StructureError(f"Each type of {what} must be a non-empty string.", path=item_path)
    return [str(value) for value in values]


# --- @context (§4.3) --------------------------------------------------------------------------

_KEYWORD = re.compile(r"@[A-Za-z]+")


class _Contexts:
    """What the @context tells without fetching anything."""

    def __init__(self, version: int, terms: dict[str, Any], vocab: bool, unknown: bool) -> None:
        self.version = version
        self.terms = terms  # inline term -> IRI (None when the term is nulled)
        self.vocab = vocab  # an inline @vocab maps otherwise undefined terms
        self.unknown = unknown  # a remote context other than the base one may define more terms

    def type_term_defined(self, term: str) -> bool:
        if term in self.terms:
            return self.terms[term] is not None
        return term in _BASE_TYPE_TERMS or self.vocab or self.unknown


def _iri_of(definition: Any) -> Any:
    if isinstance(definition, Mapping):
        return definition.get("@id")
    return definition


def _check_iri_mapping(term: str, definition: Any, path: str) -> None:
    iri = _iri_of(definition)
    if iri is None or not isinstance(iri, str):
        if definition is not None and not isinstance(definition, Mapping):
            raise StructureError(
                f"The definition of {term!r} must be a string, an object or null.", path=path
            )
        return
    if _KEYWORD.fullmatch(iri):
        return
    # JSON-LD 1.1 §9.15.1: an IRI mapping is an IRI, compact IRI or term; none contain spaces.
    if ":" in iri and not is_url(iri):
        raise StructureError(f"Term {term!r} maps to {iri[:80]!r}, which is not a URL.", path=path)
    if any(char.isspace() for char in iri):
        raise StructureError(f"Term {term!r} maps to an invalid IRI.", path=path)


def _check_contexts(doc: Mapping[str, Any], path: str) -> _Contexts:
    # §4.3 Contexts: @context MUST be present; its first item MUST be the base context URL;
    # later items are URLs and/or objects.
    if "@context" not in doc:
        raise StructureError("The @context property is required.", path=path)
    ctx_path = _join(path, "@context")
    raw = doc["@context"]
    contexts = _values(raw)
    if not contexts:
        raise StructureError("@context must not be empty.", path=ctx_path)
    first = contexts[0]
    if first == BASE_CONTEXT_V2:
        version = 2
    elif first == BASE_CONTEXT_V1:
        version = 1
    else:
        raise StructureError(
            f"The first @context item must be {BASE_CONTEXT_V2!r} (or, for VCDM 1.1, "
            f"{BASE_CONTEXT_V1!r}).",
            path=_join(ctx_path, 0) if isinstance(raw, list) else ctx_path,
        )
    terms: dict[str, Any] = {}
    protected: dict[str, Any] = dict.fromkeys(_BASE_PROTECTED_TERMS, object())
    vocab = unknown = False
    for item, item_path in list(_items(raw, ctx_path))[1:]:
        if isinstance(item, str):
            if not is_url(item):
                raise StructureError(f"@context item {item[:80]!r} is not a URL.", path=item_path)
            if item not in (BASE_CONTEXT_V1, BASE_CONTEXT_V2):
                unknown = True
            continue
        if not isinstance(item, Mapping):
            raise StructureError("Each @context item must be a URL or an object.", path=item_path)
        context_protected = item.get("@protected") is True
        for term, definition in item.items():
            term_path = _join(item_path, term)
            if term == "@vocab":
                vocab = definition is not None
                continue
            if term.startswith("@"):
                continue
            _check_iri_mapping(term, definition, term_path)
            if term in protected and protected[term] != definition:
                # JSON-LD 1.1 §4.1.11: a protected term cannot be redefined.
                raise StructureError(
                    f"@context redefines the protected term {term!r}.", path=term_path
                )
            terms[term] = _iri_of(definition)
            term_protected = context_protected
            if isinstance(definition, Mapping) and "@protected" in definition:
                term_protected = definition["@protected"] is True
            if term_protected:
                protected[term] = definition
    return _Contexts(version, terms, vocab, unknown)


def _check_types(
    node: Mapping[str, Any], path: str, contexts: _Contexts, required: str, what: str
) -> list[str]:
    types = _type_values(node, path, what)
    if required not in types:
        raise StructureError(
            f"The type of {what} must include {required!r}.", path=_join(path, "type")
        )
    for value, item_path in _items(node["type"], _join(path, "type")):
        # §4.5: each type value is a URL or a term that a context maps to a URL.
        if ":" in value:
            if not is_url(value):
                raise StructureError(f"Type {value[:80]!r} is not a URL.", path=item_path)
        elif not contexts.type_term_defined(value):
            raise StructureError(f"Type {value!r} is not defined by any @context.", path=item_path)
    return types


# --- names and descriptions (§4.6, §11.1) -----------------------------------------------------

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_VALUE_OBJECT_KEYS = frozenset({"@value", "@language", "@direction"})


def _check_language_string(value: Any, path: str, what: str) -> None:
    # §4.6: name/description are strings or language value objects; §11.1 Language and Base
    # Direction: a value object has @value and optionally @language (BCP47) and @direction.
    for item, item_path in _items(value, path):
        if isinstance(item, str):
            continue
        if not isinstance(item, Mapping):
            raise StructureError(
                f"{what} must be a string or a language value object.", path=item_path
            )
        extra = set(item) - _VALUE_OBJECT_KEYS
        if extra:
            raise StructureError(
                f"A language value object for {what} may only hold @value, @language and "
                f"@direction, not {sorted(extra)}.",
                path=item_path,
            )
        if not isinstance(item.get("@value"), str):
            raise StructureError(f"{what} value object needs a string @value.", path=item_path)
        language = item.get("@language")
        if language is not None and (
            not isinstance(language, str) or not _LANGUAGE_TAG.fullmatch(language)
        ):
            raise StructureError("@language must be a BCP47 language tag.", path=item_path)
        if "@direction" in item and item["@direction"] not in ("ltr", "rtl"):
            raise StructureError("@direction must be 'ltr' or 'rtl'.", path=item_path)


def _check_names(node: Mapping[str, Any], path: str) -> None:
    for key in ("name", "description"):
        if key in node:
            _check_language_string(node[key], _join(path, key), key)


# --- typed extension objects ------------------------------------------------------------------


def _check_typed_objects(
    doc: Mapping[str, Any], key: str, path: str, *, id_required: bool = False
) -> None:
    """Objects that MUST carry a type and MAY carry a URL id (status, schema, evidence, ...)."""
    if key not in doc:
        return
    raw = doc[key]
    if isinstance(raw, list) and not raw:
        raise StructureError(f"{key} must not be an empty list.", path=_join(path, key))
    for item, item_path in _items(raw, _join(path, key)):
        node = _require_object(item, item_path, f"Each {key} value")
        if id_required and "id" not in node:
            raise StructureError(f"Each {key} value must have an id.", path=item_path)
        _check_optional_id(node, item_path, f"each {key} value")
        _type_values(node, item_path, f"each {key} value")


def _check_proofs(doc: Mapping[str, Any], path: str) -> None:
    # §4.12 Securing Mechanisms / VC Data Integrity §2.1: each embedded proof has a type.
    _check_typed_objects(doc, "proof", path)


def _check_related_resources(doc: Mapping[str, Any], path: str) -> None:
    # §5.3 Integrity of Related Resources: each object has an id URL and a digest.
    if "relatedResource" not in doc:
        return
    for item, item_path in _items(doc["relatedResource"], _join(path, "relatedResource")):
        node = _require_object(item, item_path, "Each relatedResource value")
        _check_url(node.get("id"), _join(item_path, "id"), "The id of a related resource")
        if "digestSRI" not in node and "digestMultibase" not in node:
            raise StructureError(
                "A related resource needs digestSRI or digestMultibase.", path=item_path
            )


# --- credentials ------------------------------------------------------------------------------


def _check_issuer(doc: Mapping[str, Any], path: str) -> None:
    # §4.7 Issuer: REQUIRED; a URL, or an object whose id is a URL.
    issuer_path = _join(path, "issuer")
    if "issuer" not in doc:
        raise StructureError("The issuer property is required.", path=path)
    issuer = doc["issuer"]
    if isinstance(issuer, Mapping):
        if "id" not in issuer:
            raise StructureError("An issuer object must have an id.", path=issuer_path)
        _check_url(issuer["id"], _join(issuer_path, "id"), "The issuer id")
        _check_names(issuer, issuer_path)
    else:
        _check_url(issuer, issuer_path, "The issuer")


def _check_subjects(doc: Mapping[str, Any], path: str) -> None:
    # §4.8 Credential Subject: REQUIRED; one or more objects, each the subject of one or more
    # claims; an id, when present, is a URL.
    if "credentialSubject" not in doc:
        raise StructureError("The credentialSubject property is required.", path=path)
    subject_path = _join(path, "credentialSubject")
    raw = doc["credentialSubject"]
    if isinstance(raw, list) and not raw:
        raise StructureError("credentialSubject must not be empty.", path=subject_path)
    for item, item_path in _items(raw, subject_path):
        subject = _require_object(item, item_path, "Each credentialSubject value")
        if not subject:
            raise StructureError(
                "A credentialSubject must make at least one claim.", path=item_path
            )
        _check_optional_id(subject, item_path, "a credential subject")


def _check_validity(doc: Mapping[str, Any], path: str, version: int) -> None:
    if version == 1:
        # VCDM 1.1 §4.6 Issuance Date (REQUIRED) and §4.7 Expiration: XML Schema dateTime.
        if "issuanceDate" not in doc:
            raise StructureError("A VCDM 1.1 credential needs an issuanceDate.", path=path)
        for key in ("issuanceDate", "expirationDate"):
            if key in doc and parse_date_time(doc[key], require_timezone=False) is None:
                raise StructureError(
                    f"{key} must be an XML Schema dateTime.", path=_join(path, key)
                )
        return
    # §4.9 Validity Period: validFrom/validUntil are dateTimeStamp values, and validFrom is not
    # later than validUntil.
    parsed = {}
    for key in ("validFrom", "validUntil"):
        if key in doc:
            stamp = parse_date_time(doc[key])
            if stamp is None:
                raise StructureError(
                    f"{key} must be an XML Schema dateTimeStamp (with a timezone).",
                    path=_join(path, key),
                )
            parsed[key] = stamp
    if len(parsed) == 2 and parsed["validFrom"] > parsed["validUntil"]:
        raise StructureError(
            "validFrom must not be later than validUntil.", path=_join(path, "validFrom")
        )


def check_credential(doc: Any, *, path: str = "") -> None:
    """Raise :class:`StructureError` unless ``doc`` is a structurally valid credential."""
    credential = _require_object(doc, path, "A verifiable credential")
    contexts = _check_contexts(credential, path)
    _check_optional_id(credential, path, "the credential")
    _check_types(credential, path, contexts, VERIFIABLE_CREDENTIAL, "a verifiable credential")
    _check_names(credential, path)
    _check_issuer(credential, path)
    _check_subjects(credential, path)
    _check_validity(credential, path, contexts.version)
    # §4.10 Status: type required, id optional URL.
    _check_typed_objects(credential, "credentialStatus", path)
    # §4.11 Data Schemas: id (URL) and type both required.
    _check_typed_objects(credential, "credentialSchema", path, id_required=True)
    # §5.4 Refreshing, §5.5 Terms of Use, §5.6 Evidence: each value has a type.
    _check_typed_objects(credential, "refreshService", path)
    _check_typed_objects(credential, "termsOfUse", path)
    _check_typed_objects(credential, "evidence", path)
    _check_related_resources(credential, path)
    _check_proofs(credential, path)


# --- presentations (§4.13) --------------------------------------------------------------------


def _check_holder(doc: Mapping[str, Any], path: str) -> None:
    # §4.13: holder, if present, is a URL or an object containing an id (a URL).
    if "holder" not in doc:
        return
    holder_path = _join(path, "holder")
    holder = doc["holder"]
    if isinstance(holder, Mapping):
        if "id" not in holder:
            raise StructureError("A holder object must have an id.", path=holder_path)
        _check_url(holder["id"], _join(holder_path, "id"), "The holder id")
    else:
        _check_url(holder, holder_path, "The holder")


def _check_enveloped_credential(node: Mapping[str, Any], path: str) -> None:
    # §4.13.1 Enveloped Verifiable Credentials: @context with the base context, an id that is a
    # data: URL, and the type EnvelopedVerifiableCredential.
    _check_contexts(node, path)
    _check_url(node.get("id"), _join(path, "id"), "The id of an enveloped credential")
    if not str(node["id"]).startswith("data:") or "," not in node["id"]:
        raise StructureError(
            "An enveloped credential's id must be a data: URL.", path=_join(path, "id")
        )


def check_presentation(doc: Any, *, path: str = "") -> None:
    """Raise :class:`StructureError` unless ``doc`` is a structurally valid presentation."""
    presentation = _require_object(doc, path, "A verifiable presentation")
    contexts = _check_contexts(presentation, path)
    _check_optional_id(presentation, path, "the presentation")
    _check_types(presentation, path, contexts, VERIFIABLE_PRESENTATION, "a verifiable presentation")
    _check_holder(presentation, path)
    if "verifiableCredential" in presentation:
        # §4.13: one or more verifiable credential or enveloped credential objects, never
        # strings, numbers or URLs.
        vc_path = _join(path, "verifiableCredential")
        for item, item_path in _items(presentation["verifiableCredential"], vc_path):
            credential = _require_object(item, item_path, "Each verifiableCredential value")
            if ENVELOPED_CREDENTIAL in _values(credential.get("type")):
                _check_enveloped_credential(credential, item_path)
            else:
                check_credential(credential, path=item_path)
    _check_typed_objects(presentation, "termsOfUse", path)
    _check_proofs(presentation, path)
