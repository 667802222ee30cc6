"""Baked badges: an Open Badges 3.0 credential carried inside its PNG or SVG image.

Open Badges 3.0 §5.3 "Baked Badge" (successor of the Open Badges Baking Specification 2.0):

* PNG (§5.3.1): one ``iTXt`` chunk with keyword ``openbadgecredential``, not compressed, no
  language tag, no translated keyword; its text is the compact JWS of a VC-JWT or the JSON of a
  credential with an embedded proof.
* SVG (§5.3.2): ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` on the root and, right
  after the root's opening tag, one ``<openbadges:credential>``: a VC-JWT goes in its ``verify``
  attribute, a JSON credential in its body wrapped in ``<![CDATA[...]]>``.

Pure functions, no I/O. Untrusted images are bounded in size; chunk CRCs are checked; SVG is parsed
without DTD-defined entities or external references (``defusedxml``), so a "billion laughs" or an
XXE document is refused before anything is expanded or fetched.

What "credential text" means here: the baked text with surrounding XML white space (space, tab,
CR, LF) removed. It must consist of XML 1.0 characters (§2.2), which every JSON text and every
compact JWS does. In SVG, XML end-of-line handling (XML 1.0 §2.11) turns CR LF and CR into LF, so
``bake_svg`` does that itself: ``unbake_svg(bake_svg(svg, c))`` is ``c`` stripped and normalised.

Badges baked per Open Badges 2.0 (PNG keyword ``openbadges``, SVG ``<openbadges:assertion>`` in
the ``http://openbadges.org`` namespace) carry an assertion, not a credential: unbaking one raises
:class:`UnsupportedBakedFormat`. The 1EdTech validator's ``*_v1`` fixtures are NOT such badges:
they are OB 3.0 bakes of a VC-JWT in the VC Data Model 1.1 shape (``vc`` claim), read normally.

Errors::

    TaitoError
    └── BakingError                  baking_error            422
        ├── NotPng                   not_png                 415  no PNG signature
        ├── NotSvg                   not_svg                 415  not XML, or the root is not <svg>
        ├── MalformedPng             malformed_png           422  bad CRC, truncated, bad chunk
        ├── MalformedSvg             malformed_svg           422  not well-formed XML
        ├── UnsafeXml                unsafe_xml              422  entity declarations, external refs
        ├── ImageTooLarge            image_too_large         413
        ├── CredentialTooLarge       credential_too_large    413
        ├── NoCredential             no_credential           422
        ├── DuplicateCredential      duplicate_credential    422  more than one (§5.3.1, §5.3.2)
        ├── AlreadyBaked             already_baked           409  bake without replace=True
        ├── InvalidCredentialText    invalid_credential_text 422  empty or not XML characters
        └── UnsupportedBakedFormat   unsupported_baked_format 422 an Open Badges 2.0 bake
"""

from __future__ import annotations

import re
import struct
import xml.parsers.expat
import zlib
from dataclasses import dataclass, field
from typing import NoReturn
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from schemas.errors import TaitoError

KEYWORD = "openbadgecredential"  # OB 3.0 §5.3.1.1
OB2_KEYWORD = "openbadges"  # Open Badges Baking Specification 2.0, PNG
NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"  # OB 3.0 §5.3.2.1
OB2_NAMESPACE = "http://openbadges.org"  # Open Badges Baking Specification 2.0, SVG
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 2 * 1024 * 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG spec §5.2
_MAX_CHUNK_LENGTH = 2**31 - 1  # PNG spec §5.3: lengths are at most 2^31 - 1
_WHITESPACE = " \t\r\n"
# XML 1.0 §2.2 Char, negated: what no XML document (and no JSON text or JWS) can carry.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class BakingError(TaitoError):
    code = "baking_error"
    status = 422
    title = "Baked badge could not be processed"


class NotPng(BakingError):
    code = "not_png"
    status = 415
    title = "Not a PNG image"


class NotSvg(BakingError):
    code = "not_svg"
    status = 415
    title = "Not an SVG image"


class MalformedPng(BakingError):
    code = "malformed_png"
    title = "Malformed PNG image"


