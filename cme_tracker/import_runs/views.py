"""The office's Imports page: upload a members, program or attendance file, see its dry run (counts, and
every problem by line and column as ``cme-tracker import --dry-run`` prints it), and confirm to import it.

Administrators only. A large file is checked and imported by a job, followed on the job page, which links
back to the run. A confirmation is refused for a run whose dry run failed or that was imported already, so a
double click imports once; a confirmation made against an older state of the run is refused as stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from cme_tracker.errors import Conflict, StaleVersion
from cme_tracker.import_runs.models import ImportKind, ImportRun, ImportRunStatus
from cme_tracker.import_runs.services import Upload, get_run
from cme_tracker.import_runs.web import confirm_run, upload_and_check
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session, settings

blueprint = Blueprint("import_runs", __name__, url_prefix="/admin/imports")

PER_PAGE = 50
MAX_PAGE = 10_000
KIND_LABELS = {
    ImportKind.MEMBERS: lazy_gettext("Members"),
    ImportKind.PROGRAM: lazy_gettext("Program (symposia and lectures)"),
    ImportKind.ATTENDANCE: lazy_gettext("Attendance"),
}
STATUS_LABELS = {
    ImportRunStatus.CHECKING: lazy_gettext("Being checked"),
    ImportRunStatus.DRY_RUN_OK: lazy_gettext("Checked: ready to import"),
    ImportRunStatus.DRY_RUN_FAILED: lazy_gettext("Rejected: nothing imported"),
    ImportRunStatus.IMPORTING: lazy_gettext("Being imported"),
    ImportRunStatus.IMPORTED: lazy_gettext("Imported"),
    ImportRunStatus.FAILED: lazy_gettext("Import failed: nothing imported"),
}


class UploadForm(FlaskForm):  # type: ignore[misc]
    """The kind is a radio group written in the template (plain values, no widget), as on the card sheets."""

    kind = StringField(
        lazy_gettext("Kind of file"),
        validators=[
            AnyOf([kind.value for kind in ImportKind], message=lazy_gettext("Choose the kind of file."))
        ],
    )
    file = FileField(
        lazy_gettext("File (CSV in UTF-8, or XLSX)"),
        validators=[FileRequired(message=lazy_gettext("Choose the file to upload."))],
    )


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField(validators=[InputRequired()])


class PageForm(FlaskForm):  # type: ignore[misc]
    page = IntegerField(validators=[Optional(), NumberRange(1, MAX_PAGE)])


@dataclass(frozen=True)
class RunPage:
    runs: Sequence[ImportRun]
    page: int
    has_next: bool


def _runs_page() -> RunPage:
    form = PageForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Choose a page from 1 to %(last)d.", last=MAX_PAGE))
    page: int = form.page.data or 1
    rows = (
        db_session()
        .scalars(
            select(ImportRun).order_by(ImportRun.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)
        )
        .all()
    )
    return RunPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE)


def _index(form: UploadForm, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "import_runs/index.html",
            form=form,
            result=_runs_page(),
            kind_labels=KIND_LABELS,
            status_labels=STATUS_LABELS,
            zone=SOCIETY_ZONE,
            job_bytes=settings().import_job_bytes,
            max_bytes=settings().max_request_bytes,
        ),
        status,
    )


@blueprint.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """The upload form and the earlier runs, newest first."""
    return _index(UploadForm())


@blueprint.post("")
@roles_required(Role.ADMIN)
def upload() -> ResponseReturnValue:
    """Keep the file and check it (a large one by a job); then show the run, or the job's progress."""
    form = UploadForm()
    if not form.validate():
        return _index(form, 400)
    storage: FileStorage = form.file.data
    run = upload_and_check(Upload(ImportKind(form.kind.data), storage.filename or "", storage.read()))
    if run.job_id is not None and run.in_progress:
        return redirect(url_for("jobs.page", job_id=run.job_id), 303)
    return redirect(url_for("import_runs.run", run_id=run.id), 303)


@blueprint.get("/<int:run_id>")
@roles_required(Role.ADMIN)
def run(run_id: int) -> ResponseReturnValue:
    """A run: its file, its counts, every problem by line and column, and the confirmation when it passed."""
    found = get_run(db_session(), run_id)
    return render_template(
        "import_runs/run.html",
        run=found,
        form=ConfirmForm(version=str(found.row_version)),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        zone=SOCIETY_ZONE,
    )


@blueprint.post("/<int:run_id>/confirm")
@roles_required(Role.ADMIN)
def confirm(run_id: int) -> ResponseReturnValue:
    """Import the checked file, all or nothing; a second click finds it imported and imports nothing."""
    form = ConfirmForm()
    if not form.validate() or not str(form.version.data).isdigit() or len(str(form.version.data)) > 9:
        abort(400, gettext("The form is incomplete: reload the page and confirm again."))
    try:
        found = confirm_run(run_id, int(form.version.data))
    except StaleVersion:
        flash(gettext("The import was changed meanwhile (by another tab or person). Check it again below."))
        return redirect(url_for("import_runs.run", run_id=run_id), 303)
    except Conflict as refusal:
        flash(_refusal_message(refusal.code))
        return redirect(url_for("import_runs.run", run_id=run_id), 303)
    if found.job_id is not None and found.in_progress:
        return redirect(url_for("jobs.page", job_id=found.job_id), 303)
    if found.status is ImportRunStatus.IMPORTED:
        flash(gettext("Imported: %(summary)s", summary=found.summary or ""))
    else:
        flash(
            gettext(
                "The records changed since the dry run, and the file no longer passes: nothing was imported."
            )
        )
    return redirect(url_for("import_runs.run", run_id=run_id), 303)


def _refusal_message(code: str) -> str:
    if code == "already_imported":
        return str(gettext("This file was already imported; it was not imported again."))
    if code == "import_in_progress":
        return str(gettext("This file is being checked or imported right now; follow its job."))
    return str(
        gettext("This file did not pass its check and cannot be imported. Fix it and upload it again.")
    )
