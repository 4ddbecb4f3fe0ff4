"""What the pages that queue a job share: starting a worker for it, and its progress as the pages show it.

The office's job page (:mod:`cme_tracker.jobs.views`) and the auditor's export page both poll
:func:`progress_json` and reload every :data:`RELOAD_SECONDS` without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import LazyString, lazy_gettext

from cme_tracker.config import Settings
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import JobKinds, launch_worker
from cme_tracker.web.session import settings

JOB_KINDS_EXTENSION = "cme_job_kinds"
"""Where the app keeps the registry of job kinds that the composition gives it."""

JobLauncher = Callable[[Settings], object]
"""Starts something that runs the queued jobs; tests swap in their own under ``JOB_LAUNCHER``."""

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)
RELOAD_SECONDS = 3
"""How often a job's page reloads itself when JavaScript is off; the script polls every second instead."""

JOB_STATUS_LABELS: dict[JobStatus, LazyString] = {
    JobStatus.QUEUED: lazy_gettext("Waiting to start"),
    JobStatus.RUNNING: lazy_gettext("Running"),
    JobStatus.SUCCEEDED: lazy_gettext("Finished"),
    JobStatus.FAILED: lazy_gettext("Failed"),
}


def job_kinds() -> JobKinds:
    """The app's kinds of job: what a page may submit, and where a job's page links back to."""
    kinds: JobKinds = current_app.extensions[JOB_KINDS_EXTENSION]
    return kinds


def start_worker() -> None:
    """Start a worker for the job the request queued (and committed); the page then follows the job."""
    launcher: JobLauncher = current_app.config.get("JOB_LAUNCHER", launch_worker)
    launcher(settings())


def progress_json(job: Job) -> dict[str, Any]:
    """What the page shows of a job, in the shape its script reads."""
    return {
        "id": job.id,
        "kind": job.kind,
        "parameters": job.parameters,
        "status": job.status,
        "status_label": str(JOB_STATUS_LABELS.get(job.status, job.status)),
        "finished": job.status in FINISHED,
        "done": job.done,
        "total": job.total,
        "summary": job.summary,
        "errors": job.errors,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
