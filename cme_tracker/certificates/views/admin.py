"""The office's certificate pages: issue a symposium's missing certificates, list, download, reissue, revoke.

The index also shows the other kinds' sections for the office (the transcripts' run of a year), by templates
of theirs that the page includes.

Issuing runs as a Job in a ``cme-tracker worker --once`` process that the page starts; the page only queues
it and shows its progress (see :mod:`cme_tracker.jobs.views`). Every view is for ``admin`` only.
A refused action is flashed and changes nothing: revocation commits once, after the service succeeded, and a
reissue commits inside the service or not at all.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, load_only, selectinload
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from cme_tracker.accounts.authentication import current_actor
from cme_tracker.attendance.models import Attendance
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.db import begin_write
from cme_tracker.documents.issue import reissue_certificate, revoke_certificate
from cme_tracker.documents.labels import CATEGORY_LABELS, DOMAIN_ERROR_MESSAGES, STATUS_LABELS
from cme_tracker.documents.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RevocationCategory,
)
from cme_tracker.documents.web import (
    document_kinds,
    document_setup,
    pdf_download,
    read_issued_file,
)
from cme_tracker.errors import DomainError
from cme_tracker.jobs.models import Job
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import JOB_STATUS_LABELS, job_kinds, start_worker
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import database, db_session

blueprint = Blueprint("certificate_admin", __name__, url_prefix="/admin/certificates")

PER_PAGE = 100
MAX_PAGE = 10_000
RECENT_JOBS = 500
"""Issuing jobs read to find each symposium's latest: a handful per symposium and year."""


class PageForm(FlaskForm):  # type: ignore[misc]
    page = IntegerField(validators=[Optional(), NumberRange(1, MAX_PAGE)])


class RevokeForm(FlaskForm):  # type: ignore[misc]
    category = SelectField(
        lazy_gettext("Category (shown on the public verification page)"),
        choices=[SelectChoice(value, label) for value, label in CATEGORY_LABELS.items()],
        default=RevocationCategory.OTHER,
    )
    reason = TextAreaField(
        lazy_gettext("Reason (kept in the audit log, never shown publicly)"),
        validators=[
            DataRequired(lazy_gettext("Give the reason for the revocation.")),
            Length(max=2000),
        ],
    )


@dataclass(frozen=True)
class SymposiumRow:
    """One symposium on the overview: who attended, what was issued, and how the last issuing run went."""

    symposium: Symposium
    attendees: int
    valid: int
    superseded: int
    revoked: int
    job: Job | None


@dataclass(frozen=True)
class CertificatePage:
    certificates: list[Certificate]
    page: int
    has_next: bool


@blueprint.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Every symposium, newest first, with its certificate counts and an issue button."""
    return render_template(
        "certificates/admin_index.html",
        rows=_symposium_rows(db_session()),
        job_labels=JOB_STATUS_LABELS,
    )


@blueprint.post("/<symposium_code>/issue")
@roles_required(Role.ADMIN)
def issue(symposium_code: str) -> ResponseReturnValue:
    """Queue a job issuing the symposium's missing certificates, start a worker, and show its progress."""
    session = db_session()
    symposium = _symposium_or_404(session, symposium_code)
    begin_write(session)
    job = submit_job(
        session,
        job_kinds(),
        kind=ISSUE_CERTIFICATES,
        parameters={"symposium_code": symposium.code},
        actor=current_actor().name,
    )
    session.commit()
    start_worker()
    return redirect(url_for("jobs.page", job_id=job.id), 303)


@blueprint.get("/<symposium_code>")
@roles_required(Role.ADMIN)
def symposium(symposium_code: str) -> ResponseReturnValue:
    """A symposium's certificates by member number, a page at a time, with their actions."""
    session = db_session()
    found = _symposium_or_404(session, symposium_code)
    form = PageForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        abort(400, gettext("Choose a page from 1 to %(last)d.", last=MAX_PAGE))
    return render_template(
        "certificates/admin_symposium.html",
        symposium=found,
        result=_certificate_page(session, found, form.page.data or 1),
        status_labels=STATUS_LABELS,
        category_labels=CATEGORY_LABELS,
        valid=CertificateStatus.VALID,
    )


@blueprint.get("/<symposium_code>.zip")
@roles_required(Role.ADMIN)
def bundle(symposium_code: str) -> ResponseReturnValue:
    """The symposium's valid certificates as one ZIP of ``SERIAL.pdf`` files.

    The archive is written to an anonymous temporary file, one PDF in memory at a time, and streamed from
    there; the file vanishes when the response closes it.
    """
    session = db_session()
    found = _symposium_or_404(session, symposium_code)
    certificates = session.scalars(
        select(Certificate)
        .where(
            Certificate.symposium_id == found.id,
            Certificate.status == CertificateStatus.VALID,
        )
        .options(load_only(Certificate.serial, Certificate.file_path))
        .order_by(Certificate.serial)
    )
    archive: IO[bytes] = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 (the response closes it)
    try:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zipped:
            for certificate in certificates:
                zipped.writestr(f"{certificate.serial}.pdf", read_issued_file(certificate))
        archive.seek(0)
    except BaseException:
        archive.close()
        raise
    response: Response = send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"certificates-{found.code}.zip",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/<symposium_code>/<serial>.pdf")
