"""The page geometry of the society's documents, in one place: millimetres from the sheet's top left corner.

The fast layout (:mod:`cme_tracker.documents.layout` and the kinds' render modules) positions text with these
numbers, and the reference design (``certificates/certificate.css``) reads the same numbers as CSS custom
properties that :func:`reference_css` writes, so the two cannot drift apart
(tests/integration/test_certificate_geometry.py compares their text positions).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

PT = 25.4 / 72
"""Millimetres per point: font sizes are in points, everything else in millimetres."""
BASELINE = 0.72
"""The fast layout sets a line's baseline this share of its line height below the line's top."""


@dataclass(frozen=True)
class Font:
    """A text's size, line height (a multiple of the size) and tracking (extra space after each character)."""

    size: float
    """Points."""
    leading: float = 1.3
    tracking: float = 0.0
    """Ems."""

    @property
    def line_height(self) -> float:
        """Millimetres."""
        return self.size * self.leading * PT


@dataclass(frozen=True)
class Column:
    """A box as tall as what it holds."""

    left: float
    top: float
    width: float


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Page:
    """The A4 sheet and the area the member's part flows in, between masthead and footer."""

    width: float = 210.0
    height: float = 297.0
    left: float = 20.0
    right: float = 190.0
    top: float = 74.0
    bottom: float = 241.0


@dataclass(frozen=True)
class Frame:
    """The boxes of the part every document of a kind shares (laid out by WeasyPrint once)."""

    outer: Box = Box(8.0, 8.0, 194.0, 281.0)
    outer_rule: float = 0.7
    inner: Box = Box(9.6, 9.6, 190.8, 277.8)
    inner_rule: float = 0.25
    masthead: Column = Column(20.0, 17.0, 170.0)
    statement: Column = Column(24.0, 63.0, 162.0)
    attestation: Column = Column(112.0, 247.0, 78.0)
    signed_note: Column = Column(16.0, 275.5, 178.0)


@dataclass(frozen=True)
class Footer:
    """What every page of a document carries: the serial in the corner (with page numbers on transcripts),
    the QR code and, beside it, serial, date of issue and verify link."""

    corner_right: float = 196.0
    corner_baseline: float = 15.5
    page_number_baseline: float = 19.0
    corner: Font = Font(6.5, tracking=0.03)
    qr: Box = Box(18.0, 244.0, 25.0, 25.0)
    text: Column = Column(45.5, 245.2, 74.0)
    entry_gap: float = 1.0
    label: Font = Font(6.0)
    serial: Font = Font(8.5, tracking=0.03)
    issued: Font = Font(7.0)
    url: Font = Font(6.5)


@dataclass(frozen=True)
class Particulars:
    """The two columns under the rule at the top of the page area: the holder, and the symposium (or year)."""

    gap: float = 8.0
    rule: float = 0.5
    padding: float = 1.5
    label: Font = Font(6.5, tracking=0.05)
    label_gap: float = 0.5
    name: Font = Font(18.0, leading=1.25, tracking=0.06)
    name_long: Font = Font(14.0, leading=1.25, tracking=0.06)
    name_very_long: Font = Font(11.0, leading=1.25, tracking=0.06)
    name_latin: Font = Font(10.0, tracking=0.08)
    former_gap: float = 0.4
    former: Font = Font(7.5)
    title: Font = Font(11.0)
    year: Font = Font(14.0, tracking=0.06)
    subtitle: Font = Font(8.5)
    list_gap: float = 2.0
    term_width: float = 32.0
    term_offset: float = 0.3
    value_indent: float = 33.0
    row_gap: float = 0.5
    term: Font = Font(6.5)
    value: Font = Font(7.5)
    after: float = 3.5


@dataclass(frozen=True)
class Table:
    """The header and rules every table of the member's part shares."""

    head_height: float = 7.5
    head_rule: float = 0.5
    head_base_rule: float = 0.25
    head_ja_baseline: float = 4.1
    head_en_baseline: float = 1.3
    """Both above the header's bottom rule."""
    head_ja: Font = Font(7.0)
    head_en: Font = Font(5.6)
    padding: float = 1.2
    """Between a column's edge and its text."""
    hairline: float = 0.2
    closing_rule: float = 0.4


