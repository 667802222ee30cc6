"""Digital Credentials Query Language (OpenID4VP 1.0 §6) and claims path pointers (§7).

One model for both sides: the verifier parses the query it sends and checks what comes back
against it; the wallet matches the same query against the credentials it holds and learns which
claims to disclose. Matching is pure: credentials come in as plain JSON (the SD-JWT VC's
processed claims, the W3C credential document) with their format and types.

::

    TaitoError
    └── InvalidDcqlQuery    invalid_dcql_query   422  the query breaks a rule of §6
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import TaitoError

FORMATS = ("dc+sd-jwt", "ldp_vc", "jwt_vc_json")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # §6.1: alphanumeric, underscore or hyphen
MAX_CREDENTIAL_QUERIES = 20
MAX_CLAIMS = 100
MAX_PATH = 16

PathElement = str | int | None


class InvalidDcqlQuery(TaitoError):
    code = "invalid_dcql_query"
    status = 422
    title = "The DCQL query is not valid"


@dataclass(frozen=True)
class ClaimQuery:
    """§6.3: a claim by its path, optionally with the values it must hold."""

    path: tuple[PathElement, ...]
    id: str | None = None
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class CredentialQuery:
    """§6.1: one credential wanted, of one format, with type constraints (``meta``)."""

    id: str
    format: str
    meta: Mapping[str, Any]
    claims: tuple[ClaimQuery, ...] = ()
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    multiple: bool = False
    require_cryptographic_holder_binding: bool = True

    @property
    def vct_values(self) -> tuple[str, ...] | None:
        values = self.meta.get("vct_values")
        return tuple(values) if values is not None else None

    @property
    def type_values(self) -> tuple[tuple[str, ...], ...] | None:
        values = self.meta.get("type_values")
        return tuple(tuple(v) for v in values) if values is not None else None


@dataclass(frozen=True)
class CredentialSetQuery:
    """§6.2: the credential ids of which one option must be given (when required)."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True)
class DcqlQuery:
    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None

    def credential(self, query_id: str) -> CredentialQuery | None:
        return next((c for c in self.credentials if c.id == query_id), None)


def _fail(path: str, message: str) -> InvalidDcqlQuery:
    return InvalidDcqlQuery(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message}]}
    )


def _strings(value: Any, path: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, "must be an array of strings")
    if not value and not allow_empty:
        raise _fail(path, "must not be empty")
    return tuple(value)


def _path(value: Any, where: str) -> tuple[PathElement, ...]:
    """§7: a non-empty array of strings, non-negative integers and nulls."""
    if not isinstance(value, list) or not value or len(value) > MAX_PATH:
        raise _fail(where, f"must be a non-empty array of at most {MAX_PATH} elements")
    for element in value:
        if isinstance(element, bool) or not (
            element is None
            or isinstance(element, str)
            or (isinstance(element, int) and element >= 0)
        ):
            raise _fail(where, "elements are strings, non-negative integers or null")
    return tuple(value)


def _claim(value: Any, where: str) -> ClaimQuery:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    unknown = set(value) - {"id", "path", "values"}
    if unknown:
        raise _fail(where, f"unknown member {sorted(unknown)[0]!r}")
    claim_id = value.get("id")
    if claim_id is not None and (not isinstance(claim_id, str) or not _ID.match(claim_id)):
        raise _fail(f"{where}.id", "must be alphanumeric, '_' or '-'")
    values = value.get("values")
    if values is not None:
        if not isinstance(values, list) or not values:
            raise _fail(f"{where}.values", "must be a non-empty array")
        if any(isinstance(v, float) or not isinstance(v, str | int | bool) for v in values):
            raise _fail(f"{where}.values", "values are strings, integers or booleans")
    return ClaimQuery(
        _path(value.get("path"), f"{where}.path"),
        claim_id,
        tuple(values) if values is not None else None,
    )


