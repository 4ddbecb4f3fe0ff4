"""Exports requested from the web: written by a worker as a job, kept in the instance folder for a week.

A year's bundle can take minutes (every transcript PDF of the society), longer than a request may last, so
the auditor's page queues an export job and shows its progress; the worker writes the file with
:func:`export_transcripts` (atomic, audited with the requesting user as actor) into the job's own folder, and
the page then offers it for download. Folders older than :data:`RETENTION` are removed when a new export
runs, so member data does not pile up on the server.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.db import Database
from cme_tracker.exports.formats import FORMATS, ExportFormat
from cme_tracker.exports.services import export_transcripts
from cme_tracker.jobs.models import Job
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.documents.setup import DocumentSetup

EXPORT_TRANSCRIPTS = "export.transcripts"
"""The kind of job that writes a requested export."""
EXPORTS_FOLDER = "exports"
RETENTION = timedelta(days=7)
"""How long a requested export stays on the server after it was written."""


@dataclass(frozen=True)
class ExportRequest:
    """A job's parameters: the year, its basis, the format, and who asked (their own job, their own file)."""

    year: int
    basis: YearBasis
    export_format: ExportFormat
    requested_by: str

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> ExportRequest:
        return cls(
            int(parameters["year"]),
            YearBasis(parameters["year_basis"]),
            FORMATS[parameters["format"]],
            str(parameters["requested_by"]),
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "year_basis": self.basis.value,
            "format": self.export_format.name,
            "requested_by": self.requested_by,
        }

    @property
    def file_name(self) -> str:
        return f"imsj-credits-{self.year}-{self.basis.value}.{self.export_format.suffix}"


def recent_requests(
    session: Session, actor: str, year: int, basis: YearBasis, *, limit: int
) -> list[tuple[Job, ExportRequest]]:
    """The latest exports of the year that ``actor`` asked for, newest first: their jobs and requests."""
    jobs = session.scalars(
        select(Job)
        .where(Job.kind == EXPORT_TRANSCRIPTS, Job.created_by == actor)
        .order_by(Job.id.desc())
        .limit(limit * 4)
    )
    found = []
    for job in jobs:
        wanted = ExportRequest.from_parameters(job.parameters)
        if wanted.year == year and wanted.basis is basis:
            found.append((job, wanted))
    return found[:limit]


def stored_export(instance_path: Path, job_id: int, request: ExportRequest) -> Path:
    """Where the export of job ``job_id`` lives once written."""
    return instance_path / EXPORTS_FOLDER / str(job_id) / request.file_name


def write_requested_export(
    database: Database, setup: DocumentSetup, job_id: int, request: ExportRequest, *, jobs: int
) -> str:
    """Write the job's export unless an earlier run of the job did; the job's summary.

    Bundles hold the transcripts issued so far (a request from the web issues nothing).
    """
    sweep_exports(setup.instance_path)
    path = stored_export(setup.instance_path, job_id, request)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        report = export_transcripts(
            database,
            setup,
            request.year,
            request.basis,
            request.export_format,
            path,
            actor=request.requested_by,
            jobs=jobs,
            issue_missing=False,
        )
        return f"{path.name} ({report.contents()}), SHA-256 {report.sha256}"
    return f"{path.name} (written by an earlier run of this job)"


def sweep_exports(instance_path: Path, *, now: float | None = None) -> int:
    """Remove the export folders written longer than :data:`RETENTION` ago; how many."""
    folder = instance_path / EXPORTS_FOLDER
    if not folder.is_dir():
        return 0
    oldest = (time.time() if now is None else now) - RETENTION.total_seconds()
    removed = 0
    for job_folder in folder.iterdir():
        if job_folder.is_dir() and job_folder.stat().st_mtime < oldest:
            shutil.rmtree(job_folder, ignore_errors=True)
            removed += 1
    return removed
