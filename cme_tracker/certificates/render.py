"""The certificate of attendance as an unsigned PDF/A-3b, from the plain content frozen into it.

The design lives in ``certificates/`` and is filled by a plain Jinja environment, so workers need no request.
Issuing renders thousands of certificates in one process, so the part every certificate shares (border,
masthead, attestation, seal) is laid out once, and each certificate lays out only its own part and draws the
shared one beneath it (see :mod:`cme_tracker.certificates.compose`): each file still holds only its own text.
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
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

from cme_tracker.certificates.compose import CertificateFrame
from cme_tracker.certificates.content import (
    CertificateContent,
    DocumentContent,
    HolderContent,
    LectureContent,
    PolicyTotals,
    TranscriptContent,
)
from cme_tracker.certificates.typeset import MM, Face, FontStack, Operators, Style, Typesetter
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
Content = TypeVar("Content", CertificateContent, TranscriptContent)

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
def find_certificate_fonts() -> CertificateFonts:
    """The installed fonts, looked up once per process (reading a CJK font's tables takes a good part of a
    second); :class:`~cme_tracker.fonts.FontMissing` names the Debian package to install."""
    return CertificateFonts(
        japanese=find_font(JAPANESE_FONTS, "certificates (Japanese)"),
        latin=find_font(LATIN_FONTS, "certificates (Latin)"),
        serif=find_font(JAPANESE_SERIF_FONTS, "certificates (headings)"),
    )


def check_certificate_glyphs(content: CertificateContent, fonts: CertificateFonts | None = None) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` listing every character no embedded font can draw."""
    check_glyphs(content["holder"]["member_no"], _printed_text(content), fonts, "certificate")


