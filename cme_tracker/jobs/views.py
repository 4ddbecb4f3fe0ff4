"""A job's progress page for the office, and its JSON that the page polls while the job runs.

Progress lives in the Job row, which the worker process updates, so any web process can answer. The page
works without JavaScript too: it then reloads itself every few seconds until the job has finished.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue

from cme_tracker.jobs.models import Job
from cme_tracker.jobs.web import (
    FINISHED,
    JOB_STATUS_LABELS,
    RELOAD_SECONDS,
    job_kinds,
    progress_json,
    shown_errors,
    shown_summary,
)
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@blueprint.get("/<int:job_id>")
@roles_required(Role.ADMIN)
def page(job_id: int) -> ResponseReturnValue:
    job = _job_or_404(job_id)
    kind = job_kinds().get(job.kind)
    return render_template(
        "jobs/job.html",
        job=job,
        finished=job.status in FINISHED,
        summary=shown_summary(job),
        errors=shown_errors(job),
        reload_seconds=RELOAD_SECONDS,
        status_labels=JOB_STATUS_LABELS,
        back=_subject_url(job),
        kind=kind,
        download=url_for(kind.download, job_id=job.id) if kind is not None and kind.download else None,
    )


@blueprint.get("/<int:job_id>.json")
@roles_required(Role.ADMIN)
def progress(job_id: int) -> ResponseReturnValue:
    response = jsonify(progress_json(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _job_or_404(job_id: int) -> Job:
    job = db_session().get(Job, job_id)
    if job is None:
        abort(404)
    return job


def _subject_url(job: Job) -> str | None:
    """The page of what the job worked on, to go back to, if its kind names one."""
    kind = job_kinds().get(job.kind)
    page = kind.subject_page if kind is not None else None
    value = job.parameters.get(page.parameter) if page is not None else None
    if page is None or not isinstance(value, str | int) or isinstance(value, bool):
        return None
    arguments: dict[str, Any] = {page.parameter: value}
    return url_for(page.endpoint, **arguments)
