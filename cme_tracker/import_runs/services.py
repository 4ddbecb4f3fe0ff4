"""Import runs: an uploaded file is kept, checked by a dry run, and imported when an administrator confirms.

The parsing and validation are the importers' own (:data:`~cme_tracker.import_runs.importers.IMPORTERS`), so a
run reports exactly what ``cme-tracker import KIND FILE --dry-run`` prints, with the file's name as uploaded.
The import itself is all or nothing like the command's, and runs the importer again: if the records changed
since the dry run, it reports the new problems and writes nothing. Only a run whose dry run passed can be
imported, once: the run's row is locked while it is imported, so a double click imports once.

Services flush and never commit; the caller commits once (the page, the API, the job).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict, NotFound, check_version
from cme_tracker.import_runs.importers import IMPORTERS
from cme_tracker.import_runs.models import ImportKind, ImportRun, ImportRunStatus
from cme_tracker.tabular.loading import ImportRejected, ImportResult
from cme_tracker.tabular.reader import CSV_SUFFIXES, XLSX_SUFFIXES, RowError

UPLOADS = Path("imports")
"""Where uploaded import files are kept, in the instance folder (private, like its other files)."""
FILE_NAME_LENGTH = 120
MAX_KEPT_ERRORS = 10_000
"""Problems kept on a run (all are counted): enough for any file a person will fix by hand."""
SUFFIXES = (*sorted(CSV_SUFFIXES), *sorted(XLSX_SUFFIXES))

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|]')
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Upload:
    """A file as sent: the kind of import, its name as the sender gave it, and its bytes."""

    kind: ImportKind
    file_name: str
    data: bytes


def clean_file_name(name: str | None, kind: ImportKind) -> str:
    """The file's own name without any folder, control or path characters, at most 120 characters; its
    suffix (which says CSV or XLSX) is kept. An empty name becomes ``KIND.csv``."""
    text = unicodedata.normalize("NFC", name or "")
    text = PurePosixPath(text.replace("\\", "/")).name
    text = "".join(char for char in text if unicodedata.category(char)[0] != "C")
    text = _UNSAFE_NAME.sub("_", text).strip().lstrip(".").strip()
    if not text:
        return f"{kind.value}.csv"
    if len(text) > FILE_NAME_LENGTH:
        stem, dot, suffix = text.rpartition(".")
        suffix = f".{suffix}" if dot and len(suffix) <= 8 else ""
        text = (stem if dot and suffix else text)[: FILE_NAME_LENGTH - len(suffix)] + suffix
    return text


def stored_path(instance_path: Path, run: ImportRun) -> Path:
    return instance_path / UPLOADS / run.stored_name


def record_upload(
    session: Session, instance_path: Path, upload: Upload, *, actor: str, queued: bool = False
) -> ImportRun:
    """Keep the file under a random name and record the run; it is then checked (see :func:`check_run`), in
    the request, or by a job when ``queued`` (its status is ``checking`` until then)."""
    name = clean_file_name(upload.file_name, upload.kind)
    suffix = Path(name).suffix.lower()
    stored_name = secrets.token_hex(16) + (suffix if suffix in SUFFIXES else ".upload")
    folder = instance_path / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{stored_name}.part"
    with temporary.open("xb") as handle:
        handle.write(upload.data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(folder / stored_name)
    run = ImportRun(
        kind=upload.kind,
        file_name=name,
        stored_name=stored_name,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        status=ImportRunStatus.CHECKING,
        uploaded_by=actor[:64],
        uploaded_at=utcnow(),
        related={},
        errors=[],
    )
    session.add(run)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="import_run.upload",
        target=f"import_run:{run.id}",
        details={
            "kind": run.kind.value,
            "file": run.file_name,
            "size": run.size,
            "sha256": run.sha256,
            "queued": queued,
        },
    )
    return run


def get_run(session: Session, run_id: int, *, lock: bool = False) -> ImportRun:
    """The run, or 404; ``lock``: its row locked until the transaction ends (PostgreSQL; SQLite's write
    transaction already excludes other writers), so that two confirmations import once."""
    statement = select(ImportRun).where(ImportRun.id == run_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    run = session.scalar(statement)
    if run is None:
        raise NotFound(f"no import run {run_id}", code="unknown_import_run")
    return run


def check_run(session: Session, instance_path: Path, run: ImportRun, *, actor: str) -> ImportResult:
    """The dry run: every check of the import, nothing written but the run's result and its audit event."""
    result = _run_importer(session, instance_path, run, actor=actor, dry_run=True)
    run.status = ImportRunStatus.DRY_RUN_OK if result.ok else ImportRunStatus.DRY_RUN_FAILED
    run.checked_at = utcnow()
    _keep_result(run, result)
    session.flush()
    _audit(session, run, "import_run.check", actor)
    return result


