"""Exports from the auditor's pages: requested as a job, followed on its page, downloaded when written.

Requesting an export is the one thing an auditor may post: it queues a job and records the request, and the
export itself is recorded with the auditor as actor when the worker writes it (see
:mod:`cme_tracker.exports.store`). An export is its requester's: others get 404, admins see all.
Each download is recorded in the audit log too.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, NumberRange

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.audit import chain
from cme_tracker.db import begin_write
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.store import EXPORT_TRANSCRIPTS, ExportRequest, stored_export
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import (
    FINISHED,
    JOB_STATUS_LABELS,
    RELOAD_SECONDS,
    job_kinds,
    progress_json,
    shown_errors,
    shown_summary,
    start_worker,
)
from cme_tracker.society import FIRST_REPORT_YEAR, LAST_REPORT_YEAR
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session, settings

blueprint = Blueprint("audit_exports", __name__, url_prefix="/audit/exports")

READERS = (Role.AUDITOR, Role.ADMIN)


class ExportForm(FlaskForm):  # type: ignore[misc]
    """The year's export buttons: the format is the button pressed."""

    year = IntegerField(validators=[DataRequired(), NumberRange(FIRST_REPORT_YEAR, LAST_REPORT_YEAR)])
    basis = HiddenField(default=YearBasis.CALENDAR.value, validators=[AnyOf(list(YearBasis))])
    format = StringField(validators=[AnyOf(list(FORMATS))])


@blueprint.post("")
@roles_required(*READERS)
def request_export() -> ResponseReturnValue:
    """Queue the export (the same request still unfinished is not queued twice), start a worker, follow it."""
    form = ExportForm()
    if not form.validate():
        abort(400, gettext("Choose a year, a year basis and a format."))
    wanted = ExportRequest(
        form.year.data, YearBasis(form.basis.data), FORMATS[form.format.data], current_actor().name
    )
    session = db_session()
    begin_write(session)
    job = submit_job(
        session,
        job_kinds(),
        kind=EXPORT_TRANSCRIPTS,
        parameters=wanted.parameters(),
        actor=wanted.requested_by,
    )
    session.commit()
    start_worker()
    return redirect(url_for("audit_exports.page", job_id=job.id), 303)


@blueprint.get("/<int:job_id>")
@roles_required(*READERS)
def page(job_id: int) -> ResponseReturnValue:
    job = _export_job_or_404(job_id)
    wanted = ExportRequest.from_parameters(job.parameters)
    return render_template(
        "exports/export.html",
        job=job,
        wanted=wanted,
        finished=job.status in FINISHED,
        summary=shown_summary(job),
        errors=shown_errors(job),
        succeeded=job.status == JobStatus.SUCCEEDED,
        reload_seconds=RELOAD_SECONDS,
        status_labels=JOB_STATUS_LABELS,
        back=url_for(
            "auditing.overview",
            year=wanted.year,
            basis=None if wanted.basis is YearBasis.CALENDAR else wanted.basis.value,
        ),
    )


@blueprint.get("/<int:job_id>.json")
@roles_required(*READERS)
def progress(job_id: int) -> ResponseReturnValue:
    response = jsonify(progress_json(_export_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/<int:job_id>/file")
@roles_required(*READERS)
def download(job_id: int) -> ResponseReturnValue:
    """The written export; each download is recorded in the audit log with who made it."""
    job = _export_job_or_404(job_id)
    wanted = ExportRequest.from_parameters(job.parameters)
    path = stored_export(settings().instance_path, job.id, wanted)
    if job.status != JobStatus.SUCCEEDED or not path.is_file():
        abort(
            404,
            gettext("This export is not available: it is not written yet, or it was removed after a week."),
        )
    handle = path.open("rb")  # closed by the response
    session = db_session()
    begin_write(session)
    chain.record(
        session,
        actor=current_actor().name,
        action="export.download",
        target=f"job:{job.id}",
        details={"file": wanted.file_name, "year": wanted.year, "year_basis": wanted.basis.value},
    )
    session.commit()
    response = send_file(
        handle,
        mimetype=wanted.export_format.media_type,
        as_attachment=True,
        download_name=wanted.file_name,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export_job_or_404(job_id: int) -> Job:
    job = db_session().get(Job, job_id)
    if job is None or job.kind != EXPORT_TRANSCRIPTS:
        abort(404)
    actor = current_actor()
    if job.created_by != actor.name and not actor.has_role(Role.ADMIN):
        abort(404)
    return job