def _meta(fmt: str, value: Any, where: str) -> dict[str, Any]:
    """§6.1 ``meta`` with the format's members (Appendix B.1.1 type_values, B.3.5 vct_values)."""
    if not isinstance(value, dict):
        raise _fail(where, "is required and must be an object")
    if fmt == "dc+sd-jwt" and "vct_values" in value:
        _strings(value["vct_values"], f"{where}.vct_values")
    if fmt in ("ldp_vc", "jwt_vc_json"):
        types = value.get("type_values")
        if not isinstance(types, list) or not types:
            raise _fail(f"{where}.type_values", "is required: a non-empty array of arrays")
        for i, option in enumerate(types):
            _strings(option, f"{where}.type_values[{i}]")
    return dict(value)


def _credential(value: Any, where: str) -> CredentialQuery:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    query_id = value.get("id")
    if not isinstance(query_id, str) or not _ID.match(query_id):
        raise _fail(f"{where}.id", "must be alphanumeric, '_' or '-'")
    if "trusted_authorities" in value:  # §6.1.1: refused rather than silently ignored
        raise _fail(f"{where}.trusted_authorities", "is not supported by this verifier")
    fmt = value.get("format")
    if fmt not in FORMATS:
        raise _fail(f"{where}.format", f"must be one of {', '.join(FORMATS)}")
    claims_value = value.get("claims")
    claims: tuple[ClaimQuery, ...] = ()
    if claims_value is not None:
        if not isinstance(claims_value, list) or not claims_value or len(claims_value) > MAX_CLAIMS:
            raise _fail(f"{where}.claims", "must be a non-empty array")
        claims = tuple(_claim(c, f"{where}.claims[{i}]") for i, c in enumerate(claims_value))
    ids = [c.id for c in claims if c.id is not None]
    if len(ids) != len(set(ids)):
        raise _fail(f"{where}.claims", "claim ids must be unique")
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    if "claim_sets" in value:
        if not claims:
            raise _fail(f"{where}.claim_sets", "needs claims")
        if len(ids) != len(claims):
            raise _fail(f"{where}.claims", "every claim needs an id when claim_sets is used")
        sets = value["claim_sets"]
        if not isinstance(sets, list) or not sets:
            raise _fail(f"{where}.claim_sets", "must be a non-empty array")
        claim_sets = tuple(_strings(s, f"{where}.claim_sets[{i}]") for i, s in enumerate(sets))
        for option in claim_sets:
            if set(option) - set(ids):
                raise _fail(f"{where}.claim_sets", "names a claim id that is not defined")
    for flag in ("multiple", "require_cryptographic_holder_binding"):
        if flag in value and not isinstance(value[flag], bool):
            raise _fail(f"{where}.{flag}", "must be a boolean")
    return CredentialQuery(
        query_id,
        fmt,
        _meta(fmt, value.get("meta"), f"{where}.meta"),
        claims,
        claim_sets,
        bool(value.get("multiple", False)),
        bool(value.get("require_cryptographic_holder_binding", True)),
    )


def parse_query(value: Any) -> DcqlQuery:
    """Parse and check a DCQL query (§6); raises :class:`InvalidDcqlQuery` naming the member."""
    if not isinstance(value, dict):
        raise _fail("dcql_query", "must be an object")
    unknown = set(value) - {"credentials", "credential_sets"}
    if unknown:
        raise _fail("dcql_query", f"unknown member {sorted(unknown)[0]!r}")
    items = value.get("credentials")
    if not isinstance(items, list) or not items or len(items) > MAX_CREDENTIAL_QUERIES:
        raise _fail("dcql_query.credentials", "must be a non-empty array")
    credentials = tuple(_credential(c, f"dcql_query.credentials[{i}]") for i, c in enumerate(items))
    ids = [c.id for c in credentials]
    if len(ids) != len(set(ids)):
        raise _fail("dcql_query.credentials", "credential query ids must be unique")
    sets: tuple[CredentialSetQuery, ...] | None = None
    if "credential_sets" in value:
        raw = value["credential_sets"]
        if not isinstance(raw, list) or not raw:
            raise _fail("dcql_query.credential_sets", "must be a non-empty array")
        parsed = []
        for i, entry in enumerate(raw):
            where = f"dcql_query.credential_sets[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("options"), list):
                raise _fail(where, "must be an object with options")
            options = tuple(
                _strings(o, f"{where}.options[{j}]") for j, o in enumerate(entry["options"])
            )
            if not options or any(set(o) - set(ids) for o in options):
                raise _fail(f"{where}.options", "must name defined credential query ids")
            required = entry.get("required", True)
            if not isinstance(required, bool):
                raise _fail(f"{where}.required", "must be a boolean")
            parsed.append(CredentialSetQuery(options, required))
        sets = tuple(parsed)
    return DcqlQuery(credentials, sets)


