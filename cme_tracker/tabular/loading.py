"""Loading a table's rows through a schema, and the result an import reports and writes to the audit log.

Every problem of every row is collected, so that one run lists all that the author must fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import asdict, dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.errors import DomainError
from cme_tracker.tabular.reader import Row, RowError, Table


class ImportRejected(DomainError):
    """A refused import file; ``details`` lists every problem as ``FILE:LINE:COLUMN: reason``."""

    code = "import_rejected"


@dataclass(frozen=True)
class LoadedRow:
    """A row and the values its schema accepted; ``complete`` when every cell was valid."""

    row: Row
    data: Mapping[str, Any]
    complete: bool


def load_rows(table: Table, schema: Schema) -> tuple[list[LoadedRow], list[RowError]]:
    """Validate every row, keeping the valid cells of invalid rows so cross-row checks can still report."""
    loaded: list[LoadedRow] = []
    errors: list[RowError] = []
    for row in table.rows:
        try:
            data = schema.load(dict(row.values), partial=table.missing_columns)
        except ValidationError as error:
            loaded.append(LoadedRow(row, dict(error.valid_data or {}), complete=False))
            errors.extend(_messages(table, row, error.messages))
        else:
            loaded.append(LoadedRow(row, data, complete=True))
    return loaded, errors


def _messages(table: Table, row: Row, messages: Any) -> Iterator[RowError]:
    if not isinstance(messages, Mapping):
        yield RowError(table.file, row.line, None, str(messages))
        return
    for column, reasons in messages.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            yield table.error(row, str(column), str(reason))


def repeated_keys(table: Table, loaded: Iterable[LoadedRow], column: str) -> Iterator[RowError]:
    """Rows whose key repeats an earlier row's: which of the two is meant is unclear, so both are refused."""
    first_line: dict[object, int] = {}
    for item in loaded:
        key = item.data.get(column)
        if key is None:
            continue
        if key in first_line:
            yield table.error(item.row, column, f"{key} is also on line {first_line[key]}")
        else:
            first_line[key] = item.row.line_of(column)


def sorted_errors(table: Table, errors: Iterable[RowError]) -> tuple[RowError, ...]:
    """Errors in file order: by line, then in the order of the header's columns."""
    order: dict[str, int] = {}
    for index, column in enumerate(table.column_order):
        order.setdefault(column, index)

    def key(error: RowError) -> tuple[int, int, str, str]:
        return (error.line or 0, order.get(error.column or "", len(order)), error.column or "", error.reason)

    return tuple(sorted(set(errors), key=key))


# --- the result of an import -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    @classmethod
    def tally(cls, outcomes: Iterable[tuple[object | None, Sized]]) -> Counts:
        """Counts from (the existing record or None, its changes) for every row of a file."""
        added = changed = unchanged = 0
        for existing, changes in outcomes:
            if existing is None:
                added += 1
            elif changes:
                changed += 1
            else:
                unchanged += 1
        return cls(added, changed, unchanged)

    @property
    def touched(self) -> int:
        return self.added + self.changed

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged"


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, on a dry run, would do); when ``errors`` is not empty it wrote nothing."""

    file: str
    kind: str
    rows: Counts = field(default_factory=Counts)
    dry_run: bool = False
    errors: tuple[RowError, ...] = ()
    related: tuple[tuple[str, Counts], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed_anything(self) -> bool:
        return self.rows.touched > 0 or any(counts.touched for _label, counts in self.related)

    @property
    def summary(self) -> str:
        if self.errors:
            count = len(self.errors)
            return f"{self.file}: rejected with {count} error{'s' if count > 1 else ''}; nothing was imported"
        text = f"{self.file}: {self.rows}"
        if self.related:
            text += "".join(f" ({label}: {counts})" for label, counts in self.related)
        if self.dry_run:
            text += " (dry run: nothing was written)"
        return text

    def rejection(self) -> ImportRejected:
        """The domain error for a rejected import, listing every problem in ``details``."""
        return ImportRejected(self.summary, details=[str(error) for error in self.errors])


# --- shared steps of every import ------------------------------------------------------------------------


def rejected(table: Table, kind: str, errors: Iterable[RowError]) -> ImportResult:
    return ImportResult(file=table.file, kind=kind, errors=sorted_errors(table, errors))


def record_import(
    session: Session,
    table: Table,
    result: ImportResult,
    *,
    actor: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The audit event of a whole import: which file (by SHA-256) changed how many rows, and ``details``."""
    event: dict[str, Any] = {"file": table.basename, "sha256": table.sha256, "rows": asdict(result.rows)}
    event.update({label: asdict(counts) for label, counts in result.related})
    event.update(details or {})
    chain.record(
        session, actor=actor, action=f"import.{result.kind}", target=f"file:{table.basename}", details=event
    )
