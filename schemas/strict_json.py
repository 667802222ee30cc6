"""Strict JSON for untrusted input: size and depth limits, duplicate member names rejected.

RFC 8259 §4 leaves duplicate names' meaning undefined; a signed document whose parsers may disagree
is a forgery vector, so Taito refuses them (and RFC 7515 §5.2 requires it for JOSE headers).

Parsing is ``jiter`` (Rust; duplicate names and NaN / Infinity refused in the parser) with the
standard library's ``json`` and the hooks below as the reference. A document jiter refuses goes to
the reference, which gives the error message, or the value where the two differ: the one known case
is a lone surrogate escape (``"\\ud800"``), which jiter refuses and ``json`` accepts. Whatever jiter
accepts, ``json`` accepts with the same value (``tests/keys/test_jose_fast_path.py``); jiter parses a
2 KB credential in half the time and a Disclosure in a quarter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from jiter import from_json

from schemas.errors import TaitoError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


def _jiter(data: bytes) -> Any:
    # keywords written out: a functools.partial holding them merges them on every call (+160 ns)
    return from_json(data, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys")


class MalformedJson(TaitoError):
    code = "malformed_json"
    title = "Malformed JSON"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # C speed; a duplicate shows as a lost pair, then is named
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"Duplicate member name {key!r}.")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not JSON.")


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, iteratively (no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in node)
    return deepest


# A JSON string (closed, or running to the end of the text): what brackets inside it do not count.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\[\s\S][^"\\]*+)*+(?:"|\\?\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _bracket_depth(text: str) -> int:
    """Upper bound of nesting, computed before parsing so a deep document never reaches json.

    Strings are cut out and the remaining brackets summed by regex and ``accumulate`` (C speed),
    not by a Python loop over every character.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(0, max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0))


def loads_all(
    documents: Sequence[bytes], *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> list[Any] | None:
    """``[loads(d, ...) for d in documents]`` in one go for small, plain documents, or ``None``
    when any of them needs :func:`loads`' slower steps (then ``loads`` one by one decides, and
    words any refusal). For the hot paths that parse a dozen small documents at a time.

    The same values as ``loads``: each document is within ``max_bytes`` and its opening brackets
    within ``max_depth`` (counted over all of them first: a sum within the limit bounds each one),
    which is exactly when ``loads`` hands the bytes to jiter; jiter refusing any is ``None``.
    """
    if not documents:
        return []
    if max(map(len, documents)) > max_bytes:
        return None
    joined = b"".join(documents)
    if joined.count(b"[") + joined.count(b"{") > max_depth and any(
        d.count(b"[") + d.count(b"{") > max_depth for d in documents
    ):
        return None
    try:
        return [_jiter(d) for d in documents]
    except ValueError:
        return None


def loads(data: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    raw: bytes | None = None
    tried = False
    if isinstance(data, bytes):
        raw = data
        if len(raw) > max_bytes:
            raise MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
        # Bytes within the bracket count go to jiter at once: it refuses what is not UTF-8, and an
        # ASCII bracket byte is a bracket character in UTF-8, so the checks below could not refuse
        # what it accepts. Small documents on hot paths (Disclosures, JWT parts) skip the decode.
        if raw.count(b"[") + raw.count(b"{") <= max_depth:
            try:
                return _jiter(raw)
            except ValueError:
                tried = True  # the reference below words the refusal, or accepts a lone surrogate
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson("The JSON document is not UTF-8.") from exc
    else:
        text = data
    if len(text) > max_bytes:
        raise MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
    # the depth never exceeds the number of opening brackets, which str.count finds at C speed
    openers = text.count("[") + text.count("{")
    if openers > max_depth and _bracket_depth(text) > max_depth:
        raise MalformedJson(f"The JSON document is nested deeper than {max_depth} levels.")
    if not tried:
        try:
            return _jiter(raw if raw is not None else text.encode("utf-8"))
        except ValueError:  # also a str holding a lone surrogate, which UTF-8 cannot encode
            pass  # the reference parser decides, and says why
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedJson(f"Not valid JSON: {exc}"[:200]) from exc
