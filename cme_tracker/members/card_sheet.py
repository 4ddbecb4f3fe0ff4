"""Card sheets: member cards as an A4 PDF for the office printer, ten business cards a page with cut marks.

The design lives in ``templates/cards/`` and is rendered by a plain Jinja environment from plain values, so a
worker or the CLI can print cards without a request. WeasyPrint fetches nothing but the design's own files and
the Japanese font, which it embeds. Every character a card prints is first looked up in that font: a missing
glyph would otherwise come out as an empty box (or a glyph of some other font) on a card kept for years.
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
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import (  # type: ignore[import-untyped]
    FatalURLFetchingError,
    URLFetcher,
    URLFetcherResponse,
)

from cme_tracker.errors import DomainError
from cme_tracker.members.cards import CardFace, card_face, card_qr
from cme_tracker.members.models import Member
from cme_tracker.resources import resource_dir

CARDS_PER_PAGE = 10
"""Two columns of five 91 × 55 mm cards (the Japanese business-card size); the geometry is in sheet.css."""
SOCIETY_JA = "国際医学会"
SOCIETY_EN = "International Medical Society of Japan"
LABELS = {
    "card": "会員証",
    "card_en": "Member card",
    "member_no": "会員番号",
    "member_no_en": "Member No.",
    "former_name": "旧姓",
    "former_name_en": "formerly",
}
"""The design's fixed words: passed to the template, so the glyph check covers them as well as the names."""

_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


@dataclass(frozen=True)
class FontCandidate:
    """A font file a Debian package installs, and the face of it to use when the file is a collection."""

    path: Path
    index: int
    package: str


