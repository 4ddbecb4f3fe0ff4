"""The yearly transcript as an unsigned PDF/A-3b, by the kernel's fast pipeline.

The frame of ``certificates/transcript.html`` (border, masthead, attestation, seal) is laid out once by
WeasyPrint; each transcript typesets only its own part over it with the kernel's
:class:`~cme_tracker.documents.layout.PageLayout`:
particulars, the year's lectures grouped by symposium, totals, progress toward multi-year requirements, and
page numbers, continuing over as many pages as the year needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from jinja2 import Template

from cme_tracker.documents.geometry import BASELINE, GEOMETRY
from cme_tracker.documents.layout import (
    BOTTOM,
    FOOTER,
    GREY,
    LABEL,
    LEFT,
    NAVY,
    PARTICULARS,
    RIGHT,
    SOFT,
    TABLE,
    TOP,
    PageLayout,
    column_spans,
    style,
)
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
from cme_tracker.documents.typeset import MM, Operators, Typesetter
from cme_tracker.society import SOCIETY_ZONE_NAME
from cme_tracker.transcripts.content import AttendedSymposium, RequirementProgress, TranscriptContent

TITLE = "単位取得証明書 Transcript of CME Credits"
GOLD = (0.659, 0.537, 0.29)
TRACK = (0.91, 0.922, 0.937)


def check_transcript_glyphs(content: TranscriptContent, fonts: CertificateFonts | None = None) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` listing every character no embedded font can draw."""
    check_glyphs(content["holder"]["member_no"], _printed_text(content), fonts, "transcript")


def _printed_text(content: TranscriptContent) -> Iterator[str]:
    yield from (content["serial"], content["verify_url"])
    yield from holder_text(content["holder"])
    for symposium in content["symposia"]:
        yield from (symposium["title_ja"], symposium["title_en"], symposium["venue"] or "")
        yield symposium["timezone"]
        yield from lectures_text(symposium["lectures"])
    yield from policies_text(content["policies"])
    for progress in content["progress"]:
        yield from (progress["label"], progress["label_ja"], progress["unit"], progress["combined"])
        for year in progress["years"]:
            yield from (year["amount"], *year["codes"])


def _title(content: TranscriptContent | None) -> str:
    if content is None:
        return TITLE
    return f"{TITLE} {content['serial']}: {content['holder']['name_romaji']}"


def year_labels(year: int, basis: str) -> tuple[str, str]:
    """The year as printed: ``2026年度`` / ``Fiscal year 2026 (April–March)``, or ``2026年`` / ``Calendar
    year 2026``."""
    if basis == "fiscal":
        return f"{year}年度", f"Fiscal year {year} (April–March)"
    return f"{year}年", f"Calendar year {year}"


def design_values(content: TranscriptContent) -> dict[str, Any]:
    """What the transcript shows, derived from the content only."""
    year = content["year"]
    first, last = date.fromisoformat(year["first_day"]), date.fromisoformat(year["last_day"])
    year_ja, year_en = year_labels(year["year"], year["basis"])
    symposia = [_symposium_values(symposium, content) for symposium in content["symposia"]]
    return {
        **shared_values(content),
        "year_ja": year_ja,
        "year_en": year_en,
        "period_ja": f"{date_ja(first)} – {date_ja(last)}",
        "period_en": f"{date_en(first)} – {date_en(last)}",
        "symposia": symposia,
        "lecture_count": sum(len(symposium["lectures"]) for symposium in symposia),
        "progress": [_progress_values(progress, year["basis"]) for progress in content["progress"]],
    }


def _symposium_values(symposium: AttendedSymposium, content: TranscriptContent) -> dict[str, Any]:
    held = date.fromisoformat(symposium["date"])
    return {
        **symposium,
        "date_ja": date_ja(held),
        "date_en": date_en(held),
        "zone_note": "" if symposium["timezone"] == SOCIETY_ZONE_NAME else f"times {symposium['timezone']}",
        "lectures": [lecture_values(lecture, content["policies"]) for lecture in symposium["lectures"]],
    }