def check_glyphs(owner: str, texts: Iterable[str], fonts: CertificateFonts | None, what: str) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` naming ``owner`` and each character of ``texts`` that
    no checked font can draw."""
    fonts = fonts or find_certificate_fonts()
    missing = missing_glyphs(((owner, text) for text in texts), fonts.checked)
    if missing:
        raise missing_glyph_error(missing, fonts.checked, what)


def _printed_text(content: CertificateContent) -> Iterator[str]:
    """Every variable text the certificate prints (the fixed words are checked by the design's tests)."""
    symposium = content["symposium"]
    yield from (content["serial"], content["verify_url"])
    yield from holder_text(content["holder"])
    yield from (symposium["title_ja"], symposium["title_en"], symposium["venue"] or "", symposium["timezone"])
    yield from lectures_text(content["lectures"])
    yield from policies_text(content["policies"])


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


def _template(name: str = "certificate.html") -> Template:
    environment = Environment(
        loader=FileSystemLoader(design_folder()), autoescape=True, undefined=StrictUndefined
    )
    return environment.get_template(name)


def certificate_html(
    content: CertificateContent | None, layer: Layer, template: Template | None = None
) -> str:
    """The design filled with ``content`` (None for the frame, which shows nothing of a certificate)."""
    template = template or _template()
    values = {} if content is None else {**design_values(content), "qr_svg": qr_svg(content["verify_url"])}
    return template.render(layer=layer, title=_title(content), **values)


def _title(content: CertificateContent | None) -> str:
    title = "出席証明書 Certificate of Attendance"
    if content is None:
        return title
    return f"{title} {content['serial']}: {content['holder']['name_romaji']}"


def design_values(content: CertificateContent) -> dict[str, Any]:
    """What the template shows, derived from the content only: labels, dates and amounts as printed."""
    symposium = content["symposium"]
    held = date.fromisoformat(symposium["date"])
    return {
        **shared_values(content),
        "s": symposium,
        "date_ja": date_ja(held),
        "date_en": date_en(held),
        "lectures": [lecture_values(lecture, content["policies"]) for lecture in content["lectures"]],
    }


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

    attachment_description = "The certified content (imsj-cme-certificate JSON)"

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


class CertificateRenderer(DocumentRenderer[CertificateContent]):
    """Certificates of attendance."""

    def __init__(self, font: CertificateFonts | None = None) -> None:
        fonts = font or find_certificate_fonts()
        super().__init__(fonts, weasyprint_certificate(None, fonts, layer="frame"), _title(None))

    def check(self, content: CertificateContent) -> None:
        check_certificate_glyphs(content, self.fonts)

    def layout(self, typesetter: Typesetter, content: CertificateContent) -> list[list[Operators]]:
        return MemberLayout(typesetter, content).pages()

    def title(self, content: CertificateContent) -> str:
        return _title(content)


NAVY = (0.122, 0.227, 0.373)
GREY = (0.349, 0.388, 0.431)
SOFT = (0.29, 0.333, 0.376)
HAIRLINE = (0.835, 0.851, 0.871)
LABEL = Style(6.5, GREY, tracking=0.05)
LEFT, RIGHT, TOP, BOTTOM = 20.0, 190.0, 74.0, 241.0
"""The page area of the member's part, in mm, as in certificate.css; the frame draws around it."""


class PageLayout:
    """The drawing primitives and the parts every kind of document shares (the serial, QR code and verify
    link on each page, the holder's particulars, table headers, the totals by field), in mm from the sheet's
    top left corner. A kind's layout adds its own parts and calls :meth:`_new_page` when a page is full."""

    def __init__(self, typesetter: Typesetter, content: DocumentContent, values: dict[str, Any]) -> None:
        self.ts = typesetter
        self.content = content
        self.values = values
        self._pages: list[list[Operators]] = []
        self._qr: bytes | None = None
        self.y = TOP

    # -- drawing primitives, in mm from the sheet's top left corner --

    def _draw(self, operators: bytes) -> None:
        self._pages[-1].append(operators)

    def _text(self, x: float, baseline: float, text: str, style: Style, *, right: bool = False) -> None:
        if right:
            x -= self.ts.width(text, style)
        self._pages[-1].extend(self.ts.show(x, baseline, text, style))

    def _paragraph(
        self, x: float, top: float, width: float, text: str, style: Style, *, right: bool = False
    ) -> float:
        """Draw ``text`` wrapped to ``width`` with its first line's top at ``top``; returns the bottom."""
        for line in self.ts.lines(text, width, style):
            top += style.line_height
            self._text(x + width if right else x, top - style.line_height * 0.28, line, style, right=right)
        return top

    def _rule(self, x1: float, x2: float, y: float, width: float, color: tuple[float, float, float]) -> None:
        y_pt = 297 * MM - y * MM
        self._draw(
            b"q %.3f %.3f %.3f RG %.3f w %.3f %.3f m %.3f %.3f l S Q\n"
            % (*color, width * MM, x1 * MM, y_pt, x2 * MM, y_pt)
        )

    def _new_page(self) -> None:
        self._pages.append([])
        self.y = TOP
        values = self.values
        self._text(196, 15.5, f"No. {self.content['serial']}", Style(6.5, GREY, tracking=0.03), right=True)
        if self._qr is None:  # encoding a QR code costs milliseconds: once a document
            self._qr = _qr_operators(self.content["verify_url"], 18, 244, 25)
        self._draw(self._qr)
        x, y = 45.5, 245.2
        for label, value, style in (
            ("証明書番号 Serial No.", self.content["serial"], Style(8.5, tracking=0.03)),
            ("発行日 Date of issue", f"{values['issued_ja']} / {values['issued_en']}", Style(7)),
            ("真正性の確認 Verify at", self.content["verify_url"], Style(6.5)),
        ):
            y = self._paragraph(x, y, 74, label, Style(6, GREY))
            y = self._paragraph(x, y, 74, value, style) + 1

    # -- the shared parts --

    def _holder(self, left: float, column: float) -> float:
        """The holder's name and numbers in a column; returns the bottom."""
        values, holder = self.values, self.values["holder"]
        y = self._paragraph(left, TOP + 1.5, column, "氏名 Name", LABEL)
        name_style = Style(
            {"": 18, "long": 14, "very-long": 11}[values["name_size"]], leading=1.25, tracking=0.06
        )
        y = self._paragraph(left, y + 0.5, column, holder["name_kanji"] or holder["name_romaji"], name_style)
        if holder["name_kanji"]:
            y = self._paragraph(left, y, column, holder["name_romaji"], Style(10, SOFT, tracking=0.08))
        if holder["former_family_name"]:
            y = self._paragraph(
                left,
                y + 0.4,
                column,
                f"旧姓 Former family name: {holder['former_family_name']}",
                Style(7.5, SOFT),
            )
        rows = [
            ("会員番号 Member No.", holder["member_no"]),
            ("職種 Profession", f"{values['profession_ja']} {values['profession_en']}"),
            *((registry["label"], registry["number"]) for registry in values["registries"]),
        ]
        return self._definitions(left, y + 2, column, rows)

    def _definitions(self, x: float, y: float, width: float, rows: Sequence[tuple[str, str]]) -> float:
        for label, value in rows:
            label_bottom = self._paragraph(x, y + 0.3, 32, label, Style(6.5, GREY))
            y = max(label_bottom, self._paragraph(x + 33, y, width - 33, value, Style(7.5))) + 0.5
        return y

    def _table_header(
        self, columns: Sequence[tuple[float, float]], heads: Sequence[tuple[str, str, bool]]
    ) -> None:
        top = self.y
        bottom = top + 7.5
        for (x, width), (ja, en, right) in zip(columns, heads, strict=True):
            inner = (x + 1.2, width - 2.4)
            self._text(inner[0] + (inner[1] if right else 0), bottom - 4.1, ja, Style(7, NAVY), right=right)
            self._text(inner[0] + (inner[1] if right else 0), bottom - 1.3, en, Style(5.6, GREY), right=right)
        self._rule(LEFT, RIGHT, top, 0.5, NAVY)
        self._rule(LEFT, RIGHT, bottom, 0.25, NAVY)
        self.y = bottom

    def _lecture_columns(self) -> list[tuple[float, float]]:
        """(x, width) of time, title, field, minutes and one column per policy."""
        policies = len(self.values["policies"])
        fixed = [17.0, 0.0, 27.0, 13.0, *([14.0] * policies)]
        fixed[1] = RIGHT - LEFT - sum(fixed)
        return _columns(fixed)

    def _lecture_row(
        self, columns: Sequence[tuple[float, float]], lecture: dict[str, Any], top: float, *, draw: bool
    ) -> float:
        """The row's height; with ``draw``, draw it too (measuring first keeps a row on one page)."""
        (time_x, _), (title_x, title_w), (field_x, field_w), *numbers = columns
        title_ja, small = Style(8, leading=1.15), Style(6.5, SOFT, leading=1.15)
        lines = [
            self.ts.lines(lecture["title_ja"], title_w - 2.4, title_ja),
            self.ts.lines(lecture["title_en"] or "", title_w - 2.4, small),
            self.ts.lines(lecture["field_ja"], field_w - 2.4, title_ja),
            self.ts.lines(lecture["field_en"], field_w - 2.4, small),
        ]
        title_h = len(lines[0]) * title_ja.line_height + len(lines[1]) * small.line_height
        field_h = len(lines[2]) * title_ja.line_height + len(lines[3]) * small.line_height
        height = max(title_h, field_h, title_ja.line_height) + 1.4
        if not draw:
            return height
        y = top + 0.7
        self._paragraph(time_x + 1.2, y, 20, f"{lecture['starts_at']}–{lecture['ends_at']}", title_ja)
        below = self._paragraph(title_x + 1.2, y, title_w - 2.4, lecture["title_ja"], title_ja)
        self._paragraph(title_x + 1.2, below, title_w - 2.4, lecture["title_en"] or "", small)
        below = self._paragraph(field_x + 1.2, y, field_w - 2.4, lecture["field_ja"], title_ja)
        self._paragraph(field_x + 1.2, below, field_w - 2.4, lecture["field_en"], small)
        baseline = y + title_ja.line_height * 0.72
        (minutes_x, minutes_w), *award_columns = numbers
        self._text(minutes_x + minutes_w - 1.2, baseline, str(lecture["minutes"]), title_ja, right=True)
        for (x, width), award in zip(award_columns, lecture["awards"], strict=True):
            amount = award["amount"] + (f" [{award['code']}]" if award["code"] else "")
            self._text(x + width - 1.2, baseline, amount, title_ja, right=True)
        return height

    def _heading(self, ja: str, en: str) -> None:
        """A section's bilingual caption, as the totals table has it."""
        self._text(LEFT, self.y + 3.6, ja, Style(8.5, NAVY))
        self._text(LEFT + self.ts.width(f"{ja} ", Style(8.5)), self.y + 3.6, en, Style(6.5, GREY))
        self.y += 5.2

    def _totals(self, ja: str = "取得単位の合計", en: str = "Totals by CME field") -> None:
        policies = self.values["policies"]
        rows_height = 5.2 + 7.5 + len(policies) * 6.5
        if self.y + rows_height > BOTTOM:
            self._new_page()
        self._heading(ja, en)
        widths = [40.0, *([16.5] * len(CmeField)), 17.0, 0.0]
        widths[-1] = RIGHT - LEFT - sum(widths)
        columns = _columns(widths)
        heads = [
            ("制度", "Scheme", False),
            *((field["ja"], field["en"], True) for field in self.values["fields"]),
            ("合計", "Total", True),
            ("取得コード", "Codes", False),
        ]
        self._table_header(columns, heads)
        for number, policy in enumerate(policies):
            top = self.y
            (label_x, label_w), *amount_columns, (total_x, total_w), (codes_x, codes_w) = columns
            bottom = self._paragraph(
                label_x + 1.2, top + 0.9, label_w - 2.4, policy["label"], Style(7.5, leading=1.15)
            )
            bottom = self._paragraph(
                label_x + 1.2, bottom, label_w - 2.4, policy["version"], Style(6, GREY, leading=1.15)
            )
            baseline = top + 0.9 + Style(7.5).line_height * 0.72
            for (x, width), amount in zip(amount_columns, policy["by_field"], strict=True):
                self._text(x + width - 1.2, baseline, amount, Style(7.5), right=True)
            self._text(
                total_x + total_w - 1.2,
                baseline,
                f"{policy['total']} {policy['unit']}",
                Style(7.5),
                right=True,
            )
            codes_bottom = self._paragraph(codes_x + 1.2, top + 0.9, codes_w - 2.4, policy["codes"], Style(7))
            self.y = max(bottom, codes_bottom) + 0.9
            last = number == len(policies) - 1
            self._rule(LEFT, RIGHT, self.y, 0.4 if last else 0.2, NAVY if last else HAIRLINE)


def _columns(widths: Sequence[float]) -> list[tuple[float, float]]:
    """(x, width) of each column of ``widths`` side by side from the left margin."""
    columns, x = [], LEFT
    for width in widths:
        columns.append((x, width))
        x += width
    return columns


class MemberLayout(PageLayout):
    """The member's part (certificate.html's "member" layer) as PDF operators: particulars, lectures and
    totals flowing over as many pages as they need, serial and QR code on each."""

    def __init__(self, typesetter: Typesetter, content: CertificateContent) -> None:
        super().__init__(typesetter, content, design_values(content))

    def pages(self) -> list[list[Operators]]:
        self._new_page()
        self._particulars()
        self._lectures()
        self._totals()
        return self._pages

    def _particulars(self) -> None:
        values, symposium = self.values, self.values["s"]
        column = (RIGHT - LEFT - 8) / 2
        left, right = LEFT, LEFT + column + 8
        for x in (left, right):
            self._rule(x, x + column, TOP, 0.5, NAVY)
        holder_bottom = self._holder(left, column)
        y = self._paragraph(right, TOP + 1.5, column, "学術講演会 Symposium", LABEL)
        y = self._paragraph(right, y + 0.5, column, symposium["title_ja"], Style(11))
        y = self._paragraph(right, y, column, symposium["title_en"], Style(8.5, SOFT))
        rows = [("開催日 Date", f"{values['date_ja']} / {values['date_en']}")]
        if symposium["venue"]:
            rows.append(("会場 Venue", symposium["venue"]))
        rows.append(("時刻 Times", symposium["timezone"]))
        symposium_bottom = self._definitions(right, y + 2, column, rows)
        self.y = max(holder_bottom, symposium_bottom) + 3.5

    def _lectures(self) -> None:
        columns = self._lecture_columns()
        heads = [
            ("時間", "Time", False),
            ("受講講演", "Lecture attended", False),
            ("分野", "CME field", False),
            ("受講分", "Minutes", True),
            *((policy["short"], policy["unit"], True) for policy in self.values["policies"]),
        ]
        self._table_header(columns, heads)
        lectures = self.values["lectures"]
        for number, lecture in enumerate(lectures):
            height = self._lecture_row(columns, lecture, self.y, draw=False)
            if self.y + height > BOTTOM:
                self._new_page()
                self._table_header(columns, heads)
            self._lecture_row(columns, lecture, self.y, draw=True)
            self.y += height
            last = number == len(lectures) - 1
            self._rule(LEFT, RIGHT, self.y, 0.4 if last else 0.2, NAVY if last else HAIRLINE)
        self.y += 4


def _qr_operators(url: str, x: float, y: float, size: float) -> bytes:
    """The QR code of ``url`` as filled rectangles, one a run of dark modules: vector, and no font."""
    matrix = segno.make_qr(url, error="m").matrix
    module = size / len(matrix) * MM
    left, top = x * MM, 297 * MM - y * MM
    rects = []
    for row, modules in enumerate(matrix):
        column = 0
        while column < len(modules):
            if not modules[column]:
                column += 1
                continue
            start = column
            while column < len(modules) and modules[column]:
                column += 1
            rects.append(
                b"%.3f %.3f %.3f %.3f re"
                % (left + start * module, top - (row + 1) * module, (column - start) * module, module)
            )
    return b"q 0.11 0.137 0.169 rg\n" + b"\n".join(rects) + b"\nf Q\n"


def weasyprint_certificate(
    content: CertificateContent | None, fonts: CertificateFonts | None = None, layer: Layer = "full"
) -> bytes:
    """A layer of the HTML design laid out by WeasyPrint from scratch: the frame that every certificate
    shares, or the whole certificate (the reference design, and the benchmark's baseline)."""
    return weasyprint_document(certificate_html(content, layer), content, fonts)


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
        ]
        document = HTML(string=html, base_url=design.as_uri() + "/", url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(
            stylesheets=stylesheets, font_config=font_config, pdf_variant=PDF_VARIANT, attachments=attachments
        )
    except FatalURLFetchingError as error:
        raise DesignError(f"{error}: {error.__cause__}") from error.__cause__
    return pdf
