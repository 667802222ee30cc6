"""Canonical forms for Data Integrity: RDFC-1.0 (via pyld) and JCS (RFC 8785, via ``rfc8785``).

Before RDF canonicalisation the document is expanded in "safe mode" (Data Integrity 1.0 §2.4.3
"Securing data losslessly"; VC Data Model 2.0 §4.1): a property no context defines would be
dropped silently by JSON-LD expansion and so left unsigned — we raise ``undefined_term`` instead;
an ``@id`` / ``@type`` / datatype that stays a relative IRI would be dropped by toRdf — we raise
``relative_iri``. pyld's ``on_property_dropped`` hook reports dropped properties; expansion runs
with ``base=None`` so relative references stay relative and are seen (pyld would otherwise resolve
them against ``http://example.org/base/``). The checked expanded form is then canonicalised, so
the document is expanded with its contexts only once.

:func:`rdfc_1_0` first tries :mod:`keys.data_integrity.fast_rdf` (contexts processed once per
static loader, expansion straight to quads, RDFC-1.0 with the first-degree short-cut), which
covers the shapes Taito issues and verifies and is byte-identical to this reference; anything it
does not cover, and every error, goes through :func:`rdfc_1_0_reference` (pyld).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from typing import Any, cast

import rfc8785
from pyld import jsonld

from keys.data_integrity.errors import (
    InvalidDocument,
    InvalidJsonLd,
    ProofUnknownContext,
    RelativeIri,
    UndefinedTerm,
)
from keys.data_integrity.fast_rdf import FastCanonicalizer
from schemas.contexts import DocumentLoader, StaticLoader, UnknownContext
from schemas.errors import TaitoError

# RFC 3986 §3.1: scheme ":" ...; blank node identifiers are "_:" (JSON-LD 1.1 §3.3)
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_PLAIN_TERM = re.compile(r"^[^:/#?]*$")
_PYLD_FAILURES = (
    jsonld.JsonLdError,
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
)


def _is_absolute(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("_:") or bool(_ABSOLUTE_IRI.match(value)))


def _translate(exc: BaseException) -> TaitoError:
    """Turn a pyld failure into our typed error, looking through its chain of causes."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, UnknownContext):
            return ProofUnknownContext(cause.detail, extra=cause.extra)
        if isinstance(cause, TaitoError):
            return cause
        cause = cause.__cause__ or cause.__context__
    code = getattr(exc, "code", None)
    detail = f"JSON-LD processing failed: {code or type(exc).__name__}"
    return InvalidJsonLd(detail, extra={"jsonld_code": str(code)} if code else None)


def _check_iris(node: Any, path: str) -> None:
    """Every @id, @type and datatype in expanded JSON-LD must be absolute (or a blank node)."""
    stack: list[tuple[Any, str]] = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
            continue
        if not isinstance(value, dict):
            continue
        if "@id" in value and not _is_absolute(value["@id"]):
            raise RelativeIri(
                f"The identifier {str(value['@id'])[:100]!r} at {where} is a relative IRI.",
                extra={"path": where},
            )
        types = value.get("@type", [])
        for item in types if isinstance(types, list) else [types]:
            if item != "@json" and not _is_absolute(item):
                raise RelativeIri(
                    f"The type {str(item)[:100]!r} at {where} is not defined by "
                    "any context (a relative IRI).",
                    extra={"path": where},
                )
        for key, member in value.items():
            if key not in ("@value", "@id", "@type", "@language", "@direction", "@index"):
                stack.append((member, f"{where}/{key}"))


def expand(document: Mapping[str, Any], loader: DocumentLoader) -> list[Any]:
    """JSON-LD expansion that refuses to lose data (undefined terms, relative IRIs)."""
    dropped: list[str | None] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append)
    try:
        expanded = processor.expand(dict(document), {"documentLoader": loader, "base": None})
    except _PYLD_FAILURES as exc:
        raise _translate(exc) from exc
    for term in dropped:
        if term is None or _PLAIN_TERM.match(term):
            raise UndefinedTerm(
                f"The term {term!r} is not defined by the document's contexts.",
                extra={"term": term},
            )
        raise RelativeIri(
            f"The property {term[:100]!r} expands to a relative IRI.", extra={"term": term}
        )
    _check_iris(expanded, "")
    return cast(list[Any], expanded)


_FAST: weakref.WeakKeyDictionary[StaticLoader, FastCanonicalizer] = weakref.WeakKeyDictionary()


def fast_canonicalizer(loader: StaticLoader) -> FastCanonicalizer:
    """The fast canonicaliser of a static loader (its contexts never change), made once."""
    fast = _FAST.get(loader)
    if fast is None:
        fast = _FAST.setdefault(loader, FastCanonicalizer(loader))
    return fast


def rdfc_1_0(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    """RDF Dataset Canonicalization 1.0 as UTF-8 N-Quads: the fast path, else the reference."""
    if isinstance(loader, StaticLoader):
        canonical = fast_canonicalizer(loader).canonicalize(document)
        if canonical is not None:
            return canonical
    return rdfc_1_0_reference(document, loader)


def rdfc_1_0_reference(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    """RDF Dataset Canonicalization 1.0 (pyld URDNA2015 == RDFC-1.0) as UTF-8 N-Quads."""
    expanded = expand(document, loader)
    try:
        nquads = jsonld.normalize(
            expanded,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": loader,
                "base": None,
            },
        )
    except _PYLD_FAILURES as exc:
        raise _translate(exc) from exc
    return cast(str, nquads).encode("utf-8")


def jcs(document: Mapping[str, Any]) -> bytes:
    """JSON Canonicalization Scheme, RFC 8785."""
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidDocument(f"The document has no JCS form: {exc}"[:200]) from exc
