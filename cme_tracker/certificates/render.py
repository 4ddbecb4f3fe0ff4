"""The certificate of attendance as an unsigned PDF/A-3b, by the kernel's fast pipeline.

The frame of ``certificates/certificate.html`` (border, masthead, attestation, seal) is laid out once by
WeasyPrint; each certificate typesets only its own part over it with the kernel's
:class:`~cme_tracker.documents.layout.PageLayout`: particulars, the lectures attended and the totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from jinja2 import Template

from cme_tracker.certificates.content import CertificateContent
from cme_tracker.documents.geometry import GEOMETRY
from cme_tracker.documents.layout import BOTTOM, LABEL, PARTICULARS, SOFT, TOP, PageLayout, style
from cme_tracker.documents.render import (
    CertificateFonts,
    DocumentRenderer,
    Layer,
    check_glyphs,
    date_en,
    date_ja,
    design_template,
    find_certificate_fonts,
    holder_text,
    lecture_values,
    lectures_text,
    policies_text,
    qr_svg,
    shared_values,
    weasyprint_document,
)
from cme_tracker.documents.typeset import Operators, Typesetter


def check_certificate_glyphs(content: CertificateContent, fonts: CertificateFonts | None = None) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` listing every character no embedded font can draw."""
    check_glyphs(content["holder"]["member_no"], _printed_text(content), fonts, "certificate")


def _printed_text(content: CertificateContent) -> Iterator[str]:
    """Every variable text the certificate prints (the fixed words are checked by the design's tests)."""
    symposium = content["symposium"]
    yield from (content["serial"], content["verify_url"])
    yield from holder_text(content["holder"])
    yield from (symposium["title_ja"], symposium["title_en"], symposium["venue"] or "", symposium["timezone"])
    yield from lectures_text(content["lectures"])
    yield from policies_text(content["policies"])


def certificate_html(
    content: CertificateContent | None, layer: Layer, template: Template | None = None
) -> str:
    """The design filled with ``content`` (None for the frame, which shows nothing of a certificate)."""
    template = template or design_template("certificate.html")
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


class CertificateRenderer(DocumentRenderer[CertificateContent]):
    """Certificates of attendance."""

    attachment_description = "The certified content (imsj-cme-certificate JSON)"

    def __init__(self, font: CertificateFonts | None = None) -> None:
        fonts = font or find_certificate_fonts()
        super().__init__(fonts, weasyprint_certificate(None, fonts, layer="frame"), _title(None))

    def check(self, content: CertificateContent) -> None:
        check_certificate_glyphs(content, self.fonts)

    def layout(self, typesetter: Typesetter, content: CertificateContent) -> list[list[Operators]]:
        return MemberLayout(typesetter, content).pages()

    def title(self, content: CertificateContent) -> str:
        return _title(content)


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
        values, symposium, part = self.values, self.values["s"], PARTICULARS
        left, right, column = self._particulars_columns()
        holder_bottom = self._holder(left, column)
        y = self._paragraph(right, TOP + part.padding, column, "学術講演会 Symposium", LABEL)
        y = self._paragraph(right, y + part.label_gap, column, symposium["title_ja"], style(part.title))
        y = self._paragraph(right, y, column, symposium["title_en"], style(part.subtitle, SOFT))
        rows = [("開催日 Date", f"{values['date_ja']} / {values['date_en']}")]
        if symposium["venue"]:
            rows.append(("会場 Venue", symposium["venue"]))
        rows.append(("時刻 Times", symposium["timezone"]))
        symposium_bottom = self._definitions(right, y + part.list_gap, column, rows)
        self.y = max(holder_bottom, symposium_bottom) + part.after

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
            self._row_rule(number == len(lectures) - 1)
        self.y += GEOMETRY.lectures.after


def weasyprint_certificate(
    content: CertificateContent | None, fonts: CertificateFonts | None = None, layer: Layer = "full"
) -> bytes:
    """A layer of the HTML design laid out by WeasyPrint from scratch: the frame that every certificate
    shares, or the whole certificate (the reference design, and the benchmark's baseline)."""
    return weasyprint_document(certificate_html(content, layer), content, fonts)
