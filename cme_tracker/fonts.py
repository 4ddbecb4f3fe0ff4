"""The fonts our PDFs embed: finding the installed files, and checking that they can draw a text.

Every document that prints a name looks each character up first: a missing glyph would otherwise come out
as an empty box, or as a glyph of whatever font the system falls back to, on a paper kept for years.
WeasyPrint may read the design's own files and these fonts, and nothing else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from cme_tracker.errors import DomainError


@dataclass(frozen=True)
class FontCandidate:
    """A font file a Debian package installs, and the face of it to use when the file is a collection."""

    path: Path
    index: int
    package: str


JAPANESE_FONTS = (
    FontCandidate(Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 0, "fonts-noto-cjk"),
    FontCandidate(Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"), 0, "fonts-ipaexfont-gothic"),
)
"""Noto Sans CJK JP first: unlike IPAex Gothic it has the kanji outside JIS X 0213, such as 𠮷 (U+20BB7).
Face 0 of the Noto collection is the Japanese one."""

JAPANESE_SERIF_FONTS = (
    FontCandidate(Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), 0, "fonts-noto-cjk"),
    FontCandidate(Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"), 0, "fonts-ipaexfont-mincho"),
)
"""For the fixed headings of formal documents only: names and figures are printed with the checked fonts."""

LATIN_FONTS = (
    FontCandidate(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), 0, "fonts-dejavu-core"),
)
"""The Japanese fonts lack Latin letters of European names (Ł, Š, ő, č): DejaVu Sans draws them."""

_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


class FontMissing(RuntimeError):
    """No font of a kind is installed: a deployment problem, not something an administrator can fix."""


class MissingGlyph(DomainError):
    """A text has a character no embedded font can draw; ``details`` lists every one, with where it is."""

    code = "missing_glyph"
    http_status = 422


class DesignError(RuntimeError):
    """A design asked for a file outside its folder, or one that could not be read."""


@dataclass(frozen=True)
class EmbeddedFont:
    """The font to embed: file and face, PostScript name (as the PDF shows it) and the characters it has."""

    path: Path
    index: int
    package: str
    postscript_name: str
    characters: frozenset[int] = field(repr=False)

    def has_glyph(self, char: str) -> bool:
        return ord(char) in self.characters


def load_font(candidate: FontCandidate) -> EmbeddedFont:
    with TTFont(candidate.path, fontNumber=candidate.index, lazy=True) as font:
        name = font["name"].getDebugName(6) or candidate.path.stem
        characters = frozenset(font.getBestCmap())
    return EmbeddedFont(candidate.path, candidate.index, candidate.package, name, characters)


def find_font(candidates: Iterable[FontCandidate], purpose: str) -> EmbeddedFont:
    """The first installed candidate; :class:`FontMissing` names the packages that provide one."""
    candidates = tuple(candidates)
    for candidate in candidates:
        if candidate.path.is_file():
            return load_font(candidate)
    packages = " or ".join(candidate.package for candidate in candidates)
    raise FontMissing(
        f"no font for {purpose}: install the Debian package {packages} "
        f"(looked for {', '.join(str(candidate.path) for candidate in candidates)})"
    )


def unsupported(text: str, fonts: Sequence[EmbeddedFont]) -> list[str]:
    """The characters of ``text`` that none of ``fonts`` has, in the composed form text shaping looks up.

    Variation selectors are left out: a font without the variant draws the base character.
    """
    missing: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if any(ord(char) in selectors for selectors in _VARIATION_SELECTORS):
            continue
        if not any(font.has_glyph(char) for font in fonts) and char not in missing:
            missing.append(char)
    return missing


def missing_glyphs(texts: Iterable[tuple[str, str]], fonts: Sequence[EmbeddedFont]) -> list[dict[str, str]]:
    """Every character no font has, of ``(owner, text)`` pairs: the ``details`` of :class:`MissingGlyph`."""
    return [
        {"member_no": owner, "text": text, "character": char, "code_point": f"U+{ord(char):04X}"}
        for owner, text in texts
        for char in unsupported(text, fonts)
    ]


def missing_glyph_error(
    missing: Sequence[dict[str, str]], fonts: Sequence[EmbeddedFont], what: str
) -> MissingGlyph:
    """The error for :func:`missing_glyphs`: the first character in full, how many more, what to do."""
    first = missing[0]
    where = f"member {first['member_no']}" if first["member_no"] else f"the {what} design"
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    names = ", ".join(f"{font.postscript_name} (Debian package {font.package})" for font in fonts)
    font_words = f"The {what} font {names} cannot" if len(fonts) == 1 else f"No {what} font of {names} can"
    return MissingGlyph(
        f"{font_words} draw “{first['character']}” ({first['code_point']}) in “{first['text']}” of {where}"
        f"{more}. Correct the name in the member records (an old form of a kanji may have been entered as "
        "another character), or install a font that has it.",
        details=list(missing),
    )


def font_face_css(fonts: Iterable[EmbeddedFont]) -> str:
    """``@font-face`` rules naming each font by its PostScript name, which the PDF then shows."""
    return "\n".join(
        f'@font-face {{ font-family: "{font.postscript_name}"; src: url("{font.path.as_uri()}"); }}'
        for font in fonts
    )


class DesignFetcher(URLFetcher):  # type: ignore[misc]
    """Hands WeasyPrint the design's own files and the fonts, and nothing else: no network, no other file.

    A refused or unreadable resource stops the rendering rather than leaving a hole in the document.
    """

    def __init__(self, design: Path, *fonts: Path) -> None:
        super().__init__(allowed_protocols=("file",), fail_on_errors=True)
        self._design = design.resolve()
        self._fonts = frozenset(font.resolve() for font in fonts)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise PermissionError(f"the design may not fetch {url}")
        path = Path(url2pathname(parts.path)).resolve()
        if path not in self._fonts and not path.is_relative_to(self._design):
            raise PermissionError(f"the design may not read {path}")
        return URLFetcherResponse(url, path.read_bytes())
