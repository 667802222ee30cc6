"""The default badge image: valid PNG and SVG, accessible, deterministic, bakeable."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from issuer.badge_image import BadgeImageError, badge_colour, badge_png, badge_svg
from schemas.baking import bake_png, bake_svg, unbake_png, unbake_svg
from schemas.learning import AchievementSpec

SVG = "{http://www.w3.org/2000/svg}"


def _achievement(name: str, language: str = "en") -> AchievementSpec:
    return AchievementSpec(
        name={language: name}, description={"en": "d"}, criteria={"en": "c"}, language=language
    )


@pytest.mark.parametrize("size", [64, 256, 512])
def test_png_is_valid_and_sized(size: int) -> None:
    data = badge_png(_achievement("Data Science Basics"), "University of Helsinki", size=size)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        image.load()
        inside = image.getpixel((size // 2, int(size * 0.84)))
        corner = image.getpixel((0, 0))
    assert isinstance(inside, tuple) and inside[3] >= 250  # the disc is opaque
    assert isinstance(corner, tuple) and corner[3] == 0  # outside it, transparent


@pytest.mark.parametrize("size", [0, 63, 2049, -1])
def test_png_size_is_bounded(size: int) -> None:
    with pytest.raises(BadgeImageError) as caught:
        badge_png(_achievement("X"), "Y", size=size)
    assert caught.value.code == "invalid_badge_image"


def test_svg_is_valid_accessible_and_escaped() -> None:
    name = 'R&D <Skills> "advanced" > basics'
    document = badge_svg(_achievement(name), "Tom & Jerry <Academy>")
    root = ET.fromstring(document)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert title.text.startswith(name) and "Tom & Jerry <Academy>" in title.text
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-label") == title.text
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "".join(texts[0].split()) == "".join(name.split())  # wrapped, nothing lost
    assert texts[1] == "Tom & Jerry <Academy>"
    assert "<Skills>" not in document and "&lt;Skills&gt;" in document


def test_long_names_wrap_over_at_most_three_lines() -> None:
    name = "Advanced Interdisciplinary Studies in Sustainable Urban Planning and Governance"
    root = ET.fromstring(badge_svg(_achievement(name), "Issuer"))
    lines = [t.text or "" for t in root.iter(f"{SVG}tspan")]
    assert 2 <= len(lines) <= 3
    assert lines[-1].endswith("\u2026")
    assert all(len(line) <= 20 for line in lines)
    short = ET.fromstring(badge_svg(_achievement("Python"), "Issuer"))
    assert [t.text for t in short.iter(f"{SVG}tspan")] == ["Python"]


def test_uses_the_achievement_language() -> None:
    achievement = AchievementSpec(
        name={"en": "Data Security", "fi": "Tietoturva"},
        description={"en": "d"},
        criteria={"en": "c"},
        language="fi",
    )
    assert "Tietoturva" in badge_svg(achievement, "Aalto")


def test_deterministic_and_name_dependent() -> None:
    one, other = _achievement("Teamwork"), _achievement("Leadership")
    assert badge_png(one, "Issuer") == badge_png(one, "Issuer")
    assert badge_svg(one, "Issuer") == badge_svg(one, "Issuer")
    assert badge_png(one, "Issuer") != badge_png(other, "Issuer")
    assert badge_colour("Teamwork") == badge_colour("Teamwork")
    assert badge_colour("Teamwork") != badge_colour("Leadership")


@pytest.mark.parametrize("name", ["Teamwork", "Leadership", "A", "Yellow Sun", "Lime", "Ω"])
def test_white_text_contrast_is_at_least_4_5(name: str) -> None:
    colour = badge_colour(name)
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    assert 1.05 / (luminance + 0.05) >= 4.5


def test_both_images_bake_and_unbake() -> None:
    achievement = _achievement("Teamwork")
    credential = '{"id": "urn:uuid:1", "type": ["VerifiableCredential", "OpenBadgeCredential"]}'
    baked_png = bake_png(badge_png(achievement, "Issuer"), credential)
    assert unbake_png(baked_png) == credential
    with Image.open(io.BytesIO(baked_png)) as image:
        image.load()  # still a valid image after baking
        assert image.size == (512, 512)
    baked_svg = bake_svg(badge_svg(achievement, "Issuer"), "h.p.s")
    assert unbake_svg(baked_svg) == "h.p.s"
    assert ET.fromstring(baked_svg).find(f"{SVG}title") is not None
