"""Rendering any kind of document as an unsigned PDF/A-3b, from the plain content frozen into it.

The designs live in ``certificates/`` and are filled by a plain Jinja environment, so workers need no request.
Issuing renders thousands of documents in one process, so the part every document of a kind shares (border,
masthead, attestation, seal) is laid out once by WeasyPrint, and each document lays out only its own part
(:mod:`cme_tracker.documents.layout`) and draws the shared one beneath it
(see :mod:`cme_tracker.documents.compose`): each file still holds only its own text. Both layouts take their
numbers from :mod:`cme_tracker.documents.geometry`, the designs as CSS custom properties. A kind adds its
:class:`DocumentRenderer`, its design values and its layout.
"""

from __future__ import annotations

import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import segno
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

from cme_tracker.documents.compose import CertificateFrame
from cme_tracker.documents.content import DocumentContent, HolderContent, LectureContent, PolicyTotals
from cme_tracker.documents.geometry import reference_css
from cme_tracker.documents.typeset import Face, FontStack, Operators, Typesetter
from cme_tracker.fonts import (
    JAPANESE_FONTS,
    JAPANESE_SERIF_FONTS,
    LATIN_FONTS,
    DesignError,
    DesignFetcher,
    EmbeddedFont,
    find_font,
    font_face_css,
    missing_glyph_error,
    missing_glyphs,
)
from cme_tracker.resources import resource_dir
from cme_tracker.vocabulary import CmeField, Profession

Layer = Literal["full", "frame", "member"]
Content = TypeVar("Content", bound=DocumentContent)

