"""Writing an auditor export of a year in a registered format, atomic and audited.

An export is written to a temporary name beside ``out`` and renamed in the transaction that records it in
the audit log (who, year, basis, format, rows, SHA-256), so a failed or interrupted export leaves no file at
``out`` and every file there has its audit event. Rows stream (see
:mod:`cme_tracker.exports.rows`), so memory stays flat.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cme_tracker.audit import chain
from cme_tracker.db import Database
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.exports.checkpoint import audit_checkpoint
from cme_tracker.exports.formats import ExportFormat
from cme_tracker.exports.rows import YearExport
from cme_tracker.exports.sinks import ExportFailed, RowCounts, Signing, Target
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.documents.issue import Progress
    from cme_tracker.documents.setup import DocumentSetup

log = logging.getLogger(__name__)

EXPORT_ACTION = "export.transcripts"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 1 << 20


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
        if self.export_format.holds_transcripts:
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

    Every table is read in one snapshot of the database. The CSV is written by up to ``jobs`` processes. A
    format that holds transcripts (the ZIP bundle) first issues those still missing (``jobs`` processes,
    ``progress`` as they go), so that it holds every member's signed transcript of the year and basis. Without
    ``issue_missing`` (an auditor's download, which must change nothing) it holds those issued so far.
    """
    if export_format.holds_transcripts and issue_missing:
        _issue_missing_transcripts(database, setup, year, basis, actor=actor, jobs=jobs, progress=progress)
    temporary = out.with_name(f".{out.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    placed = False
    try:
        with database.snapshot() as session:
            export = YearExport(session, year, basis)
            signing = None
            if export_format.signed:
                identity = load_signing_identity(
                    setup.instance_path, setup.signing_p12, setup.signing_password
                )
                checkpoint = audit_checkpoint(session, identity, year=year, basis=basis.value)
                signing = Signing(identity, checkpoint)
            written = export_format.write(
                Target(database, export, temporary, jobs, setup.instance_path, signing)
            )
        counts, transcripts = written.counts, written.transcripts
        checkpoint_sequence = None if signing is None else signing.checkpoint.sequence
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
                    "format": export_format.name,
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
    report = ExportReport(
        out, export_format, year, basis, counts, transcripts, digest, event.sequence, checkpoint_sequence
    )
    log.info("export for %s: %s", actor, report.summary())
    return report


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
    from cme_tracker.transcripts.issue import issue_transcripts  # WeasyPrint: loaded only for a bundle

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