def _progress_values(progress: RequirementProgress, basis: str) -> dict[str, Any]:
    span = len(progress["years"])
    first, last = progress["years"][0]["year"], progress["years"][-1]["year"]
    amount, codes, combined = Decimal(progress["amount"]), progress["distinct_codes"], progress["combined"]
    unit = progress["unit"]
    parts_ja, parts_en, ratios = [], [], []
    if progress["required_combined"] is not None:
        required = Decimal(progress["required_combined"])
        parts_ja.append(f"単位 {progress['amount']} ＋ コード数 {codes} ＝ {combined}（必要 {required}）")
        parts_en.append(f"{unit} {progress['amount']} + distinct codes {codes} = {combined} of {required}")
        ratios.append((amount + codes) / required if required else Decimal(1))
    if progress["required_amount"] is not None:
        required = Decimal(progress["required_amount"])
        parts_ja.append(f"単位 {progress['amount']}（必要 {required}）")
        parts_en.append(f"{unit} {progress['amount']} of {required}")
        ratios.append(amount / required if required else Decimal(1))
    if progress["required_distinct_codes"] is not None:
        required_codes = progress["required_distinct_codes"]
        parts_ja.append(f"コード数 {codes}（必要 {required_codes}）")
        parts_en.append(f"distinct codes {codes} of {required_codes}")
        ratios.append(Decimal(codes) / required_codes if required_codes else Decimal(1))
    ratio = min([*ratios, Decimal(1)])
    percent = max(Decimal(0), ratio) * 100
    if progress["met"]:
        status_ja, status_en = "要件を満たしています", "Requirement met"
    else:
        status_ja, status_en = "要件に未達です", "Requirement not yet met"
    years = []
    for entry in progress["years"]:
        label_ja, label_en = year_labels(entry["year"], basis)
        years.append(
            {
                "label": f"{label_ja} {label_en.split(' (')[0]}",
                "amount": entry["amount"],
                "codes": ", ".join(entry["codes"]) or "–",
            }
        )
    return {
        **progress,
        "caption_ja": f"{progress['label_ja']}　{span}年間の進捗",
        "caption_en": f"Progress over {span} years, {first}–{last}",
        "years": years,
        "summary_ja": "；".join(parts_ja),
        "summary_en": "; ".join(parts_en),
        "percent": f"{percent:.0f}",
        "ratio": float(ratio),
        "status_ja": status_ja,
        "status_en": status_en,
    }


def transcript_html(content: TranscriptContent | None, layer: Layer, template: Template | None = None) -> str:
    """The design filled with ``content`` (None for the frame, which shows nothing of a transcript)."""
    template = template or design_template("transcript.html")
    values = {} if content is None else {**design_values(content), "qr_svg": qr_svg(content["verify_url"])}
    return template.render(layer=layer, title=_title(content), **values)


def weasyprint_transcript(
    content: TranscriptContent | None, fonts: CertificateFonts | None = None, layer: Layer = "full"
) -> bytes:
    """A layer of the transcript laid out by a fresh WeasyPrint: the shared frame, or the whole transcript
    (the reference design, and the benchmark's naive baseline)."""
    return weasyprint_document(transcript_html(content, layer), content, fonts)


class TranscriptRenderer(DocumentRenderer[TranscriptContent]):
    attachment_description = "The certified content (imsj-cme-transcript JSON)"

    def __init__(self, fonts: CertificateFonts | None = None) -> None:
        fonts = fonts or find_certificate_fonts()
        super().__init__(fonts, weasyprint_transcript(None, fonts, layer="frame"), _title(None))

    def check(self, content: TranscriptContent) -> None:
        check_transcript_glyphs(content, self.fonts)

    def layout(self, typesetter: Typesetter, content: TranscriptContent) -> list[list[Operators]]:
        return TranscriptLayout(typesetter, content).pages()

    def title(self, content: TranscriptContent) -> str:
        return _title(content)


GROUP_GEOMETRY, PROGRESS = GEOMETRY.group, GEOMETRY.progress
GROUP = style(GROUP_GEOMETRY.font, NAVY)
GROUP_SMALL = style(GROUP_GEOMETRY.small, GREY)