def start_import(run: ImportRun, expected_version: int | None) -> None:
    """Refuse a run that cannot be imported (now): its dry run failed, it is imported, or it is underway."""
    if run.status is ImportRunStatus.IMPORTED:
        raise Conflict(f"import run {run.id} ({run.file_name}) was already imported", code="already_imported")
    if run.in_progress:
        raise Conflict(
            f"import run {run.id} ({run.file_name}) is being checked or imported; wait for its job",
            code="import_in_progress",
        )
    if not run.confirmable:
        raise Conflict(
            f"import run {run.id} ({run.file_name}) did not pass its dry run; "
            "fix the file and upload it again",
            code="not_confirmable",
        )
    check_version(run.row_version, expected_version)


def queue_import(session: Session, run: ImportRun, expected_version: int | None, *, actor: str) -> None:
    """Mark a confirmed run for its job (see :func:`import_run`), after the checks of :func:`start_import`."""
    start_import(run, expected_version)
    run.status = ImportRunStatus.IMPORTING
    run.imported_by = actor[:64]
    session.flush()


def import_run(
    session: Session, instance_path: Path, run: ImportRun, *, actor: str, expected_version: int | None = None
) -> ImportResult:
    """Import a run whose dry run passed (or that :func:`queue_import` queued), all or nothing.

    The importer checks everything again: problems found now (the records changed since the dry run, or the
    database refused a row) mark the run ``failed`` with them, and nothing else is written.
    """
    if run.status is not ImportRunStatus.IMPORTING:
        start_import(run, expected_version)
    try:
        with session.begin_nested():
            result = _run_importer(session, instance_path, run, actor=actor, dry_run=False)
    except IntegrityError as error:
        result = ImportResult(
            file=run.file_name,
            kind=run.kind.value,
            errors=(
                RowError(
                    run.file_name,
                    None,
                    None,
                    f"the database refused the import ({_storable(str(error.orig))}); nothing was imported",
                ),
            ),
        )
    run.status = ImportRunStatus.IMPORTED if result.ok else ImportRunStatus.FAILED
    run.imported_by = actor[:64]
    run.imported_at = utcnow()
    _keep_result(run, result)
    session.flush()
    _audit(session, run, "import_run.import", actor)
    return result


def fail_run(session: Session, run: ImportRun, reason: str, *, actor: str) -> None:
    """Record that a run's job stopped: a dry run as failed, an import as failed, with the reason."""
    run.status = (
        ImportRunStatus.DRY_RUN_FAILED if run.status is ImportRunStatus.CHECKING else ImportRunStatus.FAILED
    )
    result = ImportResult(
        file=run.file_name, kind=run.kind.value, errors=(RowError(run.file_name, None, None, reason),)
    )
    _keep_result(run, result)
    session.flush()
    _audit(session, run, "import_run.fail", actor)


def rejection(run: ImportRun) -> ImportRejected:
    """The API's 422 for a run with problems: the summary, and every problem with its line and column."""
    return ImportRejected(
        run.summary or f"{run.file_name}: rejected",
        details={"run_id": run.id, "error_count": run.error_count, "errors": run.errors},
    )


def _run_importer(
    session: Session, instance_path: Path, run: ImportRun, *, actor: str, dry_run: bool
) -> ImportResult:
    path = stored_path(instance_path, run)
    try:
        data = path.read_bytes()
    except OSError:
        return _refused(run, "the uploaded file is no longer kept on the server; upload it again")
    if hashlib.sha256(data).hexdigest() != run.sha256:
        return _refused(
            run, "the uploaded file was changed on the server since it was uploaded; upload it again"
        )
    importer = IMPORTERS[run.kind.value]
    return importer(session, path, actor=actor, dry_run=dry_run, name=run.file_name)


def _refused(run: ImportRun, reason: str) -> ImportResult:
    return ImportResult(
        file=run.file_name, kind=run.kind.value, errors=(RowError(run.file_name, None, None, reason),)
    )


def _storable(text: str) -> str:
    """Text the database can keep: PostgreSQL refuses NUL, and a lone surrogate cannot be encoded."""
    return _UNSTORABLE.sub("\ufffd", text)


def error_rows(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    """Each problem as the page's table and the API show it, with the CLI's ``FILE:LINE:COLUMN: reason``."""
    return [
        {
            "line": error.line,
            "column": None if error.column is None else _storable(error.column),
            "reason": _storable(error.reason),
            "message": _storable(str(error)),
        }
        for error in errors
    ]


def _keep_result(run: ImportRun, result: ImportResult) -> None:
    run.added, run.changed, run.unchanged = result.rows.added, result.rows.changed, result.rows.unchanged
    run.related = {label: asdict(counts) for label, counts in result.related}
    run.errors = error_rows(result.errors[:MAX_KEPT_ERRORS])
    run.error_count = len(result.errors)
    run.summary = _storable(result.summary)[:500]


def _audit(session: Session, run: ImportRun, action: str, actor: str) -> None:
    chain.record(
        session,
        actor=actor,
        action=action,
        target=f"import_run:{run.id}",
        details={
            "kind": run.kind.value,
            "file": run.file_name,
            "sha256": run.sha256,
            "status": run.status.value,
            "rows": {"added": run.added, "changed": run.changed, "unchanged": run.unchanged},
            **run.related,
            "errors": run.error_count,
        },
    )