class MalformedSvg(BakingError):
    code = "malformed_svg"
    title = "Malformed SVG image"


class UnsafeXml(BakingError):
    code = "unsafe_xml"
    title = "SVG uses entity declarations or external references"


class ImageTooLarge(BakingError):
    code = "image_too_large"
    status = 413
    title = "Image too large"


class CredentialTooLarge(BakingError):
    code = "credential_too_large"
    status = 413
    title = "Baked credential too large"


class NoCredential(BakingError):
    code = "no_credential"
    title = "The image carries no credential"


class DuplicateCredential(BakingError):
    code = "duplicate_credential"
    title = "The image carries more than one credential"


class AlreadyBaked(BakingError):
    code = "already_baked"
    status = 409
    title = "The image already carries a credential"


class InvalidCredentialText(BakingError):
    code = "invalid_credential_text"
    title = "The credential cannot be baked"


class UnsupportedBakedFormat(BakingError):
    code = "unsupported_baked_format"
    title = "Unsupported baked badge format"


# ------------------------------------------------------------------------------------------------
# shared


def _credential_text(credential: str, *, max_bytes: int) -> str:
    if not isinstance(credential, str):
        raise InvalidCredentialText("The credential must be text (JSON or a compact JWS).")
    text = credential.strip(_WHITESPACE)
    if not text:
        raise InvalidCredentialText("The credential is empty.")
    bad = _NOT_XML_CHAR.search(text)
    if bad:
        raise InvalidCredentialText(
            f"The credential contains the character U+{ord(bad.group()):04X}, "
            "which neither JSON text nor a JWS can carry unescaped."
        )
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        raise CredentialTooLarge(f"The credential is larger than {max_bytes} bytes.")
    return text


def _check_image_size(size: int, max_image_bytes: int) -> None:
    if size > max_image_bytes:
        raise ImageTooLarge(f"The image is larger than {max_image_bytes} bytes.")


# ------------------------------------------------------------------------------------------------
# PNG (OB 3.0 §5.3.1; PNG spec §5.3 chunk layout, §11.3.3.4 iTXt)


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    data: bytes
    start: int  # offset of the length field
    end: int  # offset after the CRC


def _as_bytes(png: bytes) -> bytes:
    if not isinstance(png, bytes | bytearray | memoryview):
        raise NotPng("The image must be bytes.")
    return bytes(png)


def _chunks(png: bytes, max_image_bytes: int) -> list[_Chunk]:
    """Every chunk, CRC-checked; IHDR first, IEND last, nothing after it."""
    if not png.startswith(PNG_SIGNATURE):
        raise NotPng("The data does not start with the PNG signature.")
    _check_image_size(len(png), max_image_bytes)
    chunks: list[_Chunk] = []
    offset = len(PNG_SIGNATURE)
    while True:
        if offset + 12 > len(png):
            raise MalformedPng(f"Truncated PNG: a chunk header at byte {offset} is incomplete.")
        (length,) = struct.unpack_from(">I", png, offset)
        kind = png[offset + 4 : offset + 8]
        if length > _MAX_CHUNK_LENGTH:
            raise MalformedPng(f"Chunk length {length} at byte {offset} exceeds 2^31-1.")
        if not kind.isalpha():
            raise MalformedPng(f"Invalid chunk type {kind!r} at byte {offset}.")
        end = offset + 12 + length
        if end > len(png):
            raise MalformedPng(
                f"The {kind.decode()} chunk at byte {offset} runs past the file end."
            )
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, offset + 8 + length)
        if zlib.crc32(kind + data) != crc:  # PNG spec §5.3: CRC over type and data
            raise MalformedPng(f"CRC mismatch in the {kind.decode()} chunk at byte {offset}.")
        if not chunks and kind != b"IHDR":
            raise MalformedPng("The first chunk is not IHDR.")
        chunks.append(_Chunk(kind, data, offset, end))
        offset = end
        if kind == b"IEND":
            break
    if offset != len(png):
        raise MalformedPng(f"{len(png) - offset} bytes follow the IEND chunk.")
    return chunks


