"""The importer of each kind of file, shared by the command line, the office's pages, the API and the jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from cme_tracker.attendance.importer import import_attendance
from cme_tracker.members.importer import import_members
from cme_tracker.program.importer import import_program
from cme_tracker.tabular.loading import ImportResult


class Importer(Protocol):
    def __call__(
        self,
        session: Session,
        path: Path | str,
        *,
        actor: str,
        dry_run: bool = False,
        name: str | None = None,
    ) -> ImportResult: ...


IMPORTERS: dict[str, Importer] = {
    "members": import_members,
    "program": import_program,
    "attendance": import_attendance,
}
"""Each kind of import file and its importer: all or nothing, idempotent, flushing but never committing."""