# --- claims path pointers (§7) -------------------------------------------------------------------


class _NoMatch(Exception):
    pass


def select(document: Any, path: Sequence[PathElement]) -> list[Any]:
    """§7.1: the elements a claims path pointer selects; an empty list when nothing matches."""
    selected = [document]
    for element in path:
        following: list[Any] = []
        for node in selected:
            if isinstance(element, str):
                if isinstance(node, Mapping) and element in node:
                    following.append(node[element])
            elif element is None:
                if isinstance(node, list):
                    following.extend(node)
            elif isinstance(node, list) and element < len(node):
                following.append(node[element])
        selected = following
        if not selected:
            return []
    return selected


def _claim_matches(document: Any, claim: ClaimQuery) -> bool:
    selected = select(document, claim.path)
    if not selected:
        return False
    if claim.values is None:
        return True
    return any(
        type(value) is type(wanted) and value == wanted
        for value in selected
        for wanted in claim.values
    )


@dataclass(frozen=True)
class Match:
    """A credential that answers a credential query, and the claims to disclose from it."""

    query_id: str
    claims: tuple[tuple[PathElement, ...], ...] = field(default_factory=tuple)
    all_claims: bool = False  # the query names no claims: the whole credential is asked for


def match(
    query: CredentialQuery, fmt: str, document: Mapping[str, Any], types: Iterable[str]
) -> Match | None:
    """Does a credential of ``fmt`` with these ``types`` and ``document`` answer ``query``?

    ``types`` are the ``vct`` (SD-JWT VC) or the credential's types (W3C: expanded IRIs for
    ``ldp_vc``, the ``type`` values for ``jwt_vc_json``; Appendix B.1.1).
    """
    if fmt != query.format:
        return None
    have = set(types)
    if query.vct_values is not None and not have & set(query.vct_values):
        return None
    if query.type_values is not None and not any(set(o) <= have for o in query.type_values):
        return None
    if not query.claims:
        return Match(query.id, all_claims=True)
    if query.claim_sets is None:
        if all(_claim_matches(document, c) for c in query.claims):
            return Match(query.id, tuple(c.path for c in query.claims))
        return None
    by_id = {c.id: c for c in query.claims}
    for option in query.claim_sets:  # §6.4.1: the first option that matches, in order
        chosen = [by_id[i] for i in option]
        if all(_claim_matches(document, c) for c in chosen):
            return Match(query.id, tuple(c.path for c in chosen))
    return None


def satisfied(query: DcqlQuery, answered: Iterable[str]) -> bool:
    """§6.4.2: are the required credential queries (or credential set options) answered?"""
    present = set(answered)
    if query.credential_sets is None:
        return all(c.id in present for c in query.credentials)
    return all(
        any(set(option) <= present for option in credential_set.options)
        for credential_set in query.credential_sets
        if credential_set.required
    )


def pointer(path: Sequence[PathElement]) -> str:
    """A claims path as a JSON Pointer (RFC 6901) for SD-JWT disclosure; ``null`` has none."""
    if any(p is None for p in path):
        raise _fail("path", "a path with null (all array elements) has no single JSON Pointer")
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