@dataclass(frozen=True)
class _ITxt:
    keyword: str
    compressed: bool
    body: bytes  # compressed or not, as stored


def _parse_itxt(data: bytes) -> _ITxt:
    # PNG spec §11.3.3.4: keyword NUL flag method language NUL translated-keyword NUL text
    keyword_end = data.find(b"\0")
    if keyword_end < 1 or keyword_end > 79:
        raise MalformedPng("An iTXt chunk has no valid keyword (1-79 bytes).")
    keyword = data[:keyword_end].decode("latin-1")
    if len(data) < keyword_end + 3:
        raise MalformedPng(f"The iTXt chunk {keyword!r} is truncated.")
    flag, method = data[keyword_end + 1], data[keyword_end + 2]
    if flag not in (0, 1) or (flag == 1 and method != 0):
        raise MalformedPng(f"The iTXt chunk {keyword!r} has an unknown compression.")
    language_end = data.find(b"\0", keyword_end + 3)
    translated_end = data.find(b"\0", language_end + 1) if language_end >= 0 else -1
    if translated_end < 0:
        raise MalformedPng(f"The iTXt chunk {keyword!r} is truncated.")
    return _ITxt(keyword, flag == 1, data[translated_end + 1 :])


def _itxt_text(chunk: _ITxt, max_bytes: int) -> str:
    raw = chunk.body
    if chunk.compressed:
        # Compressed iTXt is tolerated on read (§5.3.1 forbids it when baking); the inflation is
        # bounded so a zip bomb stops at max_bytes.
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            raise MalformedPng(f"The compressed iTXt text does not inflate: {exc}") from exc
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise CredentialTooLarge(f"The baked credential is larger than {max_bytes} bytes.")
        if not inflater.eof:
            raise MalformedPng("The compressed iTXt text is truncated.")
    if len(raw) > max_bytes:
        raise CredentialTooLarge(f"The baked credential is larger than {max_bytes} bytes.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPng("The iTXt text is not UTF-8.") from exc


def _credential_chunks(chunks: list[_Chunk]) -> list[tuple[_Chunk, _ITxt]]:
    found = []
    for chunk in chunks:
        if chunk.type == b"iTXt":
            itxt = _parse_itxt(chunk.data)
            if itxt.keyword == KEYWORD:
                found.append((chunk, itxt))
    return found


def _itxt_chunk(text: str) -> bytes:
    # OB 3.0 §5.3.1.1: compression flag 0, method 0, empty language tag and translated keyword.
    data = KEYWORD.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )


def bake_png(
    png: bytes,
    credential: str,
    *,
    replace: bool = False,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    max_credential_bytes: int = MAX_CREDENTIAL_BYTES,
) -> bytes:
    """``png`` with an ``openbadgecredential`` iTXt chunk carrying ``credential``, before IEND.

    An image already baked raises :class:`AlreadyBaked` unless ``replace`` (then the old chunk is
    dropped: §5.3.1.1 leaves error-or-overwrite to the implementer).
    """
    text = _credential_text(credential, max_bytes=max_credential_bytes)
    png = _as_bytes(png)
    chunks = _chunks(png, max_image_bytes)
    existing = _credential_chunks(chunks)
    if existing and not replace:
        raise AlreadyBaked("The PNG already carries an openbadgecredential chunk.")
    drop = {chunk.start for chunk, _ in existing}
    iend = chunks[-1]
    out = bytearray(PNG_SIGNATURE)
    for chunk in chunks[:-1]:
        if chunk.start not in drop:
            out += png[chunk.start : chunk.end]
    out += _itxt_chunk(text)
    out += png[iend.start : iend.end]
    return bytes(out)


