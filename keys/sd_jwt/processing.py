"""The SD-JWT serialization (RFC 9901 §4) and the processing of Disclosures (RFC 9901 §7.1).

Both the holder (to learn where each Disclosure sits) and the verifier run :func:`process`; it
never verifies a signature itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from keys import base64url
from keys.sd_jwt.disclosure import (
    ELLIPSIS,
    SD,
    SD_ALG,
    Disclosure,
    Path,
    decode,
    decode_many,
    digests,
)
from keys.sd_jwt.errors import (
    DisclosedClaimExists,
    DuplicateDigest,
    DuplicateDisclosure,
    MalformedDisclosure,
    MalformedSdJwt,
    UnreferencedDisclosure,
)

MAX_PRESENTATION_BYTES = 4 * 1024 * 1024
MAX_DISCLOSURES = 4096
MAX_DEPTH = 64
SEPARATOR = "~"
_CONTAINERS = (dict, list)
# Revealed(...) runs the named tuple's __new__, a Python function; tuple.__new__ builds the same
# instance in C (one is built per Disclosure on the verification path)
_tuple_new = tuple.__new__


class Serialization(NamedTuple):
    """``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~<optional KB-JWT>`` (RFC 9901 §4).

    A named tuple (immutable), as :class:`Revealed`: one is built per verification."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    key_binding_jwt: str  # "" when absent
    # the SD-JWT part: everything up to and including the last "~" (RFC 9901 §4.3.1)
    without_key_binding: str


def split(text: Any, *, max_bytes: int = MAX_PRESENTATION_BYTES) -> Serialization:
    if not isinstance(text, str):
        raise MalformedSdJwt("An SD-JWT is a string.")
    if len(text) > max_bytes:
        raise MalformedSdJwt(f"The SD-JWT is larger than {max_bytes} bytes.")
    if not text.isascii():
        raise MalformedSdJwt("An SD-JWT contains only ASCII characters.")
    if SEPARATOR not in text:
        raise MalformedSdJwt("An SD-JWT has at least one '~' (RFC 9901 §4).")
    if text.count(SEPARATOR) - 1 > MAX_DISCLOSURES:
        raise MalformedSdJwt(f"The SD-JWT has more than {MAX_DISCLOSURES} Disclosures.")
    parts = text.split(SEPARATOR)
    issuer_jwt, disclosures, key_binding = parts[0], tuple(parts[1:-1]), parts[-1]
    if not issuer_jwt:
        raise MalformedSdJwt("The SD-JWT does not start with the issuer-signed JWT.")
    if "" in disclosures:
        raise MalformedSdJwt("The SD-JWT has an empty Disclosure ('~~').")
    without_key_binding = text[: len(text) - len(key_binding)]
    return Serialization(issuer_jwt, disclosures, key_binding, without_key_binding)


class Revealed(NamedTuple):
    """One Disclosure used while processing: where its value landed, and the value.

    A named tuple, not a frozen dataclass: one is built per Disclosure on the verification path,
    and a frozen dataclass sets each field through ``object.__setattr__``.
    """

    path: Path
    value: Any
    disclosure: Disclosure


class Processed(NamedTuple):
    claims: dict[str, Any]
    revealed: tuple[Revealed, ...]


