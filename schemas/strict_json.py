"""Strict JSON for untrusted input: size and depth limits, duplicate member names rejected.

RFC 8259 §4 leaves duplicate names' meaning undefined; a signed document whose parsers may disagree
is a forgery vector, so Taito refuses them (and RFC 7515 §5.2 requires it for JOSE headers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from schemas.errors import TaitoError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


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


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
# The decoder's C scanner, called directly: ``JSONDecoder.decode`` / ``raw_decode`` (CPython 3.11)
# are two Python frames and two regex matches around it, as much again as scanning a Disclosure.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*")  # json's whitespace (RFC 8259 §2)
_SPACES = frozenset(" \t\n\r")


def _decode(text: str) -> Any:
    """``json.loads(text)`` with the strict hooks: the same steps, the same errors."""
    if text.startswith("\ufeff"):  # json.loads refuses it; the decoder alone would not
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    start = _SPACE.match(text).end() if text[:1] in _SPACES else 0  # type: ignore[union-attr]
    try:
        value, end = _SCAN(text, start)
    except StopIteration as err:
        raise json.JSONDecodeError("Expecting value", text, err.value) from None
    if end != len(text):
        end = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
    return value


def loads(data: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson("The JSON document is not UTF-8.") from exc
    if len(data) > max_bytes:
        raise MalformedJson(f"The JSON document is larger than {max_bytes} bytes.")
    # the depth never exceeds the number of opening brackets, which str.count finds at C speed
    openers = data.count("[") + data.count("{")
    if openers > max_depth and _bracket_depth(data) > max_depth:
        raise MalformedJson(f"The JSON document is nested deeper than {max_depth} levels.")
    try:
        return _decode(data)
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedJson(f"Not valid JSON: {exc}"[:200]) from exc