FONT_CANDIDATES = (
    FontCandidate(Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 0, "fonts-noto-cjk"),
    FontCandidate(Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"), 0, "fonts-ipaexfont-gothic"),
)
"""Noto Sans CJK JP first: unlike IPAex Gothic it has the kanji outside JIS X 0213, such as 𠮷 (U+20BB7).
Face 0 of the Noto collection is the Japanese one."""


class CardFontMissing(RuntimeError):
    """No Japanese font is installed: a deployment problem, not something an administrator can fix."""


class MissingGlyph(DomainError):
    """A name has a character the card font cannot draw; ``details`` lists every one, per member."""

    code = "missing_glyph"
    http_status = 422


class CardDesignError(RuntimeError):
    """The design asked for a file outside its folder, or one that could not be read."""


@dataclass(frozen=True)
class CardFont:
    """The font to embed: file and face, PostScript name (as the PDF shows it) and the characters it has."""

    path: Path
    index: int
    package: str
    postscript_name: str
    characters: frozenset[int] = field(repr=False)

    def has_glyph(self, char: str) -> bool:
        return ord(char) in self.characters


@dataclass(frozen=True)
class PrintedCard:
    """A card face with its QR code as SVG markup, for the design."""

    face: CardFace
    qr_svg: Markup


def load_card_font(candidate: FontCandidate) -> CardFont:
    with TTFont(candidate.path, fontNumber=candidate.index, lazy=True) as font:
        name = font["name"].getDebugName(6) or candidate.path.stem
        characters = frozenset(font.getBestCmap())
    return CardFont(candidate.path, candidate.index, candidate.package, name, characters)


def find_card_font(candidates: Iterable[FontCandidate] = FONT_CANDIDATES) -> CardFont:
    """The first Japanese font installed; :class:`CardFontMissing` names the packages that provide one."""
    candidates = tuple(candidates)
    for candidate in candidates:
        if candidate.path.is_file():
            return load_card_font(candidate)
    packages = " or ".join(candidate.package for candidate in candidates)
    raise CardFontMissing(
        f"no Japanese font for member cards: install the Debian package {packages} "
        f"(looked for {', '.join(str(candidate.path) for candidate in candidates)})"
    )


def printed_card(face: CardFace) -> PrintedCard:
    qr = card_qr(face.payload)
    svg = qr.svg_inline(border=4, omitsize=True, dark="#000", svgclass="qr", lineclass=None)
    return PrintedCard(face, Markup(svg))  # noqa: S704 - segno's SVG of a payload of letters, digits, hyphens


def check_glyphs(faces: Iterable[CardFace], font: CardFont) -> None:
    """Raise :class:`MissingGlyph` listing every character, of every card, that ``font`` cannot draw."""
    fixed = (SOCIETY_JA, SOCIETY_EN, *LABELS.values())
    missing: list[dict[str, str]] = [
        {"member_no": "", "text": text, "character": char, "code_point": f"U+{ord(char):04X}"}
        for text in fixed
        for char in _unsupported(text, font)
    ]
    for face in faces:
        missing.extend(
            {"member_no": face.member_no, "text": text, "character": char, "code_point": f"U+{ord(char):04X}"}
            for text in face.printed_text()
            for char in _unsupported(text, font)
        )
    if not missing:
        return
    first = missing[0]
    where = f"member {first['member_no']}" if first["member_no"] else "the card design"
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    raise MissingGlyph(
        f"The card font {font.postscript_name} (Debian package {font.package}) cannot draw "
        f"“{first['character']}” ({first['code_point']}) in “{first['text']}” of {where}{more}. Correct the "
        "name in the member records (an old form of a kanji may have been entered as another character), "
        "or install a font that has it.",
        details=missing,
    )


def _unsupported(text: str, font: CardFont) -> list[str]:
    """The characters of ``text`` that ``font`` lacks, in the composed form that text shaping will look up.

    Variation selectors are left out: a font without the variant draws the base character.
    """
    missing: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if any(ord(char) in selectors for selectors in _VARIATION_SELECTORS) or font.has_glyph(char):
            continue
        if char not in missing:
            missing.append(char)
    return missing


class DesignFetcher(URLFetcher):  # type: ignore[misc]
    """Hands WeasyPrint the design's own files and the font file, and nothing else: no network, no other file.

    A refused or unreadable resource stops the rendering rather than leaving a hole in the card.
    """

    def __init__(self, design: Path, font: Path) -> None:
        super().__init__(allowed_protocols=("file",), fail_on_errors=True)
        self._design = design.resolve()
        self._font = font.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise PermissionError(f"the card design may not fetch {url}")
        path = Path(url2pathname(parts.path)).resolve()
        if path != self._font and not path.is_relative_to(self._design):
            raise PermissionError(f"the card design may not read {path}")
        return URLFetcherResponse(url, path.read_bytes())


def _design_folder() -> Path:
    return resource_dir("templates") / "cards"


def _pages(faces: Sequence[CardFace]) -> list[list[PrintedCard]]:
    cards = [printed_card(face) for face in faces]
    return [cards[start : start + CARDS_PER_PAGE] for start in range(0, len(cards), CARDS_PER_PAGE)]


def sheet_html(faces: Sequence[CardFace]) -> str:
    """The sheets as HTML, from the plain Jinja environment of the design folder."""
    environment = Environment(
        loader=FileSystemLoader(_design_folder()), autoescape=True, undefined=StrictUndefined
    )
    return environment.get_template("sheet.html").render(
        pages=_pages(faces), society_ja=SOCIETY_JA, society_en=SOCIETY_EN, labels=LABELS
    )


def render_card_sheet(faces: Sequence[CardFace], font: CardFont | None = None) -> bytes:
    """One PDF of all ``faces``, ten a page, in the given order; the font is checked, then embedded."""
    if not faces:
        raise ValueError("a card sheet needs at least one card")
    font = font or find_card_font()
    check_glyphs(faces, font)
    design = _design_folder()
    fetcher = DesignFetcher(design, font.path)
    fonts = FontConfiguration()
    # The family is the font's PostScript name, which the PDF then shows. The faces of a collection share
    # their glyphs, and the design's lang="ja" selects the Japanese forms of kanji.
    font_face = (
        f'@font-face {{ font-family: "{font.postscript_name}"; src: url("{font.path.as_uri()}"); }}\n'
        f'html {{ font-family: "{font.postscript_name}"; }}'
    )
    try:
        stylesheets = [
            CSS(filename=str(design / "sheet.css"), url_fetcher=fetcher, font_config=fonts),
            CSS(string=font_face, url_fetcher=fetcher, font_config=fonts),
        ]
        document = HTML(string=sheet_html(faces), base_url=design.as_uri() + "/", url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(stylesheets=stylesheets, font_config=fonts)
    except FatalURLFetchingError as error:
        raise CardDesignError(f"{error}: {error.__cause__}") from error.__cause__
    return pdf


def member_card_sheet(secret: str, members: Iterable[Member], font: CardFont | None = None) -> bytes:
    """The PDF of these members' current cards, in the order given."""
    return render_card_sheet([card_face(secret, member) for member in members], font)
