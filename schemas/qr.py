"""QR codes of credential offers and presentation requests, as PNG bytes or SVG text.

Pure rendering through ``qrcode`` (no I/O but an in-memory buffer). Error correction level M
(15 %) keeps the long ``openid-credential-offer://`` URIs scannable from a screen.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from schemas.errors import TaitoError


class TooLargeForQr(TaitoError):
    code = "too_large_for_qr"
    status = 422
    title = "Too large for a QR code"


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text.encode("utf-8"))
    try:
        code.make(fit=True)
    except ValueError as exc:  # no QR version (1..40) holds it
        raise TooLargeForQr(
            f"The {len(text.encode('utf-8'))}-byte URI does not fit in a QR code; "
            "pass the request by reference."
        ) from exc
    return code


def qr_png(text: str) -> bytes:
    """``text`` as a QR code in a PNG image."""
    image = _code(text).make_image(image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_svg(text: str) -> str:
    """``text`` as a QR code in a standalone SVG document (one path)."""
    image = _code(text).make_image(image_factory=SvgPathImage)
    return str(image.to_string(encoding="unicode"))
