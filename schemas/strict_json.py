"""Strict JSON for untrusted input: size and depth limits, duplicate member names rejected.

RFC 8259 §4 leaves duplicate names' meaning undefined; a signed document whose parsers may disagree
is a forgery vector, so Taito refuses them (and RFC 7515 §5.2 requires it for JOSE headers).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.errors import TaitoError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


class MalformedJson(TaitoError):
    code = "malformed_json"
    title = "Malformed JSON"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJson(f"Duplicate member name {key!r}.")
        result[key] = value
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


def _bracket_depth(text: str) -> int:
    """Upper bound of nesting, computed before parsing so a deep document never reaches json."""
    level = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


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
    if ("[" in data or "{" in data) and _bracket_depth(data) > max_depth:
        raise MalformedJson(f"The JSON document is nested deeper than {max_depth} levels.")
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedJson(f"Not valid JSON: {exc}"[:200]) from exc
