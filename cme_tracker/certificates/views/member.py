"""The member's own certificates: a list, and downloads of the valid ones.

The member comes from the login, never from the URL: a serial that is not the member's own answers 404, the
same as a serial that does not exist, so the page reveals nothing of other members' certificates.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from cme_tracker.accounts.models import User
from cme_tracker.attendance.models import Attendance
from cme_tracker.certificates.models import Certificate, CertificateStatus
from cme_tracker.certificates.views.documents import document_setup, pdf_download
from cme_tracker.certificates.views.labels import STATUS_LABELS
from cme_tracker.errors import DomainError
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Role, YearBasis
from cme_tracker.web.security import current_actor, roles_required
from cme_tracker.web.session import database, db_session

blueprint = Blueprint("certificates", __name__, url_prefix="/me/certificates")

"""Where a transcript, which belongs to no symposium, is dated."""


def _own_member() -> Member:
    user: User = current_user._get_current_object()
    if user.member is None:
        abort(404, gettext("Your login is not linked to a member record. Please contact the society office."))
    return user.member


@blueprint.get("")
@roles_required(Role.MEMBER)
def mine() -> ResponseReturnValue:
    """Every certificate issued to the member, newest first; replaced and revoked ones say so."""
    member = _own_member()
    certificates = db_session().scalars(
        select(Certificate)
        .where(Certificate.member_id == member.id)
        .options(selectinload(Certificate.symposium), selectinload(Certificate.replaced_by))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    return render_template(
        "certificates/mine.html",
        certificates=[(certificate, _issued_on(certificate)) for certificate in certificates],
        transcript_form=_transcript_form(member),
        status_labels=STATUS_LABELS,
        valid=CertificateStatus.VALID.value,
    )


def _issued_on(certificate: Certificate) -> date:
    """The issue date as printed on the certificate: in its symposium's time zone."""
    zone = certificate.symposium.zone if certificate.symposium is not None else SOCIETY_ZONE
    return certificate.issued_at.astimezone(zone).date()


@blueprint.get("/<serial>.pdf")
@roles_required(Role.MEMBER)
def download(serial: str) -> ResponseReturnValue:
    """The member's own valid certificate as issued; anything else is not found."""
    member = _own_member()
    certificate = db_session().scalar(
        select(Certificate).where(
            Certificate.serial == serial,
            Certificate.member_id == member.id,
            Certificate.status == CertificateStatus.VALID.value,
        )
    )
    if certificate is None:
        abort(404)
    return pdf_download(certificate)


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


def _transcript_form(member: Member) -> TranscriptRequestForm:
    """The form offering the years of the member's attendances, the latest first."""
    years = db_session().scalars(
        select(func.distinct(func.extract("year", Symposium.held_on)))
        .join(Attendance, Attendance.symposium_id == Symposium.id)
        .where(Attendance.member_id == member.id, Attendance.voided_at.is_(None))
    )
    form = TranscriptRequestForm()
    form.year.choices = [SelectChoice(int(year), str(int(year))) for year in sorted(years, reverse=True)]
    return form


@blueprint.post("/transcript")
@roles_required(Role.MEMBER)
def request_transcript() -> ResponseReturnValue:
    """Issue the member's own transcript of a year, unless a valid one exists; the list then shows it."""
    from cme_tracker.transcripts.issue import issue_transcripts  # WeasyPrint and pyHanko: loaded on first use

    member = _own_member()
    form = _transcript_form(member)
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
