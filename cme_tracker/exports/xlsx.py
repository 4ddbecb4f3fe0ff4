"""The XLSX format: detail, totals and policies as sheets of a workbook, with the signed audit checkpoint.

Cells are typed (numbers, date-times in the symposium's local time), the header row frozen; a line shape's
cells are rendered once as row fragments, which :mod:`cme_tracker.exports.xlsx_package` streams.
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO

from cme_tracker.exports.rows import (
    LECTURE_COLUMNS,
    MEMBER_COLUMNS,
    POLICIES_COLUMNS,
    TOTALS_COLUMNS,
    LineCells,
    MemberRows,
    YearExport,
    amount_text,
    totals_rows,
)
from cme_tracker.exports.sinks import BundleTables, SignedCheckpoint, Target, Written, member_cells, run_pass
from cme_tracker.exports.xlsx_package import (
    Cell,
    SheetWriter,
    column_letter,
    fragment,
    string_body,
    write_package,
)

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


def write_xlsx(target: Target) -> Written:
    return Written(run_pass(target.export, [ExportXlsx(target.export, target.path, target.checkpoint)]))


def bundle_tables(
    export: YearExport, folder: Path, checkpoint: SignedCheckpoint, _files: ExitStack
) -> BundleTables:
    return BundleTables(("export.xlsx",), [ExportXlsx(export, folder / "export.xlsx", checkpoint)])


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
        head = fragment(0, member_cells(self.year, self.basis, rows))
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
