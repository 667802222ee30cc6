"""A fast RDFC-1.0 canonicaliser for the JSON-LD credential shapes Taito issues and verifies.

The reference path (:func:`keys.data_integrity.canonicalization.rdfc_1_0_reference`) runs pyld's
JSON-LD expansion, toRdf and URDNA2015 (= RDFC-1.0) on every call; almost all of its time goes to
processing the large Open Badges / VC contexts again and again. This module produces the same bytes
by doing the work that depends only on the contexts once:

1. **Contexts once.** Active contexts are computed by pyld's own context processing (JSON-LD 1.1
   API §4.1) the first time a context list, a property-scoped or a type-scoped context is met, and
   kept: each active context remembers the contexts derived from it and the IRIs its terms expand
   to (§4.2 IRI Expansion).
2. **Expansion straight to quads.** The document is walked as the Expansion Algorithm (§5.1.2)
   walks it — type-scoped contexts applied in lexicographical order of the types, reverted on
   entering a nested node object unless it is a subject reference, property-scoped contexts
   applied with override of protected terms — and each node object yields its quads directly, as
   Node Map Generation (§7.2) and Deserialize JSON-LD to RDF (§8.1, §8.6 Object to RDF) would:
   duplicate values of one subject and property are merged with pyld's equality of values.
3. **Canonical labels.** RDFC-1.0 §4.4 on quads held as N-Quads terms (tuples of strings): the
   first-degree hash (§4.6) of every blank node; nodes with a unique hash get their canonical
   identifiers in order of hash (§4.4.3 step 5), which for most credentials is all of them; the
   others go through Hash N-Degree Quads (§4.8) as the specification (and pyld) orders it — an
   issued credential names its institution twice (issuer and achievement creator), so its two
   identical ``address`` nodes need it. (pyoxigraph 0.5's RDFC-1.0 labels such graphs differently
   from pyld, e.g. the endorsements of the OB 3.0 "complete" example, so it is not used.)

**Covered subset** (anything else makes :meth:`FastCanonicalizer.canonicalize` return ``None``
and the caller runs the reference path, which also produces every error):

- ``@context`` given as one URL or a list of URLs the :class:`~schemas.contexts.StaticLoader`
  holds, at the top or on nested node objects (inline context objects are not covered);
- node objects whose keys are ``@id`` / ``@type`` or their aliases, or terms, compact IRIs and
  absolute IRIs that expand to absolute IRIs (an undefined term falls back, so safe mode raises);
- term definitions with ``@id``, ``@type`` (``@id``, ``@vocab``, ``@none`` or an absolute datatype
  IRI), ``@container`` absent, ``@set`` or ``@graph`` (graph objects, as ``proof`` and
  ``verifiableCredential`` in VC 2.0), property- and type-scoped contexts;
- values: strings, booleans, integers, finite floats, ``null`` (dropped), node objects, and
  arrays of these (not nested arrays);
- no default ``@language`` or ``@direction`` for a string, no ``@list``, ``@json``, ``@nest``,
  ``@reverse``, ``@included``, ``@index`` / ``@language`` / ``@id`` / ``@type`` maps, no value
  objects written in the document, no ``@graph`` key, no relative or whitespace-bearing IRI.

Byte-equality with pyld is tested on every conformance vector and on hypothesis-generated
credentials (``tests/keys/test_canonicalization_fast.py``).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from keys.data_integrity.errors import CanonicalizationTooComplex
from schemas.contexts import StaticLoader

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_BOOLEAN = XSD + "boolean"
XSD_INTEGER = XSD + "integer"
XSD_DOUBLE = XSD + "double"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = "<" + RDF + "type>"
RDF_LANGSTRING = RDF + "langString"
RDF_FIRST = "<" + RDF + "first>"
RDF_REST = "<" + RDF + "rest>"
RDF_NIL = "<" + RDF + "nil>"

# RFC 3986 §3.1 scheme, as the safe-mode check of the reference path wants it ...
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# ... and pyld's test of an absolute IRI (toRdf drops a triple whose IRI fails it)
_PYLD_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
_KEYWORDS = frozenset(jsonld.KEYWORDS)
_TYPE_KEYWORDS = ("@id", "@vocab", "@none")
_SUPPORTED_CONTAINERS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"@set"}),
    frozenset({"@graph"}),
    frozenset({"@list"}),
)
_EXPONENT = re.compile(r"(\d)0*E\+?(-)?0*(\d)")
_MAX_CONTEXTS = 4096  # derived active contexts kept per canonicaliser before the cache resets
_MAX_IRIS = 20000  # expanded strings remembered per active context


Quad = tuple[str, str, str, str]  # subject, predicate, object, graph ("" = default) as N-Quads


class _Unsupported(Exception):
    """The document leaves the covered subset: use the reference path."""


def _iri_ok(value: str) -> bool:
    """Absolute for both the reference's safe-mode check and pyld's toRdf (or a blank node)."""
    return bool(_PYLD_ABSOLUTE.match(value)) and (
        value.startswith("_:") or bool(_SCHEME.match(value))
    )


# N-Quads string escapes as RDFC-1.0 §4.3 (and pyld) write them; nothing else is escaped
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"'})


def _escape(value: str) -> str:
    return value.translate(_ESCAPES)


def canonical_double(value: float) -> str:
    """The canonical lexical form of an ``xsd:double`` (JSON-LD 1.1 API §8.6 step 10)."""
    return _EXPONENT.sub(r"\1E\2\3", f"{value:1.15E}")


class _Ctx:
    """One pyld active context plus what has been derived from it."""

    __slots__ = ("derived", "iris", "raw", "terms", "vocab_iris")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.iris: dict[str, str | None] = {}
        self.vocab_iris: dict[str, str | None] = {}
        self.terms: dict[str, tuple[Any, ...]] = {}
        self.derived: dict[Any, tuple[Any, _Ctx]] = {}


class _Walk:
    """The state of one document: its quads and blank node labels."""

    __slots__ = ("bnodes", "count", "quads", "seen")

    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self.seen: set[tuple[Any, ...]] = set()
        self.bnodes: dict[str, str] = {}
        self.count = 0

    def new_bnode(self) -> str:
        self.count += 1
        return f"_:b{self.count}"

    def label(self, iri: str) -> str:
        """The N-Quads term of an absolute IRI or document blank node identifier."""
        if iri.startswith("_:"):
            label = self.bnodes.get(iri)
            if label is None:
                label = self.bnodes[iri] = self.new_bnode()
            return label
        return "<" + iri + ">"

    def add(self, subject: str, predicate: str, obj: str, graph: str, key: Any) -> None:
        # Node Map Generation (JSON-LD 1.1 API §7.2) keeps one of equal values per property
        marker = (graph, subject, predicate, key)
        if marker not in self.seen:
            self.seen.add(marker)
            self.quads.append((subject, predicate, obj, graph))


class FastCanonicalizer:
    """RDFC-1.0 of covered documents under one static loader; ``None`` for anything else."""

    def __init__(self, loader: StaticLoader) -> None:
        self._loader = loader
        self._lock = threading.RLock()
        self._processor = jsonld.JsonLdProcessor()
        self._reset()

    def _reset(self) -> None:
        self._options: dict[str, Any] = {
            "documentLoader": self._loader,
            "base": None,
            "processingMode": "json-ld-1.1",
            "isFrame": False,
            "keepFreeFloatingNodes": False,
            "contextResolver": ContextResolver(_resolved_cache(), cast(Any, self._loader)),
        }
        self._by_id: dict[int, _Ctx] = {}
        self._initial = self._wrap(self._processor._get_initial_context(self._options))

    # ------------------------------------------------------------------------ active contexts

    def _wrap(self, raw: dict[str, Any]) -> _Ctx:
        ctx = self._by_id.get(id(raw))
        if ctx is None or ctx.raw is not raw:
            ctx = self._by_id[id(raw)] = _Ctx(raw)
        return ctx

    def _derive(
        self, ctx: _Ctx, local: Any, key: Any, *, override: bool = False, propagate: bool = True
    ) -> _Ctx:
        """Context Processing (JSON-LD 1.1 API §4.1) of ``local`` on ``ctx``, once."""
        marker = (key, override, propagate)
        found = ctx.derived.get(marker)
        if found is not None and found[0] is local:
            return found[1]
        with self._lock:
            if len(self._by_id) > _MAX_CONTEXTS:
                self._reset()
                raise _Unsupported("context cache reset")
            try:
                raw = self._processor._process_context(
                    ctx.raw,
                    local,
                    self._options,
                    override_protected=override,
                    propagate=propagate,
                )
            except Exception as exc:  # the reference path reports it as a typed error
                raise _Unsupported(str(exc)) from exc
            derived = self._wrap(raw)
            ctx.derived[marker] = (local, derived)
            return derived

    def _previous(self, ctx: _Ctx) -> _Ctx:
        previous = ctx.raw.get("previousContext")
        return ctx if previous is None else self._wrap(previous)

    def _embedded(self, ctx: _Ctx, local: Any) -> _Ctx:
        if isinstance(local, str):
            key: tuple[str, ...] = (local,)
        elif isinstance(local, list) and all(isinstance(item, str) for item in local):
            key = tuple(local)
        else:
            raise _Unsupported("inline context")
        marker = ("embedded", key)
        found = ctx.derived.get(marker)
        if found is not None:
            return found[1]
        derived = self._derive(ctx, list(key), marker)
        ctx.derived[marker] = (None, derived)
        return derived

    def _iri(self, ctx: _Ctx, value: str, *, vocab: bool) -> str | None:
        """IRI Expansion (JSON-LD 1.1 API §4.2) without a base, remembered per context."""
        memo = ctx.vocab_iris if vocab else ctx.iris
        try:
            return memo[value]
        except KeyError:
            pass
        result = self._processor._expand_iri(ctx.raw, value, base=None, vocab=vocab)
        if len(memo) < _MAX_IRIS:
            memo[value] = result
        return cast("str | None", result)

    def _term(self, ctx: _Ctx, key: str) -> tuple[Any, ...]:
        """(scoped context, container, type) of a term, checked against the covered subset."""
        found = ctx.terms.get(key)
        if found is not None:
            return found
        raw = ctx.raw
        mapping = raw["mappings"].get(key)
        if key in raw["mappings"] and mapping is None:
            raise _Unsupported("null term")
        mapping = mapping or {}
        if mapping.get("reverse"):
            raise _Unsupported("reverse property")
        container = frozenset(jsonld.JsonLdProcessor.arrayify(mapping.get("@container", [])))
        if container not in _SUPPORTED_CONTAINERS:
            raise _Unsupported(f"container {sorted(container)}")
        type_ = mapping.get("@type")
        language = mapping["@language"] if "@language" in mapping else raw.get("@language")
        direction = mapping["@direction"] if "@direction" in mapping else raw.get("@direction")
        if isinstance(type_, str) and type_.startswith("@") and type_ not in _TYPE_KEYWORDS:
            raise _Unsupported(f"term type {type_}")
        datatype = type_ if type_ is not None and type_ not in _TYPE_KEYWORDS else None
        if datatype is not None and (
            not _iri_ok(datatype) or datatype.startswith("_:") or datatype == RDF_LANGSTRING
        ):
            raise _Unsupported("datatype")
        text_tagged = datatype is None and (language is not None or direction is not None)
        found = (
            mapping.get("@context"),
            "@graph" in container,
            type_,
            datatype,
            text_tagged,
            "@list" in container,
        )
        if len(ctx.terms) < _MAX_IRIS:
            ctx.terms[key] = found
        return found

    # ------------------------------------------------------------------------------ the walk

    def _node(
        self,
        ctx: _Ctx,
        active_property: str | None,
        element: dict[str, Any],
        graph: str,
        walk: _Walk,
    ) -> str:
        """Expand one node object (JSON-LD 1.1 API §5.1.2) and emit its quads; its N-Quads id."""
        property_scoped = (
            self._term(ctx, active_property)[0] if active_property is not None else None
        )
        # §5.1.2 step 7: revert a type-scoped context unless this is a subject reference
        must_revert = True
        if ctx.raw.get("previousContext") and len(element) <= 2 and "@context" not in element:
            for key in sorted(element):
                expanded = self._iri(ctx, key, vocab=True)
                if expanded == "@value":
                    raise _Unsupported("value object")
                if expanded == "@id" and len(element) == 1:
                    must_revert = False
                    break
        if must_revert:
            ctx = self._previous(ctx)
        # step 8: property-scoped context, overriding protected terms
        if property_scoped is not None:
            ctx = self._derive(
                ctx, property_scoped, ("property", id(property_scoped)), override=True
            )
        # steps 9-11: embedded context, then type-scoped contexts in order of the types
        if "@context" in element:
            ctx = self._embedded(ctx, element["@context"])
        type_scoped = ctx
        keys = sorted(element)
        for key in keys:
            if self._iri(ctx, key, vocab=True) != "@type":
                continue
            values = element[key]
            values = values if isinstance(values, list) else [values]
            for type_ in sorted(v for v in values if isinstance(v, str)):
                scoped = (
                    self._term(type_scoped, type_)[0]
                    if type_ in type_scoped.raw["mappings"]
                    else None
                )
                if scoped is not None and scoped is not False:
                    ctx = self._derive(ctx, scoped, ("type", id(scoped)), propagate=False)

        # steps 12-13 over the keys, then Node Map Generation for this node
        subject: str | None = None
        types: list[str] = []
        properties: list[tuple[str, str, Any]] = []
        for key in keys:
            if key == "@context":
                continue
            expanded = self._iri(ctx, key, vocab=True)
            if expanded is None:
                raise _Unsupported("undefined term")
            if expanded in _KEYWORDS:
                value = element[key]
                if expanded == "@id":
                    if subject is not None or not isinstance(value, str):
                        raise _Unsupported("@id")
                    iri = self._iri(ctx, value, vocab=False)
                    if iri is None or not _iri_ok(iri):
                        raise _Unsupported("relative @id")
                    subject = iri
                elif expanded == "@type":
                    values = value if isinstance(value, list) else [value]
                    for item in values:
                        if not isinstance(item, str):
                            raise _Unsupported("@type value")
                        iri = self._iri(type_scoped, item, vocab=True)
                        if iri is None or not _iri_ok(iri):
                            raise _Unsupported("relative @type")
                        types.append(iri)
                else:
                    raise _Unsupported(f"keyword {expanded}")
                continue
            if not _PYLD_ABSOLUTE.match(expanded) or expanded.startswith("_:"):
                raise _Unsupported("relative or blank node property")
            properties.append((key, expanded, element[key]))

        node = walk.label(subject) if subject is not None else walk.new_bnode()
        for type_ in types:
            walk.add(node, RDF_TYPE, walk.label(type_), graph, ("@type", type_))
        for key, expanded, value in properties:
            self._property(ctx, node, key, "<" + expanded + ">", value, graph, walk)
        return node

    def _property(
        self,
        ctx: _Ctx,
        node: str,
        key: str,
        predicate: str,
        value: Any,
        graph: str,
        walk: _Walk,
    ) -> None:
        scoped, graph_container, _, _, _, is_list = self._term(ctx, key)
        term_ctx = ctx
        if scoped is not None:
            term_ctx = self._derive(
                ctx, scoped, ("property", id(scoped)), override=True, propagate=True
            )
        items = value if isinstance(value, list) else [value]
        if is_list:
            self._list(term_ctx, node, key, predicate, items, graph, walk)
            return
        for item in items:
            if item is None:
                continue
            if isinstance(item, dict):
                if graph_container:
                    # §5.1.2 step 13.12 wraps it in a graph object; §7.2 names that graph with
                    # a fresh blank node, which the property points at
                    name = walk.new_bnode()
                    walk.add(node, predicate, name, graph, ("@id", name))
                    self._node(term_ctx, key, item, name, walk)
                else:
                    child = self._node(term_ctx, key, item, graph, walk)
                    walk.add(node, predicate, child, graph, ("@id", child))
            elif isinstance(item, list):
                raise _Unsupported("nested array")
            elif graph_container:
                raise _Unsupported("scalar in a graph container")
            else:
                obj, marker = self._value(term_ctx, key, item, walk)
                walk.add(node, predicate, obj, graph, marker)

    def _list(
        self,
        ctx: _Ctx,
        node: str,
        key: str,
        predicate: str,
        items: list[Any],
        graph: str,
        walk: _Walk,
    ) -> None:
        """A ``@list`` container: an RDF collection (JSON-LD 1.1 API §8.4 List to RDF)."""
        objects = []
        for item in items:
            if item is None:
                continue
            if isinstance(item, dict):
                objects.append(self._node(ctx, key, item, graph, walk))
            elif isinstance(item, list):
                raise _Unsupported("list of lists")
            else:
                objects.append(self._value(ctx, key, item, walk)[0])
        head = walk.new_bnode() if objects else RDF_NIL
        walk.add(node, predicate, head, graph, ("@list", walk.new_bnode()))  # never merged
        cell = head
        for i, obj in enumerate(objects):
            rest = walk.new_bnode() if i + 1 < len(objects) else RDF_NIL
            walk.add(cell, RDF_FIRST, obj, graph, None)
            walk.add(cell, RDF_REST, rest, graph, None)
            cell = rest

    def _value(self, ctx: _Ctx, key: str, value: Any, walk: _Walk) -> tuple[str, Any]:
        """Value Expansion (§5.3.2) then Object to RDF (§8.6): the N-Quads object and its key."""
        if self._iri(ctx, key, vocab=True) in _KEYWORDS:
            raise _Unsupported("keyword value")
        _, _, type_, datatype, text_tagged, _ = self._term(ctx, key)
        if isinstance(value, str) and type_ in ("@id", "@vocab"):
            iri = self._iri(ctx, value, vocab=type_ == "@vocab")
            if iri is None or not _iri_ok(iri):
                raise _Unsupported("relative IRI value")
            # keyed by its N-Quads term, as a node object's reference is: the same node named
            # by an IRI string here and by a nested node object elsewhere is one value (§7.2)
            term = walk.label(iri)
            return term, ("@id", term)
        if isinstance(value, str) and text_tagged:
            raise _Unsupported("language or direction")
        marker = ("@value", datatype, isinstance(value, bool), value)
        if isinstance(value, bool):
            lexical, default = ("true" if value else "false"), XSD_BOOLEAN
        elif isinstance(value, float) and not math.isfinite(value):
            raise _Unsupported("non-finite number")
        elif isinstance(value, float) and not value.is_integer():
            lexical, default = canonical_double(value), XSD_DOUBLE
        elif datatype == XSD_DOUBLE:
            try:
                number = float(value)
            except (ValueError, TypeError):
                lexical = value
            else:
                if not math.isfinite(number):
                    raise _Unsupported("non-finite number")
                lexical = canonical_double(number)
            default = XSD_DOUBLE
        elif isinstance(value, int | float) and abs(value) >= 1e21:
            lexical, default = canonical_double(float(value)), XSD_DOUBLE
        elif isinstance(value, int | float):
            lexical, default = str(int(value)), XSD_INTEGER
        elif isinstance(value, str):
            lexical, default = value, XSD_STRING
        else:
            raise _Unsupported(f"a {type(value).__name__} value")
        datatype = datatype or default
        literal = '"' + _escape(lexical) + '"'
        if datatype != XSD_STRING:
            literal += "^^<" + datatype + ">"
        return literal, marker

    # -------------------------------------------------------------------------------- public

    def quads(self, document: Mapping[str, Any]) -> list[Quad] | None:
        """The document's RDF quads as N-Quads terms (blank nodes ``_:bN``), or ``None``."""
        if not isinstance(document, Mapping):
            return None
        walk = _Walk()
        try:
            self._node(self._initial, None, dict(document), "", walk)
        except (_Unsupported, RecursionError):
            return None
        return walk.quads

    def canonicalize(self, document: Mapping[str, Any]) -> bytes | None:
        """RDFC-1.0 canonical N-Quads of ``document``, or ``None`` when it is not covered."""
        quads = self.quads(document)
        if quads is None:
            return None
        return canonical_nquads(quads)


