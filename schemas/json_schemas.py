"""JSON Schema validation against schemas the caller hands in, never fetched.

The validator class follows the schema's own ``$schema`` (draft 2019-09 for the 1EdTech Open
Badges / CLR schemas, 2020-12 for the W3C VC ones); ``$ref`` resolves only within the schema and
the extra ``resources`` given, through a :mod:`referencing` registry whose retrieval refuses
everything else (no network).

    validate(document, schema, resources=())   raises ValidationFailed, with extra["errors"]
    InvalidSchema                                 the schema itself is broken (a caller error)
    UnresolvableReference                         a $ref points outside the documents given

Each error is ``{"path": "credentialSubject.achievement.criteria", "message": ..., "keyword":
...}``; paths are dotted, list indices are numbers, the empty string is the document itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012, specification_with

from schemas.errors import TaitoError, ValidationFailed

MAX_ERRORS = 50


class InvalidSchema(TaitoError):
    """The schema given is not a valid JSON Schema (a deployment or caller error)."""

    code = "invalid_schema"
    status = 500
    title = "JSON Schema is not valid"


class UnresolvableReference(TaitoError):
    """A ``$ref`` that none of the provided documents answers; nothing is fetched."""

    code = "unresolvable_schema_reference"
    status = 500
    title = "JSON Schema reference cannot be resolved"


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def dotted_path(parts: Iterable[Any]) -> str:
    """``["credentialSubject", "result", 1, "type"]`` -> ``credentialSubject.result.1.type``."""
    return ".".join(str(part) for part in parts)


def _registry(schema: Mapping[str, Any], resources: Iterable[Mapping[str, Any]]) -> Registry[Any]:
    dialect = schema.get("$schema")
    specification = (
        specification_with(dialect, default=DRAFT202012)
        if isinstance(dialect, str)
        else DRAFT202012
    )
    pairs = []
    for document in (schema, *resources):
        uri = document.get("$id")
        if isinstance(uri, str) and uri:
            resource = Resource.from_contents(dict(document), default_specification=specification)
            pairs.append((uri, resource))
    registry: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]
    return registry.with_resources(pairs)


def _shorten(text: Any, limit: int) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 3] + "..."


_REQUIRED = re.compile(r"'(?P<name>[^']+)' is a required property")


def _parts(error: ValidationError) -> list[Any]:
    """Where the error is; a missing member is pointed at itself, as the pydantic models do."""
    parts = list(error.absolute_path)
    missing = _REQUIRED.fullmatch(str(error.message)) if error.validator == "required" else None
    if missing:
        parts.append(missing["name"])
    return parts


def _deepest(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, the failing leaf furthest into the document: the branch that came closest.

    A credential whose issuer object has a bad ``type`` fails ``oneOf[string, Profile]``; the
    useful report is ``issuer.type``, not ``issuer``.
    """
    best, depth = error, len(_parts(error))
    stack = list(error.context or ())
    while stack:
        candidate = stack.pop(0)
        if candidate.context:
            stack.extend(candidate.context)
        elif len(_parts(candidate)) > depth:
            best, depth = candidate, len(_parts(candidate))
    return best


def _record(error: ValidationError) -> dict[str, str]:
    leaf = _deepest(error)
    message = _shorten(leaf.message, 200)
    if leaf is not error:
        message += f" (in the {error.validator} branch that came closest)"
    return {
        "path": dotted_path(_parts(leaf)),
        "message": message,
        "keyword": str(leaf.validator),
    }


def schema_errors(
    document: Any,
    schema: Mapping[str, Any],
    *,
    resources: Iterable[Mapping[str, Any]] = (),
    check_formats: bool = False,
) -> list[dict[str, str]]:
    """Every way ``document`` breaks ``schema``, as path/message/keyword records (may be empty)."""
    cls: type[Validator] = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise InvalidSchema(f"The JSON Schema is not valid: {exc.message[:200]}") from exc
    validator = cls(
        schema,
        registry=_registry(schema, resources),
        format_checker=cls.FORMAT_CHECKER if check_formats else None,
    )
    try:
        errors = sorted(
            validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]
        )
    except Unresolvable as exc:
        raise UnresolvableReference(f"Cannot resolve the JSON Schema reference {exc}.") from exc
    return [_record(error) for error in errors[:MAX_ERRORS]]


def validate(
    document: Any,
    schema: Mapping[str, Any],
    *,
    resources: Iterable[Mapping[str, Any]] = (),
    check_formats: bool = False,
) -> None:
    """Raise :class:`ValidationFailed` unless ``document`` is valid against ``schema``."""
    errors = schema_errors(document, schema, resources=resources, check_formats=check_formats)
    if errors:
        title = schema.get("title") or schema.get("$id") or "the JSON Schema"
        raise ValidationFailed(
            f"The document does not match {title}: {errors[0]['path'] or 'document'}: "
            f"{errors[0]['message']}",
            extra={"errors": errors},
        )
