"""Card sheets: member cards as an A4 PDF for the office printer, ten business cards a page with cut marks.

The design lives in ``templates/cards/`` and is rendered by a plain Jinja environment from plain values, so a
worker or the CLI can print cards without a request. WeasyPrint fetches nothing but the design's own files and
the Japanese font, which it embeds. Every character a card prints is first looked up in that font: a missing
glyph would otherwise come out as an empty box (or a glyph of some other font) on a card kept for years.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

from cme_tracker.fonts import (
    JAPANESE_FONTS,
    DesignError,
    DesignFetcher,
    EmbeddedFont,
    FontCandidate,
    FontMissing,
    MissingGlyph,
    find_font,
    font_face_css,
    missing_glyph_error,
    missing_glyphs,
)
from cme_tracker.members.cards import CardFace, card_face, card_qr
from cme_tracker.members.models import Member
from cme_tracker.resources import resource_dir

__all__ = [
    "CARDS_PER_PAGE",
    "CardDesignError",
    "CardFont",
    "CardFontMissing",
    "DesignFetcher",
    "FontCandidate",
    "MissingGlyph",
    "check_glyphs",
    "find_card_font",
    "member_card_sheet",
    "render_card_sheet",
]

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

CardFont = EmbeddedFont
CardFontMissing = FontMissing
CardDesignError = DesignError


@dataclass(frozen=True)
class PrintedCard:
    """A card face with its QR code as SVG markup, for the design."""

    face: CardFace
    qr_svg: Markup


def find_card_font(candidates: Iterable[FontCandidate] = JAPANESE_FONTS) -> CardFont:
    """The first Japanese font installed; :class:`CardFontMissing` names the packages that provide one."""
    return find_font(candidates, "member cards")


def printed_card(face: CardFace) -> PrintedCard:
    qr = card_qr(face.payload)
    svg = qr.svg_inline(border=4, omitsize=True, dark="#000", svgclass="qr", lineclass=None)
    return PrintedCard(face, Markup(svg))  # noqa: S704 - segno's SVG of a payload of letters, digits, hyphens


def check_glyphs(faces: Iterable[CardFace], font: CardFont) -> None:
    """Raise :class:`MissingGlyph` listing every character, of every card, that ``font`` cannot draw."""
    fixed = (SOCIETY_JA, SOCIETY_EN, *LABELS.values())
    texts = [("", text) for text in fixed]
    texts.extend((face.member_no, text) for face in faces for text in face.printed_text())
    missing = missing_glyphs(texts, [font])
    if missing:
        raise missing_glyph_error(missing, [font], "card")


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
    font_face = f'{font_face_css([font])}\nhtml {{ font-family: "{font.postscript_name}"; }}'
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
