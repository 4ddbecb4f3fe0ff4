"""Page layout of a document's own part, as PDF drawing operators over its kind's frame.

The primitives (text, wrapped paragraphs, rules) and the parts every kind shares (the serial, QR code and
verify link on each page, the holder's particulars, table headers, lecture rows, the totals by field) are
here, in mm from the sheet's top left corner; a kind's layout adds its own parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import segno

from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.typeset import MM, Operators, Style, Typesetter
from cme_tracker.vocabulary import CmeField

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
        return column_spans(fixed)

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
        columns = column_spans(widths)
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