@dataclass(frozen=True)
class Lectures:
    """The table of lectures attended; the title column takes the width the others leave."""

    time: float = 17.0
    field: float = 27.0
    minutes: float = 13.0
    award: float = 14.0
    """One column per credit policy."""
    time_width: float = 20.0
    padding: float = 0.7
    title: Font = Font(8.0, leading=1.15)
    small: Font = Font(6.5, leading=1.15)
    after: float = 4.0


@dataclass(frozen=True)
class Totals:
    """The totals by field, one row per policy; the codes column takes the width the others leave."""

    heading_baseline: float = 3.6
    heading_height: float = 5.2
    heading: Font = Font(8.5)
    heading_en: Font = Font(6.5)
    scheme: float = 40.0
    amount: float = 16.5
    total: float = 17.0
    padding: float = 0.9
    label: Font = Font(7.5, leading=1.15)
    version: Font = Font(6.0, leading=1.15)
    figure: Font = Font(7.5)
    codes: Font = Font(7.0)
    row_estimate: float = 6.5
    """A row's height when deciding whether the table still fits on the page."""


@dataclass(frozen=True)
class Group:
    """A transcript's heading row of one symposium's lectures, a gold rule beneath."""

    padding_top: float = 1.4
    padding_bottom: float = 0.8
    rule: float = 0.25
    gap: float = 1.2
    font: Font = Font(7.5)
    small: Font = Font(6.2)


@dataclass(frozen=True)
class Progress:
    """A transcript's progress toward a multi-year requirement: years, sum, bar and status."""

    before: float = 4.0
    year: float = 40.0
    amount: float = 24.0
    spacer: float = 4.0
    row_estimate: float = 5.0
    bar_estimate: float = 12.0
    summary_gap: float = 1.5
    summary: Font = Font(7.5)
    summary_en: Font = Font(6.5)
    bar_gap: float = 1.5
    bar_width: float = 110.0
    bar_height: float = 2.2
    status_gap: float = 4.0
    status_baseline: float = 2.1
    status: Font = Font(8.0)
    status_en: Font = Font(6.5)
    after: float = 4.0


@dataclass(frozen=True)
class Geometry:
    page: Page = field(default_factory=Page)
    frame: Frame = field(default_factory=Frame)
    footer: Footer = field(default_factory=Footer)
    particulars: Particulars = field(default_factory=Particulars)
    table: Table = field(default_factory=Table)
    lectures: Lectures = field(default_factory=Lectures)
    totals: Totals = field(default_factory=Totals)
    group: Group = field(default_factory=Group)
    progress: Progress = field(default_factory=Progress)


GEOMETRY = Geometry()


def reference_css(centre: float, geometry: Geometry = GEOMETRY) -> str:
    """Every number of ``geometry`` as a CSS custom property, for the reference design: ``--page-left:
    20mm``, and for a font ``-size``, ``-leading``, ``-tracking``, ``-line-height``, ``-depth``, ``-shift``.

    CSS centres a line's glyphs in its line box by the font's ascent and descent (``centre`` is the text
    font's (ascent − descent) / 2 in ems), so its baseline lies ``-depth`` below the line's top; the fast
    layout puts it :data:`BASELINE` of the line height down: ``-shift`` moves a CSS line onto the fast one.
    """
    properties: list[tuple[str, str]] = []
    for section in fields(geometry):
        _properties(properties, section.name, getattr(geometry, section.name), centre)
    return ":root {\n" + "".join(f"  {name}: {value};\n" for name, value in properties) + "}\n"


def css_depth(font: Font, centre: float) -> float:
    """How far (mm) below a CSS line's top the baseline of ``font`` lies."""
    return font.line_height / 2 + centre * font.size * PT


def _properties(out: list[tuple[str, str]], name: str, value: Any, centre: float) -> None:
    if isinstance(value, Font):
        out.append((f"--{name}-size", f"{value.size:g}pt"))
        out.append((f"--{name}-leading", f"{value.leading:g}"))
        out.append((f"--{name}-tracking", f"{value.tracking:g}em"))
        depth = css_depth(value, centre)
        out.append((f"--{name}-line-height", f"{value.line_height:.3f}mm"))
        out.append((f"--{name}-depth", f"{depth:.3f}mm"))
        out.append((f"--{name}-shift", f"{BASELINE * value.line_height - depth:.3f}mm"))
    elif is_dataclass(value):
        for part in fields(value):
            _properties(out, f"{name}-{part.name.replace('_', '-')}", getattr(value, part.name), centre)
    else:
        out.append((f"--{name}", f"{value:g}mm"))