@dataclass
class _State:
    by_digest: dict[str, Disclosure]
    seen: set[str] = field(default_factory=set)
    revealed: list[Revealed | None] = field(default_factory=list)

    def reference(self, value: Any) -> Disclosure | None:
        if not isinstance(value, str):
            raise MalformedSdJwt("A digest in the SD-JWT is not a string.")
        # RFC 9901 §7.1: a digest met more than once (directly or via Disclosures).
        if value in self.seen:
            raise DuplicateDigest("A digest is referenced more than once.")
        self.seen.add(value)
        return self.by_digest.get(value)

    def value(self, node: Any, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise MalformedSdJwt(f"The SD-JWT claims are nested deeper than {MAX_DEPTH} levels.")
        if isinstance(node, dict):
            return self.object(node, path, depth)
        if isinstance(node, list):
            return self.array(node, path, depth)
        return node

    def use(self, disclosure: Disclosure, path: Path, depth: int) -> Any:
        # one Revealed per use, and a Disclosure is used at most once (its digest is met once)
        value = disclosure.value
        if depth + 1 > MAX_DEPTH or isinstance(value, _CONTAINERS):
            slot = len(self.revealed)
            self.revealed.append(None)  # keep parents before children
            value = self.value(value, path, depth + 1)
            self.revealed[slot] = _tuple_new(Revealed, (path, value, disclosure))
        else:
            self.revealed.append(_tuple_new(Revealed, (path, value, disclosure)))
        return value

    def object(self, node: Mapping[str, Any], path: Path, depth: int) -> dict[str, Any]:
        # a scalar is its own value (what self.value returns for it, within the depth limit)
        scalars = depth < MAX_DEPTH
        result = {
            k: v
            if scalars and not isinstance(v, _CONTAINERS)
            else self.value(v, (*path, k), depth + 1)
            for k, v in node.items()
            if k != SD
        }
        if SD not in node:
            return result
        digests = node[SD]
        # RFC 9901 §4.2.4.1: _sd is an array of digest strings.
        if not isinstance(digests, list):
            raise MalformedSdJwt("An '_sd' member is not an array.")
        seen, by_digest = self.seen, self.by_digest
        for entry in digests:
            # self.reference(entry), written out: a call fewer for each digest, decoys included
            if not isinstance(entry, str):
                raise MalformedSdJwt("A digest in the SD-JWT is not a string.")
            if entry in seen:
                raise DuplicateDigest("A digest is referenced more than once.")
            seen.add(entry)
            disclosure = by_digest.get(entry)
            if disclosure is None:
                continue  # a decoy, or a claim the holder did not disclose (§7.1)
            name = disclosure.name
            if name is None:
                raise MalformedDisclosure("An array-element Disclosure is referenced from '_sd'.")
            # RFC 9901 §7.1: a disclosed name must not already exist.
            if name in result:
                raise DisclosedClaimExists(f"The claim {name!r} is already present.")
            result[name] = self.use(disclosure, (*path, name), depth)
        return result

    def array(self, node: Sequence[Any], path: Path, depth: int) -> list[Any]:
        result: list[Any] = []
        for element in node:
            if isinstance(element, dict) and ELLIPSIS in element:
                # RFC 9901 §4.2.4.2: an array element digest is {"...": "<digest>"}, alone.
                if len(element) != 1:
                    raise MalformedSdJwt("An array element digest object has other members.")
                disclosure = self.reference(element[ELLIPSIS])
                if disclosure is None:
                    continue  # decoy or not disclosed: the element is removed (§7.1)
                if disclosure.name is not None:
                    raise MalformedDisclosure(
                        "An object Disclosure is referenced as an array element."
                    )
                result.append(self.use(disclosure, (*path, len(result)), depth))
            else:
                result.append(self.value(element, (*path, len(result)), depth + 1))
        return result


def _by_digest(
    disclosures: Sequence[str], decoded: Sequence[Disclosure], sd_alg: str
) -> dict[str, Disclosure]:
    by_digest = dict(zip(digests(disclosures, sd_alg), decoded, strict=True))
    # RFC 9901 §7.1: the same Disclosure twice is rejected.
    if len(by_digest) != len(decoded):
        raise DuplicateDisclosure("The same Disclosure appears more than once.")
    return by_digest


def decode_all(disclosures: Sequence[str], sd_alg: str) -> dict[str, Disclosure]:
    """The Disclosures by digest, all base64url-decoded in one go when they are canonical, and
    all hashed in one go (:func:`digests`). Errors come in the order of the Disclosures: a
    duplicate before a malformed one is the error reported."""
    raws = base64url.decode_canonical_all(disclosures)
    if raws is not None:
        fast = decode_many(disclosures, raws)
        if fast is not None:
            return _by_digest(disclosures, fast, sd_alg)
    one_by_one: Sequence[bytes | None] = raws or [None] * len(disclosures)
    decoded: list[Disclosure] = []
    try:
        for encoded, raw in zip(disclosures, one_by_one, strict=True):
            decoded.append(decode(encoded, raw))
    except MalformedDisclosure:
        _by_digest(disclosures[: len(decoded)], decoded, sd_alg)
        raise
    return _by_digest(disclosures, decoded, sd_alg)


def process(payload: Mapping[str, Any], disclosures: Sequence[str], sd_alg: str) -> Processed:
    """RFC 9901 §7.1: insert disclosed claims, drop ``_sd``/``...``/``_sd_alg``."""
    state = _State(decode_all(disclosures, sd_alg))
    claims = state.object(payload, (), 0)
    claims.pop(SD_ALG, None)
    # RFC 9901 §7.1: a Disclosure that no digest names is rejected (forged or extra).
    if len(state.revealed) != len(state.by_digest):
        raise UnreferencedDisclosure("A Disclosure is not referenced by the SD-JWT.")
    # no slot is left empty: a parent's, reserved before its children's, is filled after them
    return Processed(claims, cast(tuple[Revealed, ...], tuple(state.revealed)))
