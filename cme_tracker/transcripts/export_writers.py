"""The formats of an auditor export, each a sink fed one member at a time by the single streaming pass.

Several sinks can share one pass (the ZIP bundle writes all formats at once). Every sink writes as it goes,
to a file or openpyxl's write-only sheets (which spool to temporary files), so memory stays flat.
"""

from __future__ import annotations

import base64
import csv
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cme_tracker.credits.engine import LectureAward
from cme_tracker.transcripts.export_rows import (
    POLICIES_COLUMNS,
    TOTALS_COLUMNS,
    MemberRows,
    YearExport,
    amount_text,
    totals_rows,
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


def run_pass(export: YearExport, sinks: Iterable[Sink]) -> RowCounts:
    """Stream the year once into every sink, then let each finish its file."""
    sinks = tuple(sinks)
    counts = RowCounts()
    try:
        for rows in export.rows():
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
    return path.open("w", encoding="utf-8-sig", newline="")


class _Awards:
    """Each policy's (amount, code, version) cells of a detail row; ``empty`` where the policy does not apply.

    ``render`` turns an amount into its cell: the decimal string for CSV and JSON, the Decimal for XLSX.
    """

    def __init__(self, export: YearExport, render: Callable[[Decimal], Any], empty: Any) -> None:
        self.render = render
        self.empty = empty
        self.policies = [
            (columns.policy.code, columns.code is not None, columns.policy.version)
            for columns in export.policies
        ]

    def cells(self, awards: Mapping[str, LectureAward]) -> list[Any]:
        cells: list[Any] = []
        empty = self.empty
        for code, has_code, version in self.policies:
            award = awards.get(code)
            if award is None:
                cells.extend((empty, empty, empty) if has_code else (empty, empty))
            elif has_code:
                cells.extend((self.render(award.amount), award.code or empty, version))
            else:
                cells.extend((self.render(award.amount), version))
        return cells


def _member_cells(year: Any, basis: str, rows: MemberRows) -> tuple[Any, ...]:
    member = rows.member
    return (year, basis, member.member_no, member.profession, member.name_romaji, member.name_kanji)


class DetailCsv:
    """The detail table as CSV, every cell text."""

    def __init__(self, export: YearExport, handle: IO[str]) -> None:
        self.writer = csv.writer(handle)
        self.writer.writerow(export.detail_columns)
        self.year, self.basis = str(export.year), export.basis.value
        self.awards = _Awards(export, amount_text, "")

    def member(self, rows: MemberRows) -> None:
        head = _member_cells(self.year, self.basis, rows)
        write, awards = self.writer.writerow, self.awards.cells
        for line in rows.lines:
            write((*head, *line.lecture.texts, line.presence, str(line.minutes), *awards(line.awards)))

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
        for policy, version, unit, field, amount, codes in totals_rows(rows):
            self.writer.writerow((*head, policy, version, unit, field, amount_text(amount), codes))

    def finish(self) -> None:
        """The caller owns the file."""

    def close(self) -> None:
        """The caller owns the file."""


def write_policies_csv(export: YearExport, handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(POLICIES_COLUMNS)
    writer.writerows(export.policy_texts())


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
        self.year, self.basis = export.year, export.basis.value
        self.awards = _Awards(export, amount_text, None)
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
        columns, awards = self.detail_columns, self.awards.cells
        for line in rows.lines:
            values = (*head, *line.lecture.texts, line.presence, line.minutes, *awards(line.awards))
            cells = [None if value == "" else value for value in values]
            self.handle.write(_item(self.first_detail, columns, cells))
            self.first_detail = False
        for policy, version, unit, field, amount, codes in totals_rows(rows):
            values = (*head, policy, version, unit, field, amount_text(amount), codes or None)
            self.totals.write(_item(self.first_total, TOTALS_COLUMNS, values))
            self.first_total = False

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
    """Detail, totals and policies as sheets of a write-only workbook: typed cells, frozen header row."""

    def __init__(self, export: YearExport, path: Path, checkpoint: SignedCheckpoint | None = None) -> None:
        self.path = path
        self.saved = False
        self.workbook = Workbook(write_only=True)
        self.detail = self._sheet("detail", export.detail_columns)
        self.totals = self._sheet("totals", TOTALS_COLUMNS)
        policies = self._sheet("policies", POLICIES_COLUMNS)
        for row in export.policy_texts():
            policies.append(row)
        if checkpoint is not None:
            audit = self._sheet("audit_checkpoint", ("document", "signature"))
            audit.append((checkpoint.document.decode(), base64.b64encode(checkpoint.signature).decode()))
        self.year, self.basis = export.year, export.basis.value
        self.awards = _Awards(export, lambda amount: amount, None)

    def _sheet(self, title: str, columns: tuple[str, ...]) -> WriteOnlyWorksheet:
        sheet: WriteOnlyWorksheet = self.workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        widths = sheet.column_dimensions  # type: ignore[attr-defined]  # set up at runtime, missing in stubs
        for index, column in enumerate(columns, 1):
            widths[get_column_letter(index)].width = _WIDTHS.get(column, 12)
        sheet.append(columns)
        return sheet

    def member(self, rows: MemberRows) -> None:
        head = _member_cells(self.year, self.basis, rows)
        awards = self.awards.cells
        for line in rows.lines:
            lecture = line.lecture
            self.detail.append(
                (
                    *head,
                    *lecture.texts[:4],
                    _naive(lecture.starts_at),
                    _naive(lecture.ends_at),
                    lecture.texts[6] or None,
                    line.presence,
                    line.minutes,
                    *awards(line.awards),
                )
            )
        for policy, version, unit, field, amount, codes in totals_rows(rows):
            self.totals.append((*head, policy, version, unit, field, amount, codes or None))

    def finish(self) -> None:
        self.workbook.save(self.path)
        self.saved = True

    def close(self) -> None:
        """Saving is openpyxl's one public way to close the sheets' temporary files; the caller deletes it."""
        if not self.saved:
            self.workbook.save(self.path)
            self.saved = True


def _naive(moment: datetime) -> datetime:
    """Excel has no time zones: the symposium's local time, named by the ``timezone`` column."""
    return moment.replace(tzinfo=None)
