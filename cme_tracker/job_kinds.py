"""The registry of the kinds of job the workers run, the one place that names them all; and the worker.

The job machinery (:mod:`cme_tracker.jobs`) knows no kind of job. The worker command below, the pages that
submit a job and the job's own page are handed :data:`JOB_KINDS` (the web app through its extensions). Each
kind of document (:data:`~cme_tracker.document_kinds.KINDS`) is a kind of job, and so is a requested export.
"""

from __future__ import annotations

from typing import Any

from cme_tracker import housekeeping
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.issue import issue_documents
from cme_tracker.documents.kinds import DocumentKind
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports.store import EXPORT_TRANSCRIPTS, ExportRequest, write_requested_export
from cme_tracker.jobs.commands import worker_command
from cme_tracker.jobs.service import JobKind, JobProgress, JobRunner, SubjectPage


def _document_runner(kind: DocumentKind[Any]) -> JobRunner:
    """The runner of ``kind``'s job: issue the missing documents of the subject its parameters name."""

    def run(
        database: Database,
        settings: Settings,
        job_id: int,
        parameters: dict[str, Any],
        actor: str,
        processes: int,
    ) -> tuple[str, list[dict[str, Any]]]:
        report = issue_documents(
            database,
            DocumentSetup.from_settings(settings),
            kind.job_run(parameters),
            member_no=parameters.get("member_no"),
            actor=actor,
            jobs=processes,
            progress=JobProgress(database, job_id),
        )
        return report.summary(), report.failed

    return run


def _export_transcripts(
    database: Database,
    settings: Settings,
    job_id: int,
    parameters: dict[str, Any],
    _actor: str,
    processes: int,
) -> tuple[str, list[dict[str, Any]]]:
    request = ExportRequest.from_parameters(parameters)
    setup = DocumentSetup.from_settings(settings)
    return write_requested_export(database, setup, job_id, request, jobs=processes), []


_SUBJECT_PAGES = {ISSUE_CERTIFICATES: SubjectPage("certificate_admin.symposium", "symposium_code")}
"""The pages a job's page links back to: the symposium whose certificates the job issues."""

JOB_KINDS: dict[str, JobKind] = {
    **{kind.job: JobKind(_document_runner(kind), _SUBJECT_PAGES.get(kind.job)) for kind in KINDS},
    EXPORT_TRANSCRIPTS: JobKind(_export_transcripts),
}

worker = worker_command(JOB_KINDS, housekeeping.prune_database)
"""``cme-tracker worker``: runs the jobs of :data:`JOB_KINDS`."""
