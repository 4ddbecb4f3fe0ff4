"""The transcripts on the web: a member requests their own of a year, the office queues a year's as a job.

Both forms sit on pages of other packages (the member's documents, the office's certificates), which include
this kind's templates ``transcripts/member_request.html`` and ``transcripts/admin_issue.html``; the templates
build their forms with the app-wide template globals defined here. The URLs stay under the documents' paths.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange

from cme_tracker.accounts.authentication import current_actor, own_member
from cme_tracker.attendance.models import Attendance
from cme_tracker.db import begin_write, utcnow
from cme_tracker.documents.web import document_setup
from cme_tracker.errors import DomainError
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import job_kinds, start_worker
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.transcripts.issue import ISSUE_TRANSCRIPTS, issue_transcripts
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import database, db_session

blueprint = Blueprint("transcripts", __name__)


class TranscriptRequestForm(FlaskForm):  # type: ignore[misc]
    """A member asks for the transcript of a year in which they attended."""

    year = SelectField(lazy_gettext("Year"), coerce=int)
    basis = SelectField(
        lazy_gettext("Year basis"),
        choices=[
            SelectChoice(YearBasis.CALENDAR.value, lazy_gettext("Calendar year")),
            SelectChoice(YearBasis.FISCAL.value, lazy_gettext("Fiscal year (April to March)")),
        ],
    )


class TranscriptRunForm(FlaskForm):  # type: ignore[misc]
    """Which year's transcripts to issue: a calendar or a fiscal year."""

    year = IntegerField(lazy_gettext("Year"), validators=[DataRequired(), NumberRange(1925, 9999)])
    basis = SelectField(
        lazy_gettext("Year basis"),
        choices=[
            SelectChoice(YearBasis.CALENDAR.value, lazy_gettext("Calendar year")),
            SelectChoice(YearBasis.FISCAL.value, lazy_gettext("Fiscal year (April to March)")),
        ],
    )


@blueprint.app_template_global()
def transcript_request_form(member: Member) -> TranscriptRequestForm:
    """The form offering the years of the member's attendances, the latest first."""
    years = db_session().scalars(
        select(func.distinct(func.extract("year", Symposium.held_on)))
        .join(Attendance, Attendance.symposium_id == Symposium.id)
        .where(Attendance.member_id == member.id, Attendance.voided_at.is_(None))
    )
    form = TranscriptRequestForm()
    form.year.choices = [SelectChoice(int(year), str(int(year))) for year in sorted(years, reverse=True)]
    return form


@blueprint.app_template_global()
def transcript_run_form() -> TranscriptRunForm:
    """The office's form, last year preselected."""
    return TranscriptRunForm(year=utcnow().year - 1)


@blueprint.post("/me/certificates/transcript")
@roles_required(Role.MEMBER)
def request_transcript() -> ResponseReturnValue:
    """Issue the member's own transcript of a year, unless a valid one exists; the list then shows it."""
    member = own_member()
    form = transcript_request_form(member)
    if not form.validate():
        flash(gettext("Choose one of the years you attended."), "error")
        return redirect(url_for("certificates.mine"), 303)
    try:
        report = issue_transcripts(
            database(),
            document_setup(),
            form.year.data,
            YearBasis(form.basis.data),
            actor=current_actor().name,
            member_no=member.member_no,
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.mine"), 303)
    if report.issued:
        flash(gettext("Your transcript %(serial)s has been issued.", serial=report.issued[0]), "success")
    elif report.failed:
        reason = report.failed[0]["message"]
        flash(
            gettext(
                "Your transcript could not be made (%(reason)s). Please contact the society office.",
                reason=reason,
            ),
            "error",
        )
    elif report.total == 0:
        flash(gettext("You already hold a valid transcript of that year; it is in the list below."), "info")
    else:
        flash(gettext("No credits were earned in that year, so there is nothing to certify."), "info")
    return redirect(url_for("certificates.mine"), 303)


@blueprint.post("/admin/certificates/transcripts/issue")
@roles_required(Role.ADMIN)
def issue() -> ResponseReturnValue:
    """Queue a job issuing a year's missing transcripts, start a worker, and show its progress."""
    form = TranscriptRunForm()
    if not form.validate():
        flash(gettext("Choose a year and a year basis."), "error")
        return redirect(url_for("certificate_admin.index"), 303)
    session = db_session()
    begin_write(session)
    job = submit_job(
        session,
        job_kinds(),
        kind=ISSUE_TRANSCRIPTS,
        parameters={"year": form.year.data, "year_basis": form.basis.data},
        actor=current_actor().name,
    )
    session.commit()
    start_worker()
    return redirect(url_for("jobs.page", job_id=job.id), 303)