def _line(quad: tuple[str, str, str, str]) -> str:
    subject, predicate, obj, graph = quad
    if graph:
        return f"{subject} {predicate} {obj} {graph} .\n"
    return f"{subject} {predicate} {obj} .\n"


def _first_degree(quad: tuple[str, str, str, str], bnode: str) -> tuple[str, str, str, str]:
    subject, predicate, obj, graph = quad
    return (
        ("_:a" if subject == bnode else "_:z") if subject.startswith("_:") else subject,
        predicate,
        ("_:a" if obj == bnode else "_:z") if obj.startswith("_:") else obj,
        ("_:a" if graph == bnode else "_:z") if graph.startswith("_:") else graph,
    )


class _IdentifierIssuer:
    """RDFC-1.0 §4.5 Issue Identifier: ``prefix`` + counter, in order of issue."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = dict(issued) if issued else {}

    def issue(self, bnode: str) -> str:
        found = self.issued.get(bnode)
        if found is None:
            found = self.issued[bnode] = f"{self.prefix}{len(self.issued)}"
        return found

    def copy(self) -> _IdentifierIssuer:
        return _IdentifierIssuer(self.prefix, self.issued)


def _permutations(elements: list[str]) -> Iterator[tuple[str, ...]]:
    """Permutations by Steinhaus-Johnson-Trotter from the sorted list, one direction per value.

    The order pyld enumerates them in; a node listed twice (related through two quads of the same
    hash) counts once as a mobile value, so repeats do not multiply the permutations.
    """
    items = sorted(elements)
    facing_left = dict.fromkeys(items, True)
    last = len(items) - 1
    while True:
        yield tuple(items)
        mobile: str | None = None
        at = 0
        for i, item in enumerate(items):
            looking_at = i - 1 if facing_left[item] else i + 1
            if (
                (mobile is None or item > mobile)
                and 0 <= looking_at <= last
                and item > items[looking_at]
            ):
                mobile, at = item, i
        if mobile is None:
            return
        other = at - 1 if facing_left[mobile] else at + 1
        items[at], items[other] = items[other], mobile
        for item in items:
            if item > mobile:
                facing_left[item] = not facing_left[item]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# RDFC-1.0 Security Considerations (Dataset Poisoning): Hash N-Degree Quads is exponential in the
# number of alike blank nodes, so the work is bounded: orderings tried plus recursive calls, per
# document. An issued credential needs a handful (its institution named twice: 2); a graph of
# eight interchangeable nodes alone needs 8! = 40,320. Over the limit the document is refused
# (not handed to pyld, which has no limit).
MAX_N_DEGREE_STEPS = 5_000


class _Canonicalization:
    """The RDFC-1.0 canonicalization state (§4.4.2) of one dataset."""

    def __init__(self, quads: list[Quad]) -> None:
        self.steps = 0
        self.mentions: dict[str, list[Quad]] = {}
        for quad in quads:
            subject, _, obj, graph = quad
            for term in (subject, obj, graph):  # a quad naming a node twice is listed twice
                if term.startswith("_:"):
                    self.mentions.setdefault(term, []).append(quad)
        self.canonical = _IdentifierIssuer("_:c14n")
        self.first_degree = {
            bnode: _sha256("".join(sorted(_line(_first_degree(q, bnode)) for q in related)))
            for bnode, related in self.mentions.items()
        }

    def labels(self) -> dict[str, str]:
        """§4.4.3 steps 3-6: canonical identifiers of every blank node."""
        by_hash: dict[str, list[str]] = {}
        for bnode, digest in self.first_degree.items():
            by_hash.setdefault(digest, []).append(bnode)
        shared = []
        for digest in sorted(by_hash):  # step 5: unique hashes first, in code point order
            nodes = by_hash[digest]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        for nodes in shared:  # step 6: the others by Hash N-Degree Quads
            results = []
            for bnode in nodes:
                if bnode in self.canonical.issued:
                    continue
                temporary = _IdentifierIssuer("_:b")
                temporary.issue(bnode)
                results.append(self.n_degree(bnode, temporary))
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        return self.canonical.issued

    def related_hash(self, related: str, quad: Quad, issuer: _IdentifierIssuer, at: str) -> str:
        """§4.7 Hash Related Blank Node."""
        identifier = (
            self.canonical.issued.get(related)
            or issuer.issued.get(related)
            or self.first_degree[related]
        )
        return _sha256(at + (quad[1] if at != "g" else "") + identifier)

    def n_degree(self, bnode: str, issuer: _IdentifierIssuer) -> tuple[str, _IdentifierIssuer]:
        """§4.8 Hash N-Degree Quads: the hash and the issuer of the shortest path."""
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.mentions[bnode]:
            for at, term in (("s", quad[0]), ("o", quad[2]), ("g", quad[3])):
                if term.startswith("_:") and term != bnode:
                    digest = self.related_hash(term, quad, issuer, at)
                    related_by_hash.setdefault(digest, []).append(term)
        data = []
        for digest in sorted(related_by_hash):
            data.append(digest)
            chosen_path = ""
            chosen_issuer = issuer
            for permutation in _permutations(related_by_hash[digest]):
                self.steps += 1
                if self.steps > MAX_N_DEGREE_STEPS:
                    raise CanonicalizationTooComplex(
                        "The document's blank nodes are too alike to canonicalize within the "
                        f"work limit ({MAX_N_DEGREE_STEPS} steps of RDFC-1.0 Hash N-Degree Quads)."
                    )
                copy = issuer.copy()
                path = ""
                recursion = []
                for related in permutation:
                    label = self.canonical.issued.get(related)
                    if label is None:
                        if related not in copy.issued:
                            recursion.append(related)
                        label = copy.issue(related)
                    path += label
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        break
                else:
                    for related in recursion:
                        result, copy = self.n_degree(related, copy)
                        path += copy.issue(related) + "<" + result + ">"
                        if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                            break
                    else:
                        if not chosen_path or path < chosen_path:
                            chosen_path, chosen_issuer = path, copy
            data.append(chosen_path)
            issuer = chosen_issuer
        return _sha256("".join(data)), issuer


def canonical_nquads(quads: list[Quad]) -> bytes:
    """RDFC-1.0 (§4.4) of quads given as N-Quads terms; blank nodes are terms starting ``_:``."""
    canonical = _Canonicalization(quads).labels()
    lines = [
        _line((canonical.get(s, s), p, canonical.get(o, o), canonical.get(g, g)))
        for s, p, o, g in quads
    ]
    lines.sort()
    return "".join(lines).encode("utf-8")


def first_degree_unique(quads: list[Quad]) -> bool:
    """Whether every blank node has its own first-degree hash (no N-degree step needed)."""
    hashes = _Canonicalization(quads).first_degree.values()
    return len(set(hashes)) == len(hashes)


def _resolved_cache() -> Any:
    """A private cache of resolved contexts for pyld's resolver (one per canonicaliser)."""
    return jsonld.LRUCache(maxsize=64)


__all__ = ["FastCanonicalizer", "canonical_double", "canonical_nquads", "first_degree_unique"]