def unbake_png(
    png: bytes,
    *,
    max_bytes: int = MAX_CREDENTIAL_BYTES,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> str:
    """The credential text (compact JWS or JSON) baked into ``png`` (OB 3.0 §5.3.1.2)."""
    chunks = _chunks(_as_bytes(png), max_image_bytes)
    found = _credential_chunks(chunks)
    if len(found) > 1:
        raise DuplicateCredential("The PNG has more than one openbadgecredential chunk.")
    if not found:
        for chunk in chunks:
            if chunk.type == b"iTXt" and _parse_itxt(chunk.data).keyword == OB2_KEYWORD:
                raise UnsupportedBakedFormat(
                    "The PNG is an Open Badges 2.0 baked badge (keyword 'openbadges').",
                    extra={"format": "openbadges-2.0"},
                )
        raise NoCredential("The PNG has no openbadgecredential iTXt chunk.")
    text = _itxt_text(found[0][1], max_bytes).strip(_WHITESPACE)
    if not text:
        raise NoCredential("The openbadgecredential chunk is empty.")
    return text


# ------------------------------------------------------------------------------------------------
# SVG (OB 3.0 §5.3.2)


def _raise_xml(exc: Exception) -> NoReturn:
    if isinstance(exc, defusedxml.DefusedXmlException):
        raise UnsafeXml(f"The SVG was refused: {exc}"[:300]) from exc
    raise MalformedSvg(f"The SVG is not well-formed XML: {exc}"[:300]) from exc


def _parse_svg(svg: str | bytes) -> Element:
    """The root element, parsed with no entity declarations and no external references."""
    try:
        # A DOCTYPE naming the SVG 1.1 DTD is common (the 1EdTech fixtures have one) and harmless:
        # expat never fetches it; any <!ENTITY> declaration is refused.
        root = defusedxml.ElementTree.fromstring(
            svg, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except (ParseError, ValueError, xml.parsers.expat.ExpatError) as exc:
        _raise_xml(exc)
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise NotSvg(f"The root element is {root.tag!r}, not an SVG <svg>.")
    return root


def _credential_elements(root: Element) -> list[Element]:
    return list(root.iter(f"{{{NAMESPACE}}}credential"))


def _element_credential(element: Element) -> str:
    verify = (element.get("verify") or "").strip(_WHITESPACE)
    body = "".join(element.itertext()).strip(_WHITESPACE)
    if verify and body:
        raise MalformedSvg("The credential element has both a verify attribute and a body.")
    return verify or body


def unbake_svg(
    svg: str | bytes,
    *,
    max_bytes: int = MAX_CREDENTIAL_BYTES,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> str:
    """The credential text baked into ``svg``: the ``verify`` attribute (VC-JWT) or the body."""
    if not isinstance(svg, str | bytes):
        raise NotSvg("The image must be text or bytes.")
    _check_image_size(len(svg), max_image_bytes)
    root = _parse_svg(svg)
    found = _credential_elements(root)
    if len(found) > 1:  # §5.3.2.1: "There MUST be only one <openbadges:credential> tag"
        raise DuplicateCredential("The SVG has more than one <openbadges:credential>.")
    if not found:
        if next(root.iter(f"{{{OB2_NAMESPACE}}}assertion"), None) is not None:
            raise UnsupportedBakedFormat(
                "The SVG is an Open Badges 2.0 baked badge (<openbadges:assertion>).",
                extra={"format": "openbadges-2.0"},
            )
        raise NoCredential("The SVG has no <openbadges:credential> element.")
    text = _element_credential(found[0])
    if not text:
        raise NoCredential("The <openbadges:credential> element is empty.")
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        raise CredentialTooLarge(f"The baked credential is larger than {max_bytes} bytes.")
    return text


@dataclass
class _Layout:
    """Byte offsets in the UTF-8 document, from a second, positional expat pass."""

    root_start: int = -1
    root_prefixes: dict[str, str] = field(default_factory=dict)  # declared on the root
    credentials: list[int] = field(default_factory=list)  # <credential> children of the root
    credential_ends: list[int] = field(default_factory=list)  # offsets expat reports at their end


def _forbid(*_: object) -> NoReturn:
    raise UnsafeXml("The SVG declares entities or references external data.")


def _layout(data: bytes) -> _Layout:
    layout = _Layout()
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    # Defence in depth: the document already passed defusedxml; refuse the same things again.
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    depth = 0

    def start_namespace(prefix: str | None, uri: str) -> None:
        if layout.root_start < 0:
            layout.root_prefixes[prefix or ""] = uri

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth
        if depth == 0:
            layout.root_start = parser.CurrentByteIndex
        elif depth == 1 and name == f"{NAMESPACE} credential":
            layout.credentials.append(parser.CurrentByteIndex)
        depth += 1

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if depth == 1 and name == f"{NAMESPACE} credential":
            layout.credential_ends.append(parser.CurrentByteIndex)

    parser.StartNamespaceDeclHandler = start_namespace
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        _raise_xml(exc)
    return layout


def _tag_end(data: bytes, start: int) -> int:
    """Offset just after the ``>`` closing the tag that opens at ``start`` (quotes respected)."""
    quote = 0
    for index in range(start, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):  # " '
            quote = byte
        elif byte == 0x3E:  # >
            return index + 1
    raise MalformedSvg("An SVG tag is not closed.")


def _credential_span(data: bytes, start: int, reported_end: int) -> tuple[int, int]:
    open_end = _tag_end(data, start)
    if data[open_end - 2 : open_end] == b"/>":  # an empty-element tag: nothing else to remove
        return start, open_end
    return start, _tag_end(data, reported_end)  # expat reports the end tag's "<"


def _cdata(text: str) -> str:
    # "]]>" cannot occur inside one CDATA section; split it across two (XML 1.0 §2.7).
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _attribute(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
    )


def _is_compact_jws(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", text) is not None


def bake_svg(
    svg: str,
    credential: str,
    *,
    replace: bool = False,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    max_credential_bytes: int = MAX_CREDENTIAL_BYTES,
) -> str:
    """``svg`` with an ``<openbadges:credential>`` right after the root's opening tag.

    A compact JWS (VC-JWT) goes in the ``verify`` attribute, anything else (a JSON credential) in
    a CDATA body (OB 3.0 §5.3.2.1). The rest of the document is kept byte for byte.
    """
    if not isinstance(svg, str):
        raise NotSvg("The SVG to bake must be text.")
    text = _credential_text(credential, max_bytes=max_credential_bytes)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # XML 1.0 §2.11
    _check_image_size(len(svg), max_image_bytes)
    root = _parse_svg(svg)
    existing = _credential_elements(root)
    if existing and not replace:
        raise AlreadyBaked("The SVG already carries an <openbadges:credential>.")
    data = svg.encode("utf-8")
    _check_image_size(len(data), max_image_bytes)
    layout = _layout(data)
    if len(layout.credentials) != len(existing):
        # The spec places it directly in <svg>; one nested deeper cannot be replaced in place.
        raise MalformedSvg("An <openbadges:credential> is nested below the root; not replaced.")
    prefixes = layout.root_prefixes
    declare = ""
    if prefixes.get("openbadges") != NAMESPACE:
        declare = f' xmlns:openbadges="{NAMESPACE}"'
    root_open_end = _tag_end(data, layout.root_start)
    self_closing = data[root_open_end - 2 : root_open_end] == b"/>"
    on_root = "openbadges" not in prefixes  # else a different URI: declare on the element itself
    # Everything before the root's closing ">" (or "/>"), to which attributes can be appended.
    head = data[: root_open_end - (2 if self_closing else 1)].rstrip(b" \t\r\n")
    if declare and on_root:
        head += declare.encode()
    element_ns = declare if declare and not on_root else ""
    if _is_compact_jws(text):
        element = (
            f'<openbadges:credential{element_ns} verify="{_attribute(text)}">'
            "</openbadges:credential>"
        )
    else:
        element = f"<openbadges:credential{element_ns}>{_cdata(text)}</openbadges:credential>"
    rest = data[root_open_end:]
    if self_closing:
        name = data[layout.root_start + 1 :].split(maxsplit=1)[0].rstrip(b"/>")
        rest = b"</" + name + b">" + rest
    else:
        # Cut the old credential elements (offsets shifted into ``rest``).
        spans = [
            _credential_span(data, start, end)
            for start, end in zip(layout.credentials, layout.credential_ends, strict=True)
        ]
        for start, end in sorted(spans, reverse=True):
            rest = rest[: start - root_open_end] + rest[end - root_open_end :]
    out = head + b">" + element.encode("utf-8") + rest
    return out.decode("utf-8")
