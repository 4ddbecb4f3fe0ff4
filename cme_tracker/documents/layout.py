"""Page layout of a document's own part, as PDF drawing operators over its kind's frame.

The primitives (text, wrapped paragraphs, rules) and the parts every kind shares (the serial, QR code and
verify link on each page, the holder's particulars, table headers, lecture rows, the totals by field) are
here, placed by :data:`~cme_tracker.documents.geometry.GEOMETRY` (the numbers the reference design's CSS
reads too); a kind's layout adds its own parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import segno

from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.geometry import BASELINE, GEOMETRY, Font
from cme_tracker.documents.typeset import MM, Operators, Style, Typesetter
from cme_tracker.vocabulary import CmeField

NAVY = (0.122, 0.227, 0.373)
GREY = (0.349, 0.388, 0.431)
SOFT = (0.29, 0.333, 0.376)
HAIRLINE = (0.835, 0.851, 0.871)
INK = (0.11, 0.137, 0.169)
PAGE, FOOTER, PARTICULARS, TABLE = GEOMETRY.page, GEOMETRY.footer, GEOMETRY.particulars, GEOMETRY.table
LEFT, RIGHT, TOP, BOTTOM = PAGE.left, PAGE.right, PAGE.top, PAGE.bottom
"""The page area of the member's part; the frame draws around it."""


def style(font: Font, color: tuple[float, float, float] = INK) -> Style:
    """The typesetter's style of a font of the geometry, in ``color``."""
    return Style(font.size, color, leading=font.leading, tracking=font.tracking)


