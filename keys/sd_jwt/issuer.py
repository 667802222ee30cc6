"""Issuing an SD-JWT (RFC 9901 §4-§5) and an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §3).

Which claims are selectively disclosable is said with JSON Pointers (RFC 6901) into the plain
claims: ``/given_name``, ``/address/region``, ``/nationalities/1``. Pointing at a node and at one of
its descendants makes a recursive Disclosure (RFC 9901 §4.2.6). Salts, decoy counts and the order
of digests come from injected sources so that tests are deterministic.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from keys import base64url
from keys.jwk import PublicKey
from keys.sd_jwt import _jws
from keys.sd_jwt.disclosure import (
    DEFAULT_SD_ALG,
    ELLIPSIS,
    SD,
    SD_ALG,
    Disclosure,
    Path,
    array_index,
    create,
    digest,
    format_pointer,
    parse_pointer,
)
from keys.sd_jwt.errors import (
    InvalidArgument,
    InvalidClaim,
    InvalidPointer,
    NonDisclosableClaim,
    ReservedClaimName,
)
from keys.signing import Signer

DEFAULT_TYP = "dc+sd-jwt"
# draft-ietf-oauth-sd-jwt-vc §3.1: the media types of an SD-JWT VC (vc+sd-jwt is the older one).
VC_TYPES = frozenset({"dc+sd-jwt", "vc+sd-jwt"})
# draft-ietf-oauth-sd-jwt-vc §3.2.2: these claims (and anything inside them) are never selectively
# disclosable. Taito adds iat: a verifier checks it for validity, so it must stay readable.
NON_DISCLOSABLE = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})
# RFC 9901 §4.2.1: at least 128 bits of salt.
MIN_SALT_BYTES = 16
MAX_DECOYS = 64
MAX_DEPTH = 64
_FORBIDDEN_HEADER = frozenset({"alg", "typ", "crit"})

Decoys = int | Callable[[str], int]
Shuffle = Callable[[list[str]], None]


def random_salt() -> bytes:
    """128 bits from the OS CSPRNG (RFC 9901 §9.3-§9.4)."""
    return secrets.token_bytes(MIN_SALT_BYTES)


def random_decoys(pointer: str) -> int:
    """One to three decoy digests in every object that has a disclosable claim (RFC 9901 §4.2.5)."""
    return 1 + secrets.randbelow(3)


def _plain(value: Any, path: Path, depth: int) -> Any:
    """A deep copy as plain JSON values; refuses what JSON cannot carry and reserved names."""
    if depth > MAX_DEPTH:
        raise InvalidArgument(f"The claims are nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(
                    f"Claim names are strings; {key!r} at {format_pointer(path)!r}."
                )
            # RFC 9901 §4.2.4.1/§4.2.4.2: _sd and ... carry digests; they are never claim names.
            if key in (SD, ELLIPSIS) or (key == SD_ALG and not path):
                raise ReservedClaimName(f"The claim name {key!r} is reserved by SD-JWT.")
            result[key] = _plain(item, (*path, key), depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [_plain(item, (*path, i), depth + 1) for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"The claim at {format_pointer(path)!r} is not a finite number.")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidArgument(f"The claim at {format_pointer(path)!r} is not a JSON value.")


def _resolve(claims: dict[str, Any], pointers: Iterable[str]) -> set[Path]:
    if isinstance(pointers, str):
        raise InvalidPointer("'disclosable' is a collection of JSON Pointers, not one string.")
    paths: set[Path] = set()
    for pointer in pointers:
        tokens = parse_pointer(pointer)
        if not tokens:
            raise InvalidPointer("The whole payload cannot be selectively disclosable.")
        if tokens[0] in NON_DISCLOSABLE:  # also anything inside them
            raise NonDisclosableClaim(f"The claim {tokens[0]!r} must stay readable.")
        node: Any = claims
        path: list[str | int] = []
        for token in tokens:
            if isinstance(node, dict):
                if token not in node:
                    raise InvalidPointer(f"JSON Pointer {pointer!r} names no claim.")
                node = node[token]
                path.append(token)
            elif isinstance(node, list):
                index = array_index(token, len(node), pointer)
                node = node[index]
                path.append(index)
            else:
                raise InvalidPointer(f"JSON Pointer {pointer!r} names no claim.")
        paths.add(tuple(path))
    return paths


class _Builder:
    def __init__(
        self, paths: set[Path], salt: Callable[[], bytes], decoys: Decoys, shuffle: Shuffle | None
    ) -> None:
        self.paths = paths
        self.salt_source = salt
        self.decoys = decoys
        self.shuffle = shuffle
        self.disclosures: list[Disclosure] = []
        self.salts: set[bytes] = set()

    def salt(self) -> bytes:
        value = self.salt_source()
        if not isinstance(value, bytes) or len(value) < MIN_SALT_BYTES:
            raise InvalidArgument(f"A salt is at least {MIN_SALT_BYTES} bytes.")
        # RFC 9901 §9.3: a new salt for every claim.
        if value in self.salts:
            raise InvalidArgument("The salt source repeated a salt.")
        self.salts.add(value)
        return value

    def decoy_count(self, path: Path) -> int:
        count = self.decoys(format_pointer(path)) if callable(self.decoys) else self.decoys
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_DECOYS:
            raise InvalidArgument(f"The number of decoys is an integer from 0 to {MAX_DECOYS}.")
        return count

    def disclose(self, name: str | None, value: Any) -> str:
        disclosure = create(self.salt(), name, value)
        self.disclosures.append(disclosure)
        return disclosure.digest(DEFAULT_SD_ALG)

    def value(self, node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            return self.object(node, path)
        if isinstance(node, list):
            return self.array(node, path)
        return node

    def object(self, node: dict[str, Any], path: Path) -> dict[str, Any]:
        plain: dict[str, Any] = {}
        digests: list[str] = []
        for key, item in node.items():
            child = self.value(item, (*path, key))
            if (*path, key) in self.paths:
                digests.append(self.disclose(key, child))  # RFC 9901 §4.2.1
            else:
                plain[key] = child
        if not digests:
            return plain
        # RFC 9901 §4.2.5: decoy digests over random values hide how many claims there are.
        for _ in range(self.decoy_count(path)):
            digests.append(digest(base64url.encode(self.salt())))
        # RFC 9901 §4.2.4.1: the order of digests must not reveal the order of the claims.
        if self.shuffle is None:
            digests.sort()
        else:
            self.shuffle(digests)
        return {SD: digests, **plain}

    def array(self, node: list[Any], path: Path) -> list[Any]:
        result: list[Any] = []
        for index, item in enumerate(node):
            child = self.value(item, (*path, index))
            if (*path, index) in self.paths:
                result.append({ELLIPSIS: self.disclose(None, child)})  # RFC 9901 §4.2.2
            else:
                result.append(child)
        return result


def issue(
    claims: Mapping[str, Any],
    *,
    signer: Signer,
    disclosable: Iterable[str] = (),
    salt: Callable[[], bytes] = random_salt,
    decoys: Decoys = random_decoys,
    typ: str = DEFAULT_TYP,
    holder_key: PublicKey | None = None,
    extra_header: Mapping[str, Any] | None = None,
    shuffle: Shuffle | None = None,
) -> str:
    """Sign ``claims`` as an SD-JWT ``<JWT>~<Disclosure>~...~`` (RFC 9901 §4).

    ``disclosable``: JSON Pointers of the claims made selectively disclosable. ``decoys``: a count,
    or a function of the object's JSON Pointer giving one, of decoy digests added to every object
    that has a disclosable member. ``shuffle``: called on each ``_sd`` list in place (e.g.
    ``random.SystemRandom().shuffle``); by default the digests are sorted. ``holder_key`` becomes
    ``cnf.jwk`` (RFC 7800 §3.2). With a ``typ`` of an SD-JWT VC, ``vct`` is required.
    """
    if not isinstance(claims, Mapping):
        raise InvalidArgument("The claims are a JSON object.")
    if not isinstance(typ, str) or not typ:
        raise InvalidArgument("typ is a non-empty string.")
    tree: dict[str, Any] = _plain(claims, (), 0)
    paths = _resolve(tree, disclosable)
    if holder_key is not None:
        if "cnf" in tree:
            raise InvalidArgument("Give either a 'cnf' claim or holder_key, not both.")
        tree["cnf"] = {"jwk": holder_key.to_jwk()}  # RFC 7800 §3.2
    # draft-ietf-oauth-sd-jwt-vc §3.2.2.2: vct is REQUIRED in an SD-JWT VC.
    if typ in VC_TYPES and not isinstance(tree.get("vct"), str):
        raise InvalidClaim(f"An SD-JWT VC (typ {typ}) needs a string 'vct' claim.")

    builder = _Builder(paths, salt, decoys, shuffle)
    payload = builder.object(tree, ())
    payload[SD_ALG] = DEFAULT_SD_ALG  # RFC 9901 §4.1.1

    header: dict[str, Any] = {"alg": signer.algorithm, "typ": typ}
    if signer.key_id:
        header["kid"] = signer.key_id
    if extra_header:
        clash = _FORBIDDEN_HEADER & set(extra_header)
        if clash:
            raise InvalidArgument(f"extra_header must not set {sorted(clash)}.")
        header.update(_plain(extra_header, (), 0))
    jwt = _jws.sign(header, payload, signer)
    return jwt + "~" + "".join(d.encoded + "~" for d in builder.disclosures)
