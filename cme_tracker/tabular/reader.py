"""Reading CSV and XLSX tables for the importers.

Import files are written by people in Excel. The reader rejects what it cannot read with a message naming the
file instead of guessing, and keeps the physical line of every cell so that each problem is reported as
``FILE:LINE:COLUMN: reason`` where the author can find it.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
EMPTY_FILE = "the file is empty; it needs a header row and at least one row"
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
"""What a workbook's parts may unpack to in all: a real import of a few thousand rows is a few MB, while a
crafted 1 MB file can unpack to gigabytes in openpyxl's memory."""
MAX_XLSX_CELLS = 1_000_000
"""Cells (and rows) of the first worksheet read at most; beyond it the file is refused, not read on."""


@dataclass(frozen=True)
class RowError:
    """One problem in an import file; ``line`` and ``column`` are None for a problem with the whole file."""

    file: str
    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        location = self.file
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        return f"{location}: {self.reason}"


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of file: a file must have every required column and nothing else."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class Row:
    """One data row: the cells of known columns as text, and the physical line each cell starts on."""

    line: int
    values: Mapping[str, str]
    lines: Mapping[str, int]

    def line_of(self, column: str) -> int:
        return self.lines.get(column, self.line)


@dataclass(frozen=True)
class Table:
    """A read file: its known columns, its rows, and the problems found in its structure."""

    file: str
    columns: tuple[str, ...]
    """The known columns the header has, in the header's order."""
    rows: tuple[Row, ...]
    errors: tuple[RowError, ...]
    missing_columns: tuple[str, ...] = ()
    sha256: str = ""
    header_line: int = 1
    column_order: tuple[str, ...] = ()
    """Every header name as written, then the missing required columns: the order errors are listed in."""

    @property
    def basename(self) -> str:
        return Path(self.file).name

    def error(self, row: Row, column: str, reason: str) -> RowError:
        return RowError(self.file, row.line_of(column), column, reason)


class _Unreadable(Exception):
    """The file cannot be read as a table at all; the message says why."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


Cell = tuple[str, int]
"""A cell's text and the physical line it starts on."""

Record = tuple[int, list[Cell]]
"""A record's first physical line and its cells."""


def read_table(path: Path | str, layout: Layout, *, name: str | None = None) -> Table:
    """Read a CSV (UTF-8, BOM or not) or XLSX file against ``layout``, collecting every structural problem.

    ``name`` is how messages call the file (default: the path as given); its suffix chooses the format.
    """
    path = Path(path)
    display = name if name is not None else str(path)
    suffix = Path(display).suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as error:
        return _unreadable(display, f"cannot be read ({error.strerror or error})")
    digest = hashlib.sha256(data).hexdigest()
    try:
        if suffix in XLSX_SUFFIXES:
            records: list[Record] = _xlsx_records(data)
        elif suffix in CSV_SUFFIXES:
            records = _csv_records(_decode(data))
        elif suffix == ".xls":
            raise _Unreadable("old Excel .xls workbooks are not read; save it as .xlsx or as CSV UTF-8")
        else:
            raise _Unreadable("unknown file type; use a .csv (UTF-8) or .xlsx file")
    except _Unreadable as problem:
        return _unreadable(display, problem.reason, problem.line, digest)
    return _table(display, records, layout, digest)


def _unreadable(file: str, reason: str, line: int | None = None, digest: str = "") -> Table:
    return Table(file=file, columns=(), rows=(), errors=(RowError(file, line, None, reason),), sha256=digest)