ATTACHMENT_NAME = "certificate.json"
"""The attachment's name in both kinds of document, so that one check reads certificates and transcripts."""
PDF_VARIANT = "pdf/a-3b"
_FIELD_ALIASES = {"humanities": CmeField.DISCOURSE}
"""The content names the discourse field by its subject; the vocabulary by the society's word for it."""
_REGISTRIES = (
    ("medical_registry_no", "医籍登録番号 (JMA)"),
    ("dental_registry_no", "歯科医籍登録番号 (JDA)"),
    ("efn", "EFN (Germany)"),
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class CertificateFonts:
    """The embedded fonts: Japanese and Latin for every variable text, a serif for the fixed headings."""

    japanese: EmbeddedFont
    latin: EmbeddedFont
    serif: EmbeddedFont

    @property
    def checked(self) -> tuple[EmbeddedFont, EmbeddedFont]:
        """The fonts that print names and figures, in the order text shaping falls back through them."""
        return (self.japanese, self.latin)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(font.path for font in (self.japanese, self.latin, self.serif))

    def css(self) -> str:
        sans = ", ".join(f'"{font.postscript_name}"' for font in self.checked)
        faces = font_face_css((self.japanese, self.latin, self.serif))
        return f':root {{ --sans: {sans}; --serif: "{self.serif.postscript_name}"; }}\n{faces}'


@functools.cache
def glyph_centre(font: EmbeddedFont) -> float:
    """(ascent − descent) / 2 of ``font`` in ems: how far below the middle of a CSS line box its baseline
    lies, which the reference design needs to put its lines where the fast layout does."""
    with TTFont(font.path, fontNumber=font.index, lazy=True) as tt:
        hhea = tt["hhea"]
        return float((hhea.ascent + hhea.descent) / 2 / tt["head"].unitsPerEm)


@functools.cache
def find_certificate_fonts() -> CertificateFonts:
    """The installed fonts, looked up once per process (reading a CJK font's tables takes a good part of a
    second); :class:`~cme_tracker.fonts.FontMissing` names the Debian package to install."""
    return CertificateFonts(
        japanese=find_font(JAPANESE_FONTS, "certificates (Japanese)"),
        latin=find_font(LATIN_FONTS, "certificates (Latin)"),
        serif=find_font(JAPANESE_SERIF_FONTS, "certificates (headings)"),
    )


def check_glyphs(owner: str, texts: Iterable[str], fonts: CertificateFonts | None, what: str) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` naming ``owner`` and each character of ``texts`` that
    no checked font can draw."""
    fonts = fonts or find_certificate_fonts()
    missing = missing_glyphs(((owner, text) for text in texts), fonts.checked)
    if missing:
        raise missing_glyph_error(missing, fonts.checked, what)


def holder_text(holder: HolderContent) -> Iterator[str]:
    yield from (holder["member_no"], holder["name_romaji"])
    yield from (holder["name_kanji"] or "", holder["former_family_name"] or "")
    registry = holder["registry"]
    yield from (
        number
        for number in (registry["medical_registry_no"], registry["dental_registry_no"], registry["efn"])
        if number
    )


def lectures_text(lectures: Iterable[LectureContent]) -> Iterator[str]:
    for lecture in lectures:
        yield from (lecture["title_ja"], lecture["title_en"] or "", lecture["starts_at"], lecture["ends_at"])
        yield from (award["amount"] + (award["code"] or "") for award in lecture["credits"].values())


def policies_text(policies: Iterable[PolicyTotals]) -> Iterator[str]:
    for policy in policies:
        yield from (policy["label"], policy["version"], policy["unit"], policy["total"], policy["code"])
        yield from (*policy["by_field"].values(), *(policy["codes"] or ()))


def design_folder() -> Path:
    return resource_dir("certificates")


def design_template(name: str) -> Template:
    """The design ``name`` of ``certificates/`` in a plain Jinja environment: workers need no request."""
    environment = Environment(
        loader=FileSystemLoader(design_folder()), autoescape=True, undefined=StrictUndefined
    )
    return environment.get_template(name)


def shared_values(content: DocumentContent) -> dict[str, Any]:
    """The values every kind of document shows: holder, issue date, policies and the fields' names."""
    holder = content["holder"]
    profession = Profession(holder["profession"])
    issued = datetime.fromisoformat(content["issued_at"]).date()
    return {
        "c": content,
        "holder": holder,
        "name_size": _name_size(holder["name_kanji"], holder["name_romaji"]),
        "profession_ja": profession.label_ja,
        "profession_en": profession.label_en,
        "registries": [
            {"label": label, "number": holder["registry"][key]}  # type: ignore[literal-required]
            for key, label in _REGISTRIES
            if holder["registry"][key]  # type: ignore[literal-required]
        ],
        "issued_ja": date_ja(issued),
        "issued_en": date_en(issued),
        "policies": [_policy_values(policy) for policy in content["policies"]],
        "fields": [
            {"ja": field.label_ja.split("（")[0], "en": field.label_en.split(" (")[0]} for field in CmeField
        ],
    }


def _name_size(kanji: str | None, romaji: str) -> str:
    """Long names get a smaller size, so that they keep to the column (and wrap only when very long)."""
    length, long, very_long = (len(kanji), 10, 14) if kanji else (len(romaji), 16, 24)
    return "very-long" if length > very_long else "long" if length > long else ""


def _field(key: str) -> CmeField:
    return _FIELD_ALIASES.get(key) or CmeField(key)


def lecture_values(lecture: LectureContent, policies: Sequence[PolicyTotals]) -> dict[str, Any]:
    field = _field(lecture["field"])
    return {
        **lecture,
        "field_ja": field.label_ja,
        "field_en": field.label_en,
        "awards": [
            lecture["credits"].get(policy["code"], {"amount": "–", "code": None}) for policy in policies
        ],
    }


def _policy_values(policy: PolicyTotals) -> dict[str, Any]:
    by_field = {_field(key): amount for key, amount in policy["by_field"].items()}
    return {
        **policy,
        "short": policy["code"].upper(),
        "by_field": [by_field.get(field, "0") for field in CmeField],
        "codes": ", ".join(policy["codes"] or ()) or "–",
    }


def date_ja(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def date_en(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def qr_svg(url: str) -> Markup:
    svg = segno.make_qr(url, error="m").svg_inline(border=0, omitsize=True, dark="#1c232b", lineclass=None)
    return Markup(svg)  # noqa: S704 - segno's SVG markup of a URL, escaped by segno


def attachment_json(content: DocumentContent | Mapping[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, indent=2).encode()


def attachment_description(content: DocumentContent | Mapping[str, Any]) -> str:
    return f"The certified content ({str(content['format']).split('/')[0]} JSON)"


def certificate_attachment(content: DocumentContent | Mapping[str, Any]) -> Attachment:
    """``certificate.json`` as PDF/A-3 wants it: the data the page shows (AFRelationship /Data)."""
    issued = datetime.fromisoformat(content["issued_at"]).astimezone(UTC).replace(tzinfo=None)
    return Attachment(
        string=attachment_json(content).decode(),
        name=ATTACHMENT_NAME,
        description=attachment_description(content),
        relationship="Data",
        created=issued,
        modified=issued,
    )


class DocumentRenderer(ABC, Generic[Content]):
    """Reused for many documents of one kind in one process: fonts and the static frame are prepared once,
    each document lays out its own part (:meth:`layout`) over the frame on as many pages as it needs."""

    attachment_description: str
    """What the PDF calls its ``certificate.json``, naming the kind's JSON format."""

    def __init__(self, fonts: CertificateFonts | None, frame_pdf: bytes, frame_title: str) -> None:
        self.fonts = fonts or find_certificate_fonts()
        self._fonts = FontStack([Face(font) for font in self.fonts.checked])
        self._frame = CertificateFrame(frame_pdf, frame_title, self.attachment_description)

    @abstractmethod
    def check(self, content: Content) -> None:
        """Raise MissingGlyph for a character no font can print."""

    @abstractmethod
    def layout(self, typesetter: Typesetter, content: Content) -> list[list[Operators]]:
        """The document's own part as drawing operators, one list per page."""

    @abstractmethod
    def title(self, content: Content) -> str:
        """The document's title in its metadata."""

    def render(self, content: Content) -> bytes:
        """The unsigned PDF/A-3b: the design filled with ``content``, ``certificate.json`` attached."""
        self.check(content)
        typesetter = Typesetter(self._fonts)
        pages = self.layout(typesetter, content)
        return self._frame.document(
            pages,
            typesetter,
            attachment=attachment_json(content),
            issued=datetime.fromisoformat(content["issued_at"]),
            title=self.title(content),
        )


def weasyprint_document(
    html: str, content: DocumentContent | None, fonts: CertificateFonts | None = None
) -> bytes:
    """``html`` (a design of certificates/) laid out by a fresh WeasyPrint as PDF/A-3b, with ``content``
    attached when given."""
    fonts = fonts or find_certificate_fonts()
    design = design_folder()
    fetcher = DesignFetcher(design, *fonts.paths)
    font_config = FontConfiguration()
    attachments = [] if content is None else [certificate_attachment(content)]
    try:
        stylesheets = [
            CSS(filename=str(design / "certificate.css"), url_fetcher=fetcher, font_config=font_config),
            CSS(string=fonts.css(), url_fetcher=fetcher, font_config=font_config),
            CSS(string=reference_css(glyph_centre(fonts.japanese)), font_config=font_config),
        ]
        document = HTML(string=html, base_url=design.as_uri() + "/", url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(
            stylesheets=stylesheets, font_config=font_config, pdf_variant=PDF_VARIANT, attachments=attachments
        )
    except FatalURLFetchingError as error:
        raise DesignError(f"{error}: {error.__cause__}") from error.__cause__
    return pdf