class TranscriptLayout(PageLayout):
    """One member's year as PDF operators over the transcript frame."""

    def __init__(self, typesetter: Typesetter, content: TranscriptContent) -> None:
        super().__init__(typesetter, content, design_values(content))

    def pages(self) -> list[list[Operators]]:
        self._new_page()
        self._particulars()
        self._symposia()
        self._totals("年間取得単位の合計", "Totals of the year by CME field")
        for progress in self.values["progress"]:
            self._progress(progress)
        self._page_numbers()
        return self._pages

    def _particulars(self) -> None:
        values, part = self.values, PARTICULARS
        left, right, column = self._particulars_columns()
        holder_bottom = self._holder(left, column)
        y = self._paragraph(right, TOP + part.padding, column, "対象期間 Period", LABEL)
        y = self._paragraph(right, y + part.label_gap, column, values["year_ja"], style(part.year))
        y = self._paragraph(right, y, column, values["year_en"], style(part.subtitle, SOFT))
        rows = [
            ("期間 From – to", values["period_ja"]),
            ("", values["period_en"]),
            ("出席 Attended", f"学術講演会 {len(values['symposia'])} 回、講演 {values['lecture_count']} 件"),
            ("", f"{len(values['symposia'])} symposia, {values['lecture_count']} lectures"),
        ]
        year_bottom = self._definitions(right, y + part.list_gap, column, rows)
        self.y = max(holder_bottom, year_bottom) + part.after

    def _heads(self) -> list[tuple[str, str, bool]]:
        return [
            ("時間", "Time", False),
            ("受講講演", "Lecture attended", False),
            ("分野", "CME field", False),
            ("受講分", "Minutes", True),
            *((policy["short"], policy["unit"], True) for policy in self.values["policies"]),
        ]

    def _symposia(self) -> None:
        columns = self._lecture_columns()
        self._table_header(columns, self._heads())
        symposia = self.values["symposia"]
        for number, symposium in enumerate(symposia):
            first_row = self._lecture_row(columns, symposium["lectures"][0], self.y, draw=False)
            if self.y + self._group_height() + first_row > BOTTOM:
                self._continue(columns)
            self._group(symposium, continued=False)
            lectures = symposium["lectures"]
            for index, lecture in enumerate(lectures):
                height = self._lecture_row(columns, lecture, self.y, draw=False)
                if self.y + height > BOTTOM:
                    self._continue(columns)
                    self._group(symposium, continued=True)
                self._lecture_row(columns, lecture, self.y, draw=True)
                self.y += height
                self._row_rule(number == len(symposia) - 1 and index == len(lectures) - 1)
        self.y += GEOMETRY.lectures.after

    def _continue(self, columns: list[tuple[float, float]]) -> None:
        self._new_page()
        self._table_header(columns, self._heads())

    def _group_height(self) -> float:
        return GROUP.line_height + GROUP_GEOMETRY.padding_top + GROUP_GEOMETRY.padding_bottom

    def _group(self, symposium: dict[str, Any], *, continued: bool) -> None:
        """The symposium's heading row: date, title and venue, gold rule beneath."""
        baseline = self.y + GROUP_GEOMETRY.padding_top + GROUP.line_height * BASELINE
        x = LEFT + TABLE.padding
        parts = [
            (symposium["date_ja"], GROUP),
            (symposium["date_en"], GROUP_SMALL),
            (symposium["title_ja"], GROUP),
        ]
        details = [symposium["title_en"], symposium["venue"] or "", symposium["zone_note"]]
        tail = " · ".join(part for part in details if part)
        if continued:
            tail += "（続き） continued"
        parts.append((tail, GROUP_SMALL))
        for text, text_style in parts:
            room = RIGHT - TABLE.padding - x
            if room <= 0:
                break
            shown = (
                self.ts.lines(text, room, text_style)[0] if self.ts.width(text, text_style) > room else text
            )
            self._text(x, baseline, shown, text_style)
            x += self.ts.width(shown + " ", text_style) + GROUP_GEOMETRY.gap
        self.y += self._group_height()
        self._rule(LEFT, RIGHT, self.y, GROUP_GEOMETRY.rule, GOLD)

    def _progress(self, progress: dict[str, Any]) -> None:
        """Progress toward a multi-year requirement: the years, the sum against the requirement, a bar."""
        geometry, totals, pad = PROGRESS, GEOMETRY.totals, TABLE.padding
        summary, figure = style(geometry.summary), style(totals.figure)
        needed = (
            totals.heading_height
            + TABLE.head_height
            + len(progress["years"]) * geometry.row_estimate
            + 2 * summary.line_height
            + geometry.bar_estimate
        )
        if self.y + geometry.before + needed > BOTTOM:
            self._new_page()
        else:
            self.y += geometry.before
        self._heading(progress["caption_ja"], progress["caption_en"])
        fixed = geometry.year + geometry.amount + geometry.spacer
        columns = column_spans([geometry.year, geometry.amount, geometry.spacer, RIGHT - LEFT - fixed])
        self._table_header(
            columns,
            [
                ("年", "Year", False),
                ("単位", progress["unit"], True),
                ("", "", False),
                ("取得コード", "Codes", False),
            ],
        )
        (year_x, _), (amount_x, amount_w), _, (codes_x, codes_w) = columns
        for index, year in enumerate(progress["years"]):
            top = self.y + totals.padding
            baseline = top + figure.line_height * BASELINE
            self._text(year_x + pad, baseline, year["label"], figure)
            self._text(amount_x + amount_w - pad, baseline, year["amount"], figure, right=True)
            bottom = self._paragraph(
                codes_x + pad, top, codes_w - 2 * pad, year["codes"], style(totals.codes)
            )
            self.y = max(bottom, top + figure.line_height) + totals.padding
            self._row_rule(index == len(progress["years"]) - 1)
        self.y = self._paragraph(
            LEFT, self.y + geometry.summary_gap, RIGHT - LEFT, progress["summary_ja"], summary
        )
        summary_en = style(geometry.summary_en, GREY)
        self.y = self._paragraph(LEFT, self.y, RIGHT - LEFT, progress["summary_en"], summary_en)
        bar_top, bar_width, bar_height = self.y + geometry.bar_gap, geometry.bar_width, geometry.bar_height
        self._bar(LEFT, bar_top, bar_width, bar_height, 1.0, TRACK)
        self._bar(LEFT, bar_top, bar_width, bar_height, progress["ratio"], GOLD if progress["met"] else NAVY)
        status = f"{progress['percent']}%  {progress['status_ja']}"
        status_x, status_baseline = LEFT + bar_width + geometry.status_gap, bar_top + geometry.status_baseline
        self._text(
            status_x, status_baseline, status, style(geometry.status, NAVY if progress["met"] else SOFT)
        )
        self._text(
            status_x + self.ts.width(status + "  ", style(geometry.status)),
            status_baseline,
            progress["status_en"],
            style(geometry.status_en, GREY),
        )
        self.y = bar_top + geometry.after

    def _bar(
        self,
        x: float,
        top: float,
        width: float,
        height: float,
        ratio: float,
        color: tuple[float, float, float],
    ) -> None:
        if ratio <= 0:
            return
        self._draw(
            b"q %.3f %.3f %.3f rg %.3f %.3f %.3f %.3f re f Q\n"
            % (
                *color,
                x * MM,
                (GEOMETRY.page.height - top - height) * MM,
                width * min(ratio, 1.0) * MM,
                height * MM,
            )
        )

    def _page_numbers(self) -> None:
        """``1 / 3`` under the serial in the corner of every page, once the count is known."""
        count = len(self._pages)
        for number, page in enumerate(self._pages, start=1):
            text = f"{number} / {count}"
            corner = style(FOOTER.corner, GREY)
            x = FOOTER.corner_right - self.ts.width(text, corner)
            page.extend(self.ts.show(x, FOOTER.page_number_baseline, text, corner))
