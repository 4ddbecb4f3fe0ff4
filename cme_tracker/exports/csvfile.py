"""The CSV format: the detail and totals tables and the policies, as ``csv.writer`` writes them.

A standalone CSV export is the detail table alone, written by :mod:`cme_tracker.exports.parts` in several
processes; the ZIP bundle holds all three tables. Every row's bytes are those ``csv.writer`` would write:
it renders every piece that is spliced into a row. Every cell goes through :func:`neutral` first, so that a
spreadsheet never runs a cell as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from cme_tracker.exports.rows import (
    POLICIES_COLUMNS,
    TOTALS_COLUMNS,
    LineCells,
    MemberRows,
    YearExport,
    amount_text,
    totals_rows,
)
from cme_tracker.exports.sinks import BundleTables, SignedCheckpoint, member_cells

_BUFFER = 1 << 20
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """A cell that a spreadsheet would read as a formula, with a single quote in front (OWASP's advice).

    Every such cell is quoted, whatever its column: the numeric columns (amounts, never negative; minutes,
    integers) never start with a sign, so they stay as they are.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _neutral_row(values: Iterable[Any]) -> list[Any]:
    return [neutral(value) for value in values]


def open_csv(path: Path) -> IO[str]:
    """A CSV file as the project writes them: UTF-8 with a BOM (Excel in Japan), newlines left to csv."""
    return path.open("w", encoding="utf-8-sig", newline="", buffering=_BUFFER)


class _CsvLine:
    """``csv.writer`` rendering one row's fields as text without a line end, to splice into rows."""

    def __init__(self) -> None:
        self.text = ""
        self.writer = csv.writer(self, lineterminator="")

    def write(self, text: str) -> None:
        self.text = text

    def __call__(self, values: Iterable[Any]) -> str:
        self.writer.writerow(_neutral_row(values))
        return self.text


class DetailCsv:
    """The detail table as CSV, every cell text."""

    def __init__(self, export: YearExport, handle: IO[str], *, header: bool = True) -> None:
        self.handle = handle
        if header:
            csv.writer(handle).writerow(export.detail_columns)
        self.year, self.basis = str(export.year), export.basis.value
        self.line = _CsvLine()

    def member(self, rows: MemberRows) -> None:
        head = self.line(member_cells(self.year, self.basis, rows))
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
        head = member_cells(self.year, self.basis, rows)
        self.writer.writerows(
            _neutral_row((*head, policy, version, unit, field, amount_text(amount), codes))
            for policy, version, unit, field, amount, codes in totals_rows(rows)
        )

    def finish(self) -> None:
        """The caller owns the file."""

    def close(self) -> None:
        """The caller owns the file."""


def write_policies_csv(export: YearExport, handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(POLICIES_COLUMNS)
    writer.writerows(_neutral_row(row) for row in export.policy_texts())


def bundle_tables(
    export: YearExport, folder: Path, _checkpoint: SignedCheckpoint, files: ExitStack
) -> BundleTables:
    """The bundle's three CSV tables: the policies at once, the detail and totals in the pass."""
    with open_csv(folder / "policies.csv") as policies:
        write_policies_csv(export, policies)
    detail = files.enter_context(open_csv(folder / "detail.csv"))
    totals = files.enter_context(open_csv(folder / "totals.csv"))
    return BundleTables(
        ("detail.csv", "totals.csv", "policies.csv"), [DetailCsv(export, detail), TotalsCsv(export, totals)]
    )
