"""The registry of the kinds of job the workers run, the one place that names them all; and the worker.

The job machinery (:mod:`cme_tracker.jobs`) knows no kind of job. The worker command below, the pages that
submit a job and the job's own page are handed :data:`JOB_KINDS` (the web app through its extensions). Each
kind of document (:data:`~cme_tracker.document_kinds.KINDS`) is a kind of job, and so are a requested export
the dry run and import of a large import file, a large card sheet, and the reissue of the documents a
program change affects.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext

from cme_tracker import housekeeping
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.issue import issue_documents
from cme_tracker.documents.kinds import DocumentKind
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports.store import EXPORT_TRANSCRIPTS, ExportRequest, write_requested_export
from cme_tracker.import_runs.jobs import CHECK_IMPORT, RUN_IMPORT, check_import_job, run_import_job
from cme_tracker.jobs.commands import worker_command
from cme_tracker.jobs.service import JobKind, JobProgress, JobRunner, SubjectPage
from cme_tracker.mail.service import DELIVER_MAIL, deliver_due, mail_due
from cme_tracker.members.card_jobs import PRINT_CARD_SHEETS, print_card_sheets
from cme_tracker.program_office.reissue import REISSUE_DOCUMENTS, reissue_runner


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
_IMPORT_RUN_PAGE = SubjectPage("import_runs.run", "run_id", lazy_gettext("Back to the import"))
"""An import's job links back to its run, the page of its result."""


def _deliver_mail(
    database: Database,
    settings: Settings,
    _job_id: int,
    _parameters: dict[str, Any],
    _actor: str,
    _processes: int,
) -> tuple[str, list[dict[str, Any]]]:
    return deliver_due(database, settings).summary(), []


JOB_KINDS: dict[str, JobKind] = {
    **{kind.job: JobKind(_document_runner(kind), _SUBJECT_PAGES.get(kind.job)) for kind in KINDS},
    EXPORT_TRANSCRIPTS: JobKind(_export_transcripts),
    DELIVER_MAIL: JobKind(_deliver_mail, due=mail_due),
    CHECK_IMPORT: JobKind(check_import_job, _IMPORT_RUN_PAGE, title=lazy_gettext("Checking an import file")),
    RUN_IMPORT: JobKind(run_import_job, _IMPORT_RUN_PAGE, title=lazy_gettext("Importing a file")),
    PRINT_CARD_SHEETS: JobKind(
        print_card_sheets, title=lazy_gettext("Printing card sheets"), download="admin.card_sheet_file"
    ),
    REISSUE_DOCUMENTS: JobKind(
        reissue_runner(KINDS), title=lazy_gettext("Reissuing the documents a program change affects")
    ),
}

worker = worker_command(JOB_KINDS, housekeeping.prune_database)
"""``cme-tracker worker``: runs the jobs of :data:`JOB_KINDS`."""
