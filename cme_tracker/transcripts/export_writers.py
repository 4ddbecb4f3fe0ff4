"""The formats of an auditor export, each a sink fed one member at a time by the single streaming pass.

Several sinks can share one pass (the ZIP bundle writes all formats at once). Every sink writes as it goes,
to a file or a sheet streamed into the XLSX package (or a temporary file), so memory stays flat.

A year has hundreds of thousands of detail rows but few distinct line shapes (:class:`LineCells`), so each
sink renders a shape's cells once, as text in its format, and a row joins the member's cells rendered once
per member, the shape's text and the presence text. The bytes are those the format's library would write:
``csv.writer`` renders every piece, ``json.dumps`` every object but the presence text, which needs neither
quoting nor escaping (digits, ``-T:.+/;``).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from cme_tracker.transcripts.export_rows import (
    LECTURE_COLUMNS,
    MEMBER_COLUMNS,
    POLICIES_COLUMNS,
    TOTALS_COLUMNS,
    LineCells,
    MemberPart,
    MemberRows,
    YearExport,
    amount_text,
    totals_rows,
)
from cme_tracker.transcripts.export_xlsx import (
    Cell,
    SheetWriter,
    column_letter,
    fragment,
    string_body,
    write_package,
)

JSON_FORMAT = "cme-tracker auditor export"
JSON_FORMAT_VERSION = 1
XLSX_DATETIME = "yyyy-mm-dd hh:mm:ss"
_WIDTHS = {
    "year_basis": 10,
    "member_no": 12,
    "profession": 11,
    "name_romaji": 22,
    "name_kanji": 16,
    "symposium_code": 14,
    "timezone": 14,
    "lecture_code": 14,
    "field": 16,
    "lecture_starts_at": 20,
    "lecture_ends_at": 20,
    "excluded": 30,
    "presence": 60,
    "parameters": 80,
    "codes": 20,
    "name_en": 30,
    "document": 100,
    "signature": 100,
}


@dataclass(frozen=True)
class SignedCheckpoint:
    """The audit chain's head as JSON: ``document`` is the exact signed bytes, ``signature`` its DER CMS."""

    sequence: int
    document: bytes
    signature: bytes


@dataclass
class RowCounts:
    members: int = 0
    detail: int = 0
    totals: int = 0


class Sink(Protocol):
    def member(self, rows: MemberRows) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None:
        """Release what the sink holds, finished or not (the caller deletes a file left unfinished)."""


def run_pass(export: YearExport, sinks: Iterable[Sink], part: MemberPart | None = None) -> RowCounts:
    """Stream the year (or a ``part`` of its members) once into every sink, then let each finish its file."""
    sinks = tuple(sinks)
    counts = RowCounts()
    try:
        for rows in export.rows(part):
            for sink in sinks:
                sink.member(rows)
            counts.members += 1
            counts.detail += len(rows.lines)
            counts.totals += rows.totals_count
        for sink in sinks:
            sink.finish()
    finally:
        for sink in sinks:
            sink.close()
    return counts


def open_csv(path: Path) -> IO[str]:
    """A CSV file as the project writes them: UTF-8 with a BOM (Excel in Japan), newlines left to csv."""
    return path.open("w", encoding="utf-8-sig", newline="", buffering=_BUFFER)


_BUFFER = 1 << 20


class _CsvLine:
    """``csv.writer`` rendering one row's fields as text without a line end, to splice into rows."""

    def __init__(self) -> None:
        self.text = ""
        self.writer = csv.writer(self, lineterminator="")

    def write(self, text: str) -> None:
        self.text = text

    def __call__(self, values: Iterable[Any]) -> str:
        self.writer.writerow(values)
        return self.text


def _member_cells(year: Any, basis: str, rows: MemberRows) -> tuple[Any, ...]:
    member = rows.member
    return (year, basis, member.member_no, member.profession, member.name_romaji, member.name_kanji)


class DetailCsv:
    """The detail table as CSV, every cell text."""

    def __init__(self, export: YearExport, handle: IO[str], *, header: bool = True) -> None:
        self.handle = handle
        if header:
            csv.writer(handle).writerow(export.detail_columns)
        self.year, self.basis = str(export.year), export.basis.value
        self.line = _CsvLine()

    def member(self, rows: MemberRows) -> None:
        head = self.line(_member_cells(self.year, self.basis, rows))
        parts = []
        for cells, presence in rows.lines:
            around = cells.formats.get("csv")
            if around is None:
                around = cells.formats["csv"] = self._around(cells)
            before, after = around
            parts.append(f"{head}{before}{presence}{after}")
        self.handle.write("".join(parts))

    def _around(self, cells: LineCells) -> tuple[str, str]:
        """The text between the member's cells and the presence, and after the presence."""
        return f",{self.line(cells.lecture.texts)},", f",{self.line(cells.texts)}\r\n"

    def finish(self) -> None:
        """The caller owns the file."""

    def close(self) -> None:
        """The caller owns the file."""


