"""A default badge image for an achievement that has none (Open Badges 3.0 ``Achievement.image``).

A disc in a strong colour derived from the achievement name (same name -> same colour, and white
text on it meets the WCAG 2.x 4.5:1 contrast ratio), the name wrapped over up to three lines, the
issuer's name small underneath. SVG (SVG 1.1 §5.4 ``<title>``, with ``role="img"`` and an ARIA
label) and PNG (Pillow, its bundled default font) are both deterministic: the same input gives the
same bytes. Either can then be baked (``schemas.baking``, OB 3.0 §5.3).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import textwrap
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

from issuer.errors import IssuerError
from schemas.learning import AchievementSpec, text_in

MIN_SIZE, MAX_SIZE = 64, 2048
_VIEW = 512  # the design is drawn on a 512-unit square
_MAX_LINES = 3
_ELLIPSIS = "\u2026"


class BadgeImageError(IssuerError):
    code = "invalid_badge_image"
    status = 422
    title = "Badge image cannot be drawn"


def _relative_luminance(rgb: tuple[float, float, float]) -> float:
    # WCAG 2.x relative luminance of an sRGB colour (channels 0..1).
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def badge_colour(name: str) -> str:
    """A saturated colour for ``name`` on which white text has at least 4.5:1 contrast."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    lightness = 0.42
    while True:
        rgb = colorsys.hls_to_rgb(hue, lightness, 0.62)
        if 1.05 / (_relative_luminance(rgb) + 0.05) >= 4.5:
            break
        lightness -= 0.02
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _lines(text: str, widths: tuple[int, ...] = (12, 16, 20)) -> list[str]:
    """``text`` wrapped over at most three lines, the last one shortened with an ellipsis."""
    text = " ".join(text.split())
    for width in widths:
        lines = textwrap.wrap(text, width=width, break_on_hyphens=True)
        if len(lines) <= _MAX_LINES:
            return lines or [""]
    lines = textwrap.wrap(text, width=widths[-1])[:_MAX_LINES]
    lines[-1] = lines[-1][: widths[-1] - 1].rstrip() + _ELLIPSIS
    return lines


def _short(text: str, limit: int = 34) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + _ELLIPSIS


def _texts(achievement: AchievementSpec, issuer_name: str) -> tuple[str, list[str], str]:
    name = text_in(achievement.name, achievement.language) or ""
    return name, _lines(name), _short(issuer_name)


def _name_font_size(lines: list[str]) -> int:
    """Font size in design units so the longest line fits the disc."""
    longest = max(len(line) for line in lines)
    return max(26, min(64, int(330 / (0.56 * max(longest, 1)))))


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi / 2 + index * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy - radius * math.sin(angle)))
    return points


def badge_svg(achievement: AchievementSpec, issuer_name: str) -> str:
    """The default badge as a standalone SVG document (UTF-8 text)."""
    name, lines, issuer = _texts(achievement, issuer_name)
    colour = badge_colour(name)
    label = f"{name} \u2014 {issuer_name}" if issuer_name else name
    size = _name_font_size(lines)
    line_height = size * 1.15
    top = 262 - line_height * (len(lines) - 1) / 2
    star = " ".join(f"{x:.1f},{y:.1f}" for x, y in _star(256, 132, 34, 14))
    tspans = "".join(
        f'<tspan x="256" y="{top + i * line_height:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512"'
        f' role="img" aria-labelledby="badge-title" aria-label={quoteattr(label)}>'
        f'<title id="badge-title">{escape(label)}</title>'
        f'<circle cx="256" cy="256" r="244" fill="{colour}"/>'
        '<circle cx="256" cy="256" r="222" fill="none" stroke="#ffffff" stroke-width="6"'
        ' stroke-opacity="0.85"/>'
        f'<polygon points="{star}" fill="#ffffff" fill-opacity="0.9"/>'
        '<g fill="#ffffff" font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
        ' text-anchor="middle" dominant-baseline="middle">'
        f'<text font-size="{size}" font-weight="bold">{tspans}</text>'
        f'<text x="256" y="392" font-size="22" fill-opacity="0.92">{escape(issuer)}</text>'
        "</g></svg>"
    )


def badge_png(achievement: AchievementSpec, issuer_name: str, *, size: int = 512) -> bytes:
    """The default badge as a ``size`` x ``size`` RGBA PNG."""
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise BadgeImageError(f"The image size must be {MIN_SIZE} to {MAX_SIZE} pixels.")
    name, lines, issuer = _texts(achievement, issuer_name)
    colour = badge_colour(name)
    scale = size * 2 / _VIEW  # drawn at twice the size, then downsampled: smooth edges

    def s(value: float) -> float:
        return value * scale

    canvas = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((s(12), s(12), s(500), s(500)), fill=colour)
    draw.ellipse(
        (s(34), s(34), s(478), s(478)),
        outline=(255, 255, 255, 217),
        width=max(1, round(s(6))),
    )
    draw.polygon([(s(x), s(y)) for x, y in _star(256, 132, 34, 14)], fill=(255, 255, 255, 230))
    font_size = _name_font_size(lines)
    font = ImageFont.load_default(size=s(font_size))
    # Shrink until every line fits the inner disc (the default font is wider than estimated).
    while font_size > 18 and max(draw.textlength(line, font=font) for line in lines) > s(360):
        font_size -= 2
        font = ImageFont.load_default(size=s(font_size))
    line_height = font_size * 1.15
    top = 262 - line_height * (len(lines) - 1) / 2
    for index, line in enumerate(lines):
        draw.text(
            (s(256), s(top + index * line_height)), line, font=font, fill="white", anchor="mm"
        )
    small = ImageFont.load_default(size=s(22))
    draw.text((s(256), s(392)), issuer, font=small, fill=(255, 255, 255, 235), anchor="mm")
    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
