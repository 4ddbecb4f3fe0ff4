"""What the pages that queue a job share: starting a worker for it, and its progress as the pages show it.

The office's job page (:mod:`cme_tracker.jobs.views`) and the auditor's export page both poll
:func:`progress_json` and reload every :data:`RELOAD_SECONDS` without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import LazyString, gettext, lazy_gettext

from cme_tracker.config import Settings
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import CRASH, JobKinds, launch_worker
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


WRITE_REFUSALS: dict[str, LazyString] = {
    "ENOSPC": lazy_gettext("the disk is full"),
    "EDQUOT": lazy_gettext("the disk quota is used up"),
    "EFBIG": lazy_gettext("the file is larger than the server may write"),
    "EROFS": lazy_gettext("the disk is read-only"),
    "EACCES": lazy_gettext("the server may not write there"),
    "EPERM": lazy_gettext("the server may not write there"),
    "ENOTDIR": lazy_gettext("a file is where a folder belongs"),
}
"""Why the disk refused a write, by the errno name a job records, in words."""


def error_message(error: dict[str, Any]) -> str:
    """A job's recorded problem as a person reads it: the server's own problems (a crash, a refused write, a
    lost key) in translated words that name no server path, for which the server's log has the details."""
    code = error.get("error")
    text: str
    if code == CRASH:
        text = gettext(
            "The job stopped because of an unexpected error on the server. Run it again; if it stops again, "
            "ask the administrator, who finds the details in the server's log."
        )
    elif code == "storage_failed":
        reason = WRITE_REFUSALS.get(str(error.get("errno")), lazy_gettext("the disk refused the write"))
        text = gettext(
            "The server could not write a file: %(reason)s. Nothing half-written was kept. Ask the "
            "administrator to free space or fix the instance folder (the server's log names the file), "
            "then run it again.",
            reason=reason,
        )
    elif error.get("server"):
        text = gettext(
            "The server cannot do this as it is set up. Ask the administrator: the server's log says what "
            "to fix."
        )
    else:
        text = str(error.get("message", ""))
    return text


def shown_errors(job: Job) -> list[dict[str, Any]]:
    """The job's problems as the pages and their JSON show them: the code, the message, the member if any."""
    shown = []
    for error in job.errors:
        entry: dict[str, Any] = {"error": error.get("error"), "message": error_message(error)}
        if error.get("member_no"):
            entry["member_no"] = error["member_no"]
        shown.append(entry)
    return shown


def shown_summary(job: Job) -> str | None:
    """A failed job's summary is its first problem in words when the server recorded it by its code alone."""
    first = job.errors[0] if job.status == JobStatus.FAILED and job.errors else None
    if first is not None and (first.get("error") == CRASH or first.get("server")):
        return error_message(first)
    return job.summary


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
        "summary": shown_summary(job),
        "errors": shown_errors(job),
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