class TotalsCsv:
    """The totals table as CSV."""

    def __init__(self, export: YearExport, handle: IO[str]) -> None:
        self.writer = csv.writer(handle)
        self.writer.writerow(TOTALS_COLUMNS)
        self.year, self.basis = str(export.year), export.basis.value

    def member(self, rows: MemberRows) -> None:
        head = _member_cells(self.year, self.basis, rows)
        self.writer.writerows(
            (*head, policy, version, unit, field, amount_text(amount), codes)
            for policy, version, unit, field, amount, codes in totals_rows(rows)
        )

    def finish(self) -> None:
        """The caller owns the file."""

    def close(self) -> None:
        """The caller owns the file."""


def write_policies_csv(export: YearExport, handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(POLICIES_COLUMNS)
    writer.writerows(export.policy_texts())


def _json_members(columns: Sequence[str], values: Iterable[Any]) -> str:
    """An object's members as ``json.dumps`` writes them, without the braces; empty text is null."""
    cells = [None if value == "" else value for value in values]
    return json.dumps(dict(zip(columns, cells, strict=True)), ensure_ascii=False)[1:-1]


class ExportJson:
    """Both tables and the policies as one JSON document, written as it goes.

    The totals arrive with the detail rows but follow them in the document, so they wait in a temporary
    file, not in memory.
    """

    def __init__(
        self, export: YearExport, handle: IO[str], checkpoint: SignedCheckpoint | None = None
    ) -> None:
        self.handle = handle
        self.detail_columns = export.detail_columns
        self.tail_columns = export.detail_columns[len(MEMBER_COLUMNS) + len(LECTURE_COLUMNS) + 1 :]
        self.year, self.basis = export.year, export.basis.value
        self.totals = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by finish
        self.first_detail = self.first_total = True
        head: dict[str, Any] = {
            "format": JSON_FORMAT,
            "format_version": JSON_FORMAT_VERSION,
            "year": export.year,
            "year_basis": export.basis.value,
            "policies": list(export.policy_rows()),
        }
        if checkpoint is not None:
            head["audit_checkpoint"] = {
                "document": checkpoint.document.decode(),
                "signature_der_base64": base64.b64encode(checkpoint.signature).decode(),
            }
        opening = json.dumps(head, ensure_ascii=False, indent=1)
        handle.write(opening[: opening.rindex("}")].rstrip() + ',\n "detail": [')

    def member(self, rows: MemberRows) -> None:
        head = _member_cells(self.year, self.basis, rows)
        members = _json_members(MEMBER_COLUMNS, head)
        parts = []
        separator = "\n  " if self.first_detail else ",\n  "
        for cells, presence in rows.lines:
            around = cells.formats.get("json")
            if around is None:
                around = cells.formats["json"] = self._around(cells)
            before, after = around
            parts.append(f'{separator}{{{members}{before}"{presence}"{after}')
            separator = ",\n  "
        if parts:
            self.first_detail = False
            self.handle.write("".join(parts))
        for policy, version, unit, field, amount, codes in totals_rows(rows):
            values = (*head, policy, version, unit, field, amount_text(amount), codes or None)
            self.totals.write(_item(self.first_total, TOTALS_COLUMNS, values))
            self.first_total = False

    def _around(self, cells: LineCells) -> tuple[str, str]:
        lecture = _json_members(LECTURE_COLUMNS, cells.lecture.texts)
        tail = _json_members(self.tail_columns, (cells.minutes, *cells.texts[1:]))
        return f', {lecture}, "presence": ', f", {tail}}}"

    def finish(self) -> None:
        self.handle.write('\n ],\n "totals": [')
        self.totals.seek(0)
        shutil.copyfileobj(self.totals, self.handle)
        self.handle.write("\n ]\n}\n")

    def close(self) -> None:
        self.totals.close()


def _item(first: bool, columns: Sequence[str], values: Sequence[Any]) -> str:
    """One row of a JSON array as an object keyed by column, on a line of its own."""
    text = json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False)
    return ("\n  " if first else ",\n  ") + text