LABEL = style(PARTICULARS.label, GREY)


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
            self._text(
                x + width if right else x, top + style.line_height * BASELINE, line, style, right=right
            )
            top += style.line_height
        return top

    def _rule(self, x1: float, x2: float, y: float, width: float, color: tuple[float, float, float]) -> None:
        y_pt = PAGE.height * MM - y * MM
        self._draw(
            b"q %.3f %.3f %.3f RG %.3f w %.3f %.3f m %.3f %.3f l S Q\n"
            % (*color, width * MM, x1 * MM, y_pt, x2 * MM, y_pt)
        )

    def _new_page(self) -> None:
        self._pages.append([])
        self.y = TOP
        values = self.values
        corner = f"No. {self.content['serial']}"
        self._text(
            FOOTER.corner_right, FOOTER.corner_baseline, corner, style(FOOTER.corner, GREY), right=True
        )
        if self._qr is None:  # encoding a QR code costs milliseconds: once a document
            qr = FOOTER.qr
            self._qr = _qr_operators(self.content["verify_url"], qr.left, qr.top, qr.width)
        self._draw(self._qr)
        text = FOOTER.text
        y = text.top
        for label, value, font in (
            ("証明書番号 Serial No.", self.content["serial"], FOOTER.serial),
            ("発行日 Date of issue", f"{values['issued_ja']} / {values['issued_en']}", FOOTER.issued),
            ("真正性の確認 Verify at", self.content["verify_url"], FOOTER.url),
        ):
            y = self._paragraph(text.left, y, text.width, label, style(FOOTER.label, GREY))
            y = self._paragraph(text.left, y, text.width, value, style(font)) + FOOTER.entry_gap

    # -- the shared parts --

    def _holder(self, left: float, column: float) -> float:
        """The holder's name and numbers in a column; returns the bottom."""
        values, holder, part = self.values, self.values["holder"], PARTICULARS
        y = self._paragraph(left, TOP + part.padding, column, "氏名 Name", LABEL)
        name_font = {"": part.name, "long": part.name_long, "very-long": part.name_very_long}[
            values["name_size"]
        ]
        name = holder["name_kanji"] or holder["name_romaji"]
        y = self._paragraph(left, y + part.label_gap, column, name, style(name_font))
        if holder["name_kanji"]:
            y = self._paragraph(left, y, column, holder["name_romaji"], style(part.name_latin, SOFT))
        if holder["former_family_name"]:
            y = self._paragraph(
                left,
                y + part.former_gap,
                column,
                f"旧姓 Former family name: {holder['former_family_name']}",
                style(part.former, SOFT),
            )
        rows = [
            ("会員番号 Member No.", holder["member_no"]),
            ("職種 Profession", f"{values['profession_ja']} {values['profession_en']}"),
            *((registry["label"], registry["number"]) for registry in values["registries"]),
        ]
        return self._definitions(left, y + part.list_gap, column, rows)

    def _definitions(self, x: float, y: float, width: float, rows: Sequence[tuple[str, str]]) -> float:
        part = PARTICULARS
        term, value_style = style(part.term, GREY), style(part.value)
        for label, value in rows:
            label_bottom = self._paragraph(x, y + part.term_offset, part.term_width, label, term)
            value_bottom = self._paragraph(
                x + part.value_indent, y, width - part.value_indent, value, value_style
            )
            y = max(label_bottom, value_bottom) + part.row_gap
        return y

    def _particulars_columns(self) -> tuple[float, float, float]:
        """The left edges of the holder's and the other column, and their width, each under a rule."""
        column = (RIGHT - LEFT - PARTICULARS.gap) / 2
        left, right = LEFT, LEFT + column + PARTICULARS.gap
        for x in (left, right):
            self._rule(x, x + column, TOP, PARTICULARS.rule, NAVY)
        return left, right, column

    def _table_header(
        self, columns: Sequence[tuple[float, float]], heads: Sequence[tuple[str, str, bool]]
    ) -> None:
        top = self.y
        bottom = top + TABLE.head_height
        ja_style, en_style = style(TABLE.head_ja, NAVY), style(TABLE.head_en, GREY)
        for (x, width), (ja, en, right) in zip(columns, heads, strict=True):
            inner = (x + TABLE.padding, width - 2 * TABLE.padding)
            edge = inner[0] + (inner[1] if right else 0)
            self._text(edge, bottom - TABLE.head_ja_baseline, ja, ja_style, right=right)
            self._text(edge, bottom - TABLE.head_en_baseline, en, en_style, right=right)
        self._rule(LEFT, RIGHT, top, TABLE.head_rule, NAVY)
        self._rule(LEFT, RIGHT, bottom, TABLE.head_base_rule, NAVY)
        self.y = bottom

    def _row_rule(self, last: bool) -> None:
        """The rule under a table's row: a hairline, or the table's closing rule under its last."""
        self._rule(
            LEFT, RIGHT, self.y, TABLE.closing_rule if last else TABLE.hairline, NAVY if last else HAIRLINE
        )

    def _lecture_columns(self) -> list[tuple[float, float]]:
        """(x, width) of time, title, field, minutes and one column per policy."""
        policies, lectures = len(self.values["policies"]), GEOMETRY.lectures
        fixed = [lectures.time, 0.0, lectures.field, lectures.minutes, *([lectures.award] * policies)]
        fixed[1] = RIGHT - LEFT - sum(fixed)
        return column_spans(fixed)

    def _lecture_row(
        self, columns: Sequence[tuple[float, float]], lecture: dict[str, Any], top: float, *, draw: bool
    ) -> float:
        """The row's height; with ``draw``, draw it too (measuring first keeps a row on one page)."""
        (time_x, _), (title_x, title_w), (field_x, field_w), *numbers = columns
        geometry, pad = GEOMETRY.lectures, TABLE.padding
        title_ja, small = style(geometry.title), style(geometry.small, SOFT)
        lines = [
            self.ts.lines(lecture["title_ja"], title_w - 2 * pad, title_ja),
            self.ts.lines(lecture["title_en"] or "", title_w - 2 * pad, small),
            self.ts.lines(lecture["field_ja"], field_w - 2 * pad, title_ja),
            self.ts.lines(lecture["field_en"], field_w - 2 * pad, small),
        ]
        title_h = len(lines[0]) * title_ja.line_height + len(lines[1]) * small.line_height
        field_h = len(lines[2]) * title_ja.line_height + len(lines[3]) * small.line_height
        height = max(title_h, field_h, title_ja.line_height) + 2 * geometry.padding
        if not draw:
            return height
        y = top + geometry.padding
        times = f"{lecture['starts_at']}–{lecture['ends_at']}"
        self._paragraph(time_x + pad, y, geometry.time_width, times, title_ja)
        below = self._paragraph(title_x + pad, y, title_w - 2 * pad, lecture["title_ja"], title_ja)
        self._paragraph(title_x + pad, below, title_w - 2 * pad, lecture["title_en"] or "", small)
        below = self._paragraph(field_x + pad, y, field_w - 2 * pad, lecture["field_ja"], title_ja)
        self._paragraph(field_x + pad, below, field_w - 2 * pad, lecture["field_en"], small)
        baseline = y + title_ja.line_height * BASELINE
        (minutes_x, minutes_w), *award_columns = numbers
        self._text(minutes_x + minutes_w - pad, baseline, str(lecture["minutes"]), title_ja, right=True)
        for (x, width), award in zip(award_columns, lecture["awards"], strict=True):
            amount = award["amount"] + (f" [{award['code']}]" if award["code"] else "")
            self._text(x + width - pad, baseline, amount, title_ja, right=True)
        return height

    def _heading(self, ja: str, en: str) -> None:
        """A section's bilingual caption, as the totals table has it."""
        totals = GEOMETRY.totals
        baseline = self.y + totals.heading_baseline
        self._text(LEFT, baseline, ja, style(totals.heading, NAVY))
        self._text(
            LEFT + self.ts.width(f"{ja} ", style(totals.heading)),
            baseline,
            en,
            style(totals.heading_en, GREY),
        )
        self.y += totals.heading_height

    def _totals(self, ja: str = "取得単位の合計", en: str = "Totals by CME field") -> None:
        policies, totals, pad = self.values["policies"], GEOMETRY.totals, TABLE.padding
        rows_height = totals.heading_height + TABLE.head_height + len(policies) * totals.row_estimate
        if self.y + rows_height > BOTTOM:
            self._new_page()
        self._heading(ja, en)
        widths = [totals.scheme, *([totals.amount] * len(CmeField)), totals.total, 0.0]
        widths[-1] = RIGHT - LEFT - sum(widths)
        columns = column_spans(widths)
        heads = [
            ("制度", "Scheme", False),
            *((field["ja"], field["en"], True) for field in self.values["fields"]),
            ("合計", "Total", True),
            ("取得コード", "Codes", False),
        ]
        self._table_header(columns, heads)
        label, version = style(totals.label), style(totals.version, GREY)
        figure, codes = style(totals.figure), style(totals.codes)
        for number, policy in enumerate(policies):
            top = self.y + totals.padding
            (label_x, label_w), *amount_columns, (total_x, total_w), (codes_x, codes_w) = columns
            bottom = self._paragraph(label_x + pad, top, label_w - 2 * pad, policy["label"], label)
            bottom = self._paragraph(label_x + pad, bottom, label_w - 2 * pad, policy["version"], version)
            baseline = top + figure.line_height * BASELINE
            for (x, width), amount in zip(amount_columns, policy["by_field"], strict=True):
                self._text(x + width - pad, baseline, amount, figure, right=True)
            total = f"{policy['total']} {policy['unit']}"
            self._text(total_x + total_w - pad, baseline, total, figure, right=True)
            codes_bottom = self._paragraph(codes_x + pad, top, codes_w - 2 * pad, policy["codes"], codes)
            self.y = max(bottom, codes_bottom) + totals.padding
            self._row_rule(number == len(policies) - 1)


def column_spans(widths: Sequence[float]) -> list[tuple[float, float]]:
    """(x, width) of each column of ``widths`` side by side from the left margin."""
    columns, x = [], LEFT
    for width in widths:
        columns.append((x, width))
        x += width
    return columns


def _qr_operators(url: str, x: float, y: float, size: float) -> bytes:
    """The QR code of ``url`` as filled rectangles, one a run of dark modules: vector, and no font."""
    matrix = segno.make_qr(url, error="m").matrix
    module = size / len(matrix) * MM
    left, top = x * MM, PAGE.height * MM - y * MM
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