def _decode(data: bytes) -> str:
    """UTF-8 text without its BOM; anything else is refused, naming the likely cause, rather than misread."""
    if not data:
        raise _Unreadable(EMPTY_FILE)
    if data.startswith(b"PK\x03\x04"):
        raise _Unreadable("is an Excel workbook (or another ZIP file), not CSV; name it .xlsx")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Unreadable("is UTF-16 (Excel's 'Unicode text'), not UTF-8; save it as CSV UTF-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if _looks_like_shift_jis(data):
            raise _Unreadable(
                "not UTF-8 (looks like Shift_JIS); save it as UTF-8 (in Excel: CSV UTF-8)"
            ) from None
        line = data.count(b"\n", 0, error.start) + 1
        raise _Unreadable(f"not UTF-8 (byte 0x{data[error.start]:02x}); save it as UTF-8", line) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = _line_breaks(text[:nul]) + 1
        raise _Unreadable("contains a NUL character; is it really a CSV text file?", line)
    return text


def _looks_like_shift_jis(data: bytes) -> bool:
    """Shift_JIS (as Windows writes it, CP932) decodes cleanly and yields Japanese characters."""
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return False
    return any(_is_japanese(char) for char in text)


def _is_japanese(char: str) -> bool:
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0xFF61 <= code <= 0xFF9F


def _line_breaks(text: str) -> int:
    """Physical line breaks in ``text``: CRLF counts once, a lone CR or LF once each, as ``csv`` sees them."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _csv_records(text: str) -> list[Record]:
    """Records with the physical line of each cell, so a quoted multi-line cell shifts the lines after it."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[Record] = []
    start = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            raise _Unreadable(_csv_problem(str(error)), start) from None
        cells: list[Cell] = []
        line = start
        for value in values:
            cells.append((value, line))
            line += _line_breaks(value)
        records.append((start, cells))
        start = reader.line_num + 1


def _csv_problem(message: str) -> str:
    if "unexpected end of data" in message:
        return "a quoted cell starting on this line is never closed (a missing '\"')"
    if "expected after" in message:
        return "text after a closing '\"' of a quoted cell; double a '\"' inside quotes ('\"\"')"
    return f"not valid CSV ({message})"


def _xlsx_records(data: bytes) -> list[Record]:
    """The first worksheet's rows as text, with their row numbers.

    openpyxl raises assorted exception types on malformed workbooks and warns about features a reader does not
    need, so both are turned into one clear refusal.
    """
    import openpyxl  # deferred: heavy, loaded only when a workbook is read, not by every command and page

    _check_unpacked_size(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        raise _Unreadable(f"not a readable .xlsx workbook ({type(error).__name__})") from None
    try:
        if not workbook.worksheets:
            raise _Unreadable("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        records: list[Record] = []
        budget = MAX_XLSX_CELLS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, row in enumerate(sheet.iter_rows(), start=1):
                budget -= len(row) + 1
                if budget < 0:
                    raise _Unreadable(f"the worksheet has more than {MAX_XLSX_CELLS:,} cells; split the file")
                cells = [(_cell_text(cell.value, _number_format(cell)), number) for cell in row]
                records.append((number, cells))
        return records
    except _Unreadable:
        raise
    except Exception as error:
        raise _Unreadable(f"not a readable .xlsx workbook ({type(error).__name__})") from None
    finally:
        workbook.close()


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a workbook whose parts declare more than :data:`MAX_XLSX_UNPACKED_BYTES` before anything is
    unpacked; :mod:`zipfile` never yields more of a part than its declared size, so the check holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise _Unreadable(f"not a readable .xlsx workbook ({type(error).__name__})") from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _Unreadable(
            f"the workbook unpacks to {unpacked:,} bytes, more than {MAX_XLSX_UNPACKED_BYTES:,}; "
            "save it again without images and unused sheets, or as CSV UTF-8"
        )


_ZERO_PADDED = re.compile(r"0+")


def _number_format(cell: object) -> str | None:
    """Read-only worksheets give empty cells no number format."""
    number_format = getattr(cell, "number_format", None)
    return number_format if isinstance(number_format, str) else None


def _cell_text(value: object, number_format: str | None) -> str:
    """A cell as the text a person sees: numbers keep no ``.0``, zero-padded formats keep their zeros."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        if number_format and _ZERO_PADDED.fullmatch(number_format) and value >= 0:
            text = text.zfill(len(number_format))
        return text
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds()) // 60
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return str(value)


def _is_blank(cells: Sequence[Cell]) -> bool:
    return all(not text.strip() for text, _line in cells)


def _table(file: str, records: list[Record], layout: Layout, digest: str) -> Table:
    content = [(start, cells) for start, cells in records if not _is_blank(cells)]
    if not content:
        return _unreadable(file, EMPTY_FILE, None, digest)
    (header_line, header_cells), data = content[0], content[1:]
    errors: list[RowError] = []
    names = [text.strip().lstrip("\ufeff").strip() for text, _line in header_cells]
    known = set(layout.columns)
    positions: dict[str, int] = {}
    for index, column in enumerate(names):
        if not column:
            continue
        if column in positions:
            errors.append(
                RowError(file, header_line, column, f"duplicate column (also column {positions[column] + 1})")
            )
        elif column in known:
            positions[column] = index
        else:
            errors.append(
                RowError(file, header_line, _label(column, index), _unknown_column(column, names, layout))
            )
    missing = tuple(column for column in layout.required if column not in positions)
    errors.extend(RowError(file, header_line, column, "required column is missing") for column in missing)
    if not data and not errors:
        errors.append(RowError(file, None, None, "has a header row but no rows to import"))
    rows = []
    for start, cells in data:
        row_errors = _shape_errors(file, start, cells, names)
        errors.extend(row_errors)
        if row_errors:
            continue
        rows.append(
            Row(
                line=start,
                values={column: cells[index][0] for column, index in positions.items()},
                lines={column: cells[index][1] for column, index in positions.items()},
            )
        )
    columns = tuple(sorted(positions, key=positions.__getitem__))
    order = (*(_label(name, index) for index, name in enumerate(names)), *missing)
    return Table(file, columns, tuple(rows), tuple(errors), missing, digest, header_line, order)


_PRINTABLE_NAME = re.compile(r"[^:\s](?:[^:\x00-\x1f\x7f-\x9f]*[^:\s])?")


def _label(name: str, index: int) -> str:
    """How messages name a column: by its header, or by position where the header would be ambiguous."""
    return name if _PRINTABLE_NAME.fullmatch(name) else f"column {index + 1}"


def _unknown_column(column: str, names: Sequence[str], layout: Layout) -> str:
    unknown = "unknown column" if _PRINTABLE_NAME.fullmatch(column) else f"unknown column {column!r}"
    if len(names) == 1 and (";" in column or "\t" in column):
        return f"{unknown}; the header looks separated by ';' or tabs, but CSV files use ','"
    match = difflib.get_close_matches(column.lower(), layout.columns, n=1)
    if match:
        return f"{unknown}; did you mean {match[0]}?"
    return f"{unknown}; the columns are {', '.join(layout.columns)}"


def _shape_errors(file: str, start: int, cells: Sequence[Cell], names: Sequence[str]) -> list[RowError]:
    """A row needs a cell under every header and none beyond, so that no value lands in the wrong column."""
    errors = []
    for index in range(len(names), len(cells)):
        text, line = cells[index]
        if text.strip():
            errors.append(RowError(file, line, f"column {index + 1}", "a value beyond the last column"))
    if len(cells) < len(names):
        column = _label(names[len(cells)], len(cells))
        errors.append(
            RowError(file, start, column, f"missing: the row has {len(cells)} cells, the header {len(names)}")
        )
    for index in range(min(len(names), len(cells))):
        text, line = cells[index]
        if not names[index] and text.strip():
            errors.append(RowError(file, line, f"column {index + 1}", "a value in a column without a header"))
    return errors
