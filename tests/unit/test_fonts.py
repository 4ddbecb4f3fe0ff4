"""The shared font checks: a character counts as drawable when any font of the stack has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cme_tracker.fonts import (
    LATIN_FONTS,
    EmbeddedFont,
    FontCandidate,
    FontMissing,
    find_font,
    missing_glyph_error,
    missing_glyphs,
    unsupported,
)


def _font(name: str, characters: str) -> EmbeddedFont:
    return EmbeddedFont(
        Path(f"/fonts/{name}.otf"), 0, f"fonts-{name.lower()}", name, frozenset(map(ord, characters))
    )


JAPANESE = _font("Japanese", "髙橋郎 ABCKLMNORSTWZaeiklnorsuz")
LATIN = _font("Latin", "ŁŚŹłśźABKLOSWZaiknsuz ")


def test_a_character_is_missing_only_when_no_font_of_the_stack_has_it() -> None:
    assert unsupported("WOŹNIAK Łukasz", [JAPANESE, LATIN]) == ["I"]
    assert unsupported("Łukasz 髙橋", [JAPANESE]) == ["Ł"]
    assert unsupported("Łukasz 髙橋", [JAPANESE, LATIN]) == []


def test_missing_glyph_error_names_every_font_and_the_member() -> None:
    missing = missing_glyphs([("000123", "髙橋 \ue000郎")], [JAPANESE, LATIN])
    error = missing_glyph_error(missing, [JAPANESE, LATIN], "certificate")
    assert [item["code_point"] for item in error.details] == ["U+E000"]
    assert "Japanese" in error.message and "fonts-latin" in error.message and "000123" in error.message


def test_without_a_font_the_error_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        find_font([FontCandidate(tmp_path / "none.ttf", 0, "fonts-dejavu-core")], "certificates")


def test_the_latin_fallback_has_the_letters_the_japanese_font_lacks() -> None:
    latin = find_font(LATIN_FONTS, "certificates")
    assert unsupported("ŁŠőčřžąęğış", [latin]) == []
