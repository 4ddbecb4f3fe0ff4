"""The JSON format: both tables and the policies as one document, with the signed audit checkpoint.

The bytes are those ``json.dumps`` would write: it renders every object but the presence text, which needs
neither quoting nor escaping (digits, ``-T:.+/;``).
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from cme_tracker.exports.rows import (
    LECTURE_COLUMNS,
    MEMBER_COLUMNS,
    TOTALS_COLUMNS,
    LineCells,
    MemberRows,
    YearExport,
    amount_text,
    totals_rows,
)
from cme_tracker.exports.sinks import BundleTables, SignedCheckpoint, Target, Written, member_cells, run_pass

JSON_FORMAT = "cme-tracker auditor export"
JSON_FORMAT_VERSION = 1


def write_json(target: Target) -> Written:
    with target.path.open("w", encoding="utf-8") as handle:
        return Written(run_pass(target.export, [ExportJson(target.export, handle, target.checkpoint)]))


def bundle_tables(
    export: YearExport, folder: Path, checkpoint: SignedCheckpoint, files: ExitStack
) -> BundleTables:
    document = files.enter_context((folder / "export.json").open("w", encoding="utf-8"))
    return BundleTables(("export.json",), [ExportJson(export, document, checkpoint)])


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
        head = member_cells(self.year, self.basis, rows)
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