@roles_required(Role.ADMIN)
def download(symposium_code: str, serial: str) -> ResponseReturnValue:
    """Any certificate of the symposium as issued, whatever its status."""
    return pdf_download(_certificate_or_404(db_session(), symposium_code, serial))


@blueprint.post("/<symposium_code>/<serial>/reissue")
@roles_required(Role.ADMIN)
def reissue(symposium_code: str, serial: str) -> ResponseReturnValue:
    """Replace a valid certificate with one of the attendance as recorded now; the old one is superseded."""
    session = db_session()
    _certificate_or_404(session, symposium_code, serial)
    session.rollback()  # the service works in transactions of its own; hold no snapshot meanwhile
    try:
        successor = reissue_certificate(
            database(), document_setup(), document_kinds(), serial, actor=current_actor().name
        )
    except DomainError as error:
        flash(_refusal(error), "error")
    else:
        flash(
            gettext(
                "Certificate %(old)s is superseded by the new certificate %(new)s.",
                old=serial,
                new=successor.serial,
            ),
            "success",
        )
    return redirect(url_for("certificate_admin.symposium", symposium_code=symposium_code), 303)


@blueprint.route("/<symposium_code>/<serial>/revoke", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def revoke(symposium_code: str, serial: str) -> ResponseReturnValue:
    """Withdraw a certificate: a category that the verify page shows, a reason that only the audit keeps."""
    session = db_session()
    certificate = _certificate_or_404(session, symposium_code, serial)
    form = RevokeForm()
    if not form.validate_on_submit():
        page = render_template(
            "certificates/admin_revoke.html",
            certificate=certificate,
            form=form,
            status_labels=STATUS_LABELS,
            valid=CertificateStatus.VALID,
        )
        return page, 422 if form.is_submitted() else 200
    begin_write(session)
    try:
        revoke_certificate(
            session,
            serial,
            category=RevocationCategory(form.category.data),
            reason=form.reason.data or "",
            actor=current_actor().name,
        )
    except DomainError as error:
        session.rollback()
        flash(_refusal(error), "error")
    else:
        session.commit()
        flash(gettext("Certificate %(serial)s is revoked.", serial=serial), "success")
    return redirect(url_for("certificate_admin.symposium", symposium_code=symposium_code), 303)


def _refusal(error: DomainError) -> str:
    known = DOMAIN_ERROR_MESSAGES.get(error.code)
    return str(known) if known is not None else error.message


def _symposium_or_404(session: Session, code: str) -> Symposium:
    symposium = session.scalar(select(Symposium).where(Symposium.code == code))
    if symposium is None:
        abort(404, gettext("There is no symposium with the code %(code)s.", code=code))
    return symposium


def _certificate_or_404(session: Session, symposium_code: str, serial: str) -> Certificate:
    certificate = session.scalar(
        select(Certificate)
        .join(Symposium, Certificate.symposium_id == Symposium.id)
        .where(Certificate.serial == serial, Symposium.code == symposium_code)
    )
    if certificate is None:
        abort(
            404,
            gettext(
                "Symposium %(code)s has no certificate with the serial number %(serial)s.",
                code=symposium_code,
                serial=serial,
            ),
        )
    return certificate


def _symposium_rows(session: Session) -> list[SymposiumRow]:
    attendees = {
        symposium_id: count
        for symposium_id, count in session.execute(
            select(Attendance.symposium_id, func.count(distinct(Attendance.member_id)))
            .where(Attendance.voided_at.is_(None))
            .group_by(Attendance.symposium_id)
        )
    }
    issued: dict[tuple[int | None, CertificateStatus], int] = {
        (symposium_id, status): count
        for symposium_id, status, count in session.execute(
            select(Certificate.symposium_id, Certificate.status, func.count())
            .where(Certificate.kind == CertificateKind.ATTENDANCE)
            .group_by(Certificate.symposium_id, Certificate.status)
        )
    }
    latest: dict[str, Job] = {}
    for job in session.scalars(
        select(Job).where(Job.kind == ISSUE_CERTIFICATES).order_by(Job.id.desc()).limit(RECENT_JOBS)
    ):
        latest.setdefault(str(job.parameters.get("symposium_code")), job)
    return [
        SymposiumRow(
            symposium=symposium,
            attendees=attendees.get(symposium.id, 0),
            valid=issued.get((symposium.id, CertificateStatus.VALID), 0),
            superseded=issued.get((symposium.id, CertificateStatus.SUPERSEDED), 0),
            revoked=issued.get((symposium.id, CertificateStatus.REVOKED), 0),
            job=latest.get(symposium.code),
        )
        for symposium in session.scalars(select(Symposium).order_by(Symposium.held_on.desc(), Symposium.code))
    ]


def _certificate_page(session: Session, symposium: Symposium, page: int) -> CertificatePage:
    rows = session.scalars(
        select(Certificate)
        .join(Member, Certificate.member_id == Member.id)
        .where(Certificate.symposium_id == symposium.id)
        .options(selectinload(Certificate.member), selectinload(Certificate.replaced_by))
        .order_by(Member.member_no, Certificate.revision.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    ).all()
    return CertificatePage(list(rows[:PER_PAGE]), page, len(rows) > PER_PAGE)