class ExportXlsx:
    """Detail, totals and policies as sheets of a workbook: typed cells, frozen header row.

    The detail and totals sheets, which arrive together, stream to temporary files until :meth:`finish`
    puts them into the package.
    """

    def __init__(self, export: YearExport, path: Path, checkpoint: SignedCheckpoint | None = None) -> None:
        self.path = path
        self.policy_texts = list(export.policy_texts())
        self.checkpoint = checkpoint
        self.detail_spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close
        self.totals_spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close
        self.detail = _sheet(self.detail_spool, export.detail_columns)
        self.totals = _sheet(self.totals_spool, TOTALS_COLUMNS)
        self.year, self.basis = export.year, export.basis.value
        self.presence_column = column_letter(len(MEMBER_COLUMNS) + len(LECTURE_COLUMNS))
        self.totals_shapes: dict[tuple[str, ...], list[str]] = {}
        self.amount_column = column_letter(TOTALS_COLUMNS.index("amount"))
        self.codes_column = column_letter(TOTALS_COLUMNS.index("codes"))

    def member(self, rows: MemberRows) -> None:
        head = fragment(0, _member_cells(self.year, self.basis, rows))
        column = self.presence_column
        parts = []
        number = self.detail.rows
        for cells, presence in rows.lines:
            around = cells.formats.get("xlsx")
            if around is None:
                around = cells.formats["xlsx"] = _xlsx_around(cells)
            before, after = around
            number += 1
            row = str(number)
            parts.append(
                f'<row r="{row}">{row.join(head)}{row.join(before)}'
                f'<c r="{column}{row}" t="inlineStr"><is><t>{presence}</t></is></c>{row.join(after)}</row>'
            )
        self.detail.rows = number
        self.detail.write("".join(parts))
        parts = []
        number = self.totals.rows
        shapes, amount_column, codes_column = self.totals_shapes, self.amount_column, self.codes_column
        for policy, version, unit, field, amount, codes in totals_rows(rows):
            key = (policy, version, unit, field)
            shape = shapes.get(key)
            if shape is None:
                shape = shapes[key] = fragment(len(MEMBER_COLUMNS), key)
            number += 1
            row = str(number)
            codes_cell = f'<c r="{codes_column}{row}"{string_body(codes)}' if codes else ""
            parts.append(
                f'<row r="{row}">{row.join(head)}{row.join(shape)}'
                f'<c r="{amount_column}{row}"><v>{amount_text(amount)}</v></c>{codes_cell}</row>'
            )
        self.totals.rows = number
        self.totals.write("".join(parts))

    def finish(self) -> None:
        self.detail.close()
        self.totals.close()
        policies = _sheet(io.BytesIO(), POLICIES_COLUMNS)
        for row in self.policy_texts:
            policies.append(row)
        policies.close()
        sheets = [("detail", self.detail_spool), ("totals", self.totals_spool), ("policies", policies.stream)]
        if self.checkpoint is not None:
            audit = _sheet(io.BytesIO(), ("document", "signature"))
            audit.append(
                (self.checkpoint.document.decode(), base64.b64encode(self.checkpoint.signature).decode())
            )
            audit.close()
            sheets.append(("audit_checkpoint", audit.stream))
        write_package(self.path, sheets)

    def close(self) -> None:
        """Release the temporary files, finished or not (the caller deletes a file left unfinished)."""
        self.detail_spool.close()
        self.totals_spool.close()


def _sheet(stream: IO[bytes], columns: Sequence[str]) -> SheetWriter:
    return SheetWriter(stream, columns, [_WIDTHS.get(column, 12) for column in columns])


def _xlsx_around(cells: LineCells) -> tuple[list[str], list[str]]:
    """A line shape's cells before the presence (the lecture's) and after it, as row fragments."""
    lecture = cells.lecture
    texts = lecture.texts
    before: tuple[Cell, ...] = (
        *texts[:4],
        _naive(lecture.starts_at),
        _naive(lecture.ends_at),
        texts[6] or None,
    )
    after: tuple[Cell, ...] = (cells.minutes, *cells.awards)
    first = len(MEMBER_COLUMNS)
    return fragment(first, before), fragment(first + len(before) + 1, after)


def _naive(moment: datetime) -> datetime:
    """Excel has no time zones: the symposium's local time, named by the ``timezone`` column."""
    return moment.replace(tzinfo=None)
