"""Auditor exports of a year's credits: CSV, XLSX, JSON or the signed ZIP bundle, atomic and audited.

An export is written to a temporary name beside ``out`` and renamed in the transaction that records it in
the audit log (who, year, basis, format, rows, SHA-256), so a failed or interrupted export leaves no file at
``out`` and every file there has its audit event. Rows stream (see :mod:`export_rows`), so memory stays flat.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from cme_tracker.audit import chain
from cme_tracker.db import Database
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.transcripts.export_bundle import ExportFailed, audit_checkpoint, write_bundle
from cme_tracker.transcripts.export_parts import write_detail_csv
from cme_tracker.transcripts.export_rows import YearExport
from cme_tracker.transcripts.export_writers import ExportJson, ExportXlsx, RowCounts, run_pass
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.documents.issue import Progress
    from cme_tracker.documents.setup import DocumentSetup

EXPORT_ACTION = "export.transcripts"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 1 << 20


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    ZIP = "zip"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: ``audit_sequence`` is its audit event, ``checkpoint`` the head it signed."""

    path: Path
    export_format: ExportFormat
    year: int
    basis: YearBasis
    counts: RowCounts
    transcripts: int
    sha256: str
    audit_sequence: int
    checkpoint: int | None

    def contents(self) -> str:
        parts = [
            f"{self.counts.members} members",
            f"{self.counts.detail} detail rows",
            f"{self.counts.totals} totals rows",
        ]
        if self.export_format is ExportFormat.ZIP:
            parts.append(f"{self.transcripts} transcripts")
        return ", ".join(parts)

    def summary(self) -> str:
        return f"wrote {self.path} ({self.contents()}), sha256 {self.sha256}"


def export_transcripts(
    database: Database,
    setup: DocumentSetup,
    year: int,
    basis: YearBasis,
    export_format: ExportFormat,
    out: Path,
    *,
    actor: str,
    jobs: int = 1,
    progress: Progress | None = None,
    issue_missing: bool = True,
) -> ExportReport:
    """Write the year's export to ``out`` and record it in the audit log; nothing at ``out`` if it fails.

    Every table is read in one snapshot of the database. The CSV is written by up to ``jobs`` processes. The
    ZIP bundle first issues the transcripts still missing (``jobs`` processes, ``progress`` as they go),
    so that it holds every member's signed transcript of the year and basis. Without ``issue_missing`` (an
    auditor's download, which must change nothing) it bundles the transcripts issued so far.
    """
    if export_format is ExportFormat.ZIP and issue_missing:
        _issue_missing_transcripts(database, setup, year, basis, actor=actor, jobs=jobs, progress=progress)
    temporary = out.with_name(f".{out.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    placed = False
    try:
        with database.snapshot() as session:
            export = YearExport(session, year, basis)
            checkpoint_sequence: int | None = None
            transcripts = 0
            if export_format is ExportFormat.CSV:
                counts = write_detail_csv(database, export, temporary, jobs)
            else:
                identity = load_signing_identity(
                    setup.instance_path, setup.signing_p12, setup.signing_password
                )
                checkpoint = audit_checkpoint(session, identity, year=year, basis=basis.value)
                checkpoint_sequence = checkpoint.sequence
                if export_format is ExportFormat.XLSX:
                    counts = run_pass(export, [ExportXlsx(export, temporary, checkpoint)])
                elif export_format is ExportFormat.JSON:
                    with temporary.open("w", encoding="utf-8") as handle:
                        counts = run_pass(export, [ExportJson(export, handle, checkpoint)])
                else:
                    bundle = write_bundle(export, identity, checkpoint, setup.instance_path, temporary)
                    counts, transcripts = bundle.counts, bundle.transcripts
        digest = _sync_and_hash(temporary)
        with database.write_unit() as session:
            event = chain.record(
                session,
                actor=actor,
                action=EXPORT_ACTION,
                target=f"export:transcripts:{year}:{basis.value}",
                details={
                    "year": year,
                    "year_basis": basis.value,
                    "format": export_format.value,
                    "file": out.name,
                    "members": counts.members,
                    "detail_rows": counts.detail,
                    "totals_rows": counts.totals,
                    "transcripts": transcripts,
                    "sha256": digest,
                    "checkpoint_sequence": checkpoint_sequence,
                },
            )
            os.replace(temporary, out)
            placed = True
            _sync_directory(out.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        if placed:
            out.unlink(missing_ok=True)  # the audit event did not commit: no unrecorded export stays
        raise
    return ExportReport(
        out, export_format, year, basis, counts, transcripts, digest, event.sequence, checkpoint_sequence
    )


def _issue_missing_transcripts(
    database: Database,
    setup: DocumentSetup,
    year: int,
    basis: YearBasis,
    *,
    actor: str,
    jobs: int,
    progress: Progress | None,
) -> None:
    from cme_tracker.transcripts.issue import issue_transcripts

    report = issue_transcripts(database, setup, year, basis, actor=actor, jobs=jobs, progress=progress)
    if report.failed:
        failures = "; ".join(f"{failure['member_no']}: {failure['message']}" for failure in report.failed)
        raise ExportFailed(
            f"{len(report.failed)} transcripts could not be issued, so the bundle would be incomplete "
            f"({failures}); nothing was exported",
            details={"failed": report.failed},
        )


def _sync_and_hash(path: Path) -> str:
    """Flush the file to disk before it is renamed into place, and hash it on the way."""
    digest = hashlib.sha256()
    with path.open("rb+") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _sync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
