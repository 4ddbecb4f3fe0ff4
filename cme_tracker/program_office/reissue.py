"""The job that reissues a list of documents by serial, after a program change left their content behind.

Idempotent, as every job kind must be: a serial already superseded (by an earlier run of the same job, taken
over after its worker died) or revoked meanwhile is skipped, so running it again reissues only what is left.
Each reissue is the kernel's (:func:`~cme_tracker.documents.issue.reissue_certificate`): the new document is
rendered, signed and committed with its ``certificate.issue`` audit event naming the serial it replaces.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.documents.issue import reissue_certificate
from cme_tracker.documents.kinds import DocumentKinds
from cme_tracker.documents.models import Certificate, CertificateStatus
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.errors import DomainError
from cme_tracker.jobs.models import Job
from cme_tracker.jobs.service import JobKinds, JobProgress, JobRunner, submit_job

REISSUE_DOCUMENTS = "documents.reissue"
"""The Job kind reissuing the documents its ``serials`` parameter names."""
MAX_SERIALS = 10_000


def submit_reissue(
    session: Session, kinds: JobKinds, serials: Collection[str], *, actor: str, reason: str
) -> Job:
    """Queue the reissue of ``serials`` (the same unfinished job is not queued twice)."""
    if not serials:
        raise DomainError("there is no document to reissue", code="nothing_to_reissue")
    if len(serials) > MAX_SERIALS:
        raise DomainError(f"at most {MAX_SERIALS} documents a job", code="invalid")
    return submit_job(
        session,
        kinds,
        kind=REISSUE_DOCUMENTS,
        parameters={"serials": sorted(set(serials)), "reason": reason},
        actor=actor,
    )


def reissue_runner(kinds: DocumentKinds) -> JobRunner:
    """The runner of the reissue job, computing each successor with its document's own kind."""

    def run(
        database: Database,
        settings: Settings,
        job_id: int,
        parameters: dict[str, Any],
        actor: str,
        _processes: int,
    ) -> tuple[str, list[dict[str, Any]]]:
        serials: list[str] = list(parameters["serials"])
        setup = DocumentSetup.from_settings(settings)
        progress = JobProgress(database, job_id)
        reissued, skipped = 0, 0
        errors: list[dict[str, Any]] = []
        for done, serial in enumerate(serials, start=1):
            with database.sessions() as session:
                status = session.scalar(select(Certificate.status).where(Certificate.serial == serial))
            if status != CertificateStatus.VALID:
                skipped += 1
            else:
                try:
                    reissue_certificate(database, setup, kinds, serial, actor=actor)
                    reissued += 1
                except DomainError as error:
                    errors.append(
                        {"serial": serial, "error": error.code, "message": f"{serial}: {error.message}"}
                    )
            progress(done, len(serials))
        parts = [f"{reissued} reissued"]
        if skipped:
            parts.append(f"{skipped} already reissued or revoked")
        if errors:
            parts.append(f"{len(errors)} failed")
        return ", ".join(parts), errors

    return run
