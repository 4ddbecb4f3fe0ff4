"""A minimal SpreadsheetML (XLSX) writer: typed cells, frozen header, column widths, rows streamed.

openpyxl builds an object and an XML element per cell, about 25 µs each, so a society's year (ten million
cells) took four minutes. Here a row is text: cells whose content repeats row after row (a member's cells, a
lecture's, an award's) are rendered once as fragments split where the row number goes, and a row joins them
with its number. Sheets stream to temporary files and go into the package at the end (as openpyxl does
it), their sizes known. Strings are inline (no shared-strings table to hold in memory), numbers are written
as their decimal text, date-times as Excel serial numbers with a date-time format. openpyxl reads the files
(the tests use it), as do Excel and LibreOffice.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from openpyxl.utils import get_column_letter

from cme_tracker.amounts import format_amount

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATETIME_STYLE = 1
"""The cell format (``s``) of date-time cells in :data:`STYLES`."""
Cell = str | int | Decimal | datetime | None

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{DATETIME_FORMAT}"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - Excel's serial dates are naive
_SECONDS_PER_DAY = 86_400
_COPY_CHUNK = 1 << 20
_LETTERS = [get_column_letter(index) for index in range(1, 703)]  # A to ZZ
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def xml_text(text: str) -> str:
    """Text as the content of a ``<t>`` element.

    Characters XML cannot carry are written as SpreadsheetML's ``_xHHHH_`` escapes (an underscore that
    would start one is escaped itself), as Excel reads them back.
    """
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
    return text.translate(_ESCAPES)


def excel_serial(moment: datetime) -> float:
    """A naive datetime as Excel's serial number: days since 1899-12-30 and the fraction of the day.

    Computed as openpyxl does (whole days, then the time of day), so the same moment gives the same number,
    with its correction for the dates before March 1900 (Excel counts 29 February 1900).
    """
    days = (moment - _EXCEL_EPOCH).days
    if 0 < days <= 60:
        days -= 1
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    return days + seconds / _SECONDS_PER_DAY


def string_body(text: str) -> str:
    """A text cell's XML after its reference: an inline string."""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f' t="inlineStr"><is><t{space}>{xml_text(text)}</t></is></c>'


def _cell_body(value: Cell) -> str | None:
    """A cell's XML after its reference (``<c r="A1"`` + this), or None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return string_body(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("Excel has no time zones: give the local time as a naive datetime")
        return f' s="{DATETIME_STYLE}"><v>{excel_serial(value)!r}</v></c>'
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v></c>'
    number = format_amount(value) if isinstance(value, Decimal) else str(value)
    return f"><v>{number}</v></c>"


def column_letter(index: int) -> str:
    """The letters of a column, 0 for A."""
    return _LETTERS[index] if index < len(_LETTERS) else get_column_letter(index + 1)


def cell_xml(reference: str, value: Cell) -> str:
    """One cell at ``reference`` (``A1``), typed by its value; nothing for None or an empty string."""
    body = _cell_body(value)
    return "" if body is None else f'<c r="{reference}"{body}'


def fragment(first_column: int, values: Iterable[Cell]) -> list[str]:
    """Cells from column ``first_column`` (0 for A) as parts that, joined by a row number, are that row's.

    ``"7".join(fragment(0, ("a", 1)))`` is the XML of cells A7 and B7; empty values take no cell.
    """
    parts: list[str] = []
    pending = ""
    for index, value in enumerate(values, first_column):
        body = _cell_body(value)
        if body is not None:
            parts.append(f'{pending}<c r="{column_letter(index)}')
            pending = f'"{body}'
    parts.append(pending)
    return parts


class SheetWriter:
    """One worksheet streamed to a binary file: the header (row 1, frozen) and widths first, then rows."""

    def __init__(self, stream: IO[bytes], columns: Sequence[str], widths: Sequence[float]) -> None:
        self.stream = stream
        self.rows = 1
        cols = "".join(
            f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
            for index, width in enumerate(widths, 1)
        )
        header = "1".join(fragment(0, columns))
        stream.write(
            (
                f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                "</sheetView></sheetViews>"
                '<sheetFormatPr defaultRowHeight="15"/>'
                f"<cols>{cols}</cols><sheetData>"
                f'<row r="1">{header}</row>'
            ).encode()
        )

    def append(self, values: Iterable[Cell]) -> None:
        """A row of values, each cell typed by its value (for the few rows not worth fragments)."""
        self.rows += 1
        number = str(self.rows)
        self.write(f'<row r="{number}">{number.join(fragment(0, values))}</row>')

    def write(self, xml: str) -> None:
        """Rows already rendered; the caller numbers them from :attr:`rows` and advances it."""
        self.stream.write(xml.encode())

    def close(self) -> None:
        self.stream.write(b"</sheetData></worksheet>")


def write_package(path: Path, sheets: Sequence[tuple[str, IO[bytes]]], *, compresslevel: int = 1) -> None:
    """Write the XLSX package at ``path`` with these sheets, in order, each read from its stream's start.

    Each sheet goes in with its size known, so that ZIP64 fields appear only in a part that needs them
    (some readers reject them elsewhere); the fastest deflate level, as the sheets are large and repetitive.
    """
    names = [name for name, _ in sheets]
    count = len(names)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{index}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for index in range(1, count + 1)
        )
        archive.writestr(
            "[Content_Types].xml",
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'{_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        entries = "".join(
            f'<sheet name="{xml_text(name)}" sheetId="{index}" r:id="rId{index}"/>'
            for index, name in enumerate(names, 1)
        )
        archive.writestr(
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{entries}</sheets></workbook>",
        )
        links = "".join(
            f'<Relationship Id="rId{index}" Type="{_RELATIONSHIPS}/worksheet" '
            f'Target="worksheets/sheet{index}.xml"/>'
            for index in range(1, count + 1)
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{links}'
            f'<Relationship Id="rId{count + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/styles.xml", STYLES)
        for index, (_, stream) in enumerate(sheets, 1):
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
            large = size * 1.05 > zipfile.ZIP64_LIMIT  # the margin zipfile itself gives compressed sizes
            with archive.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=large) as part:
                shutil.copyfileobj(stream, part, _COPY_CHUNK)
