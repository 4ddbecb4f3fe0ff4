"""Issuing the certificates of attendance of a symposium, and the certificate as a kind of document.

The run is the kernel's (:func:`~cme_tracker.documents.issue.issue_documents`): the symposium's lock, the
sweep of an interrupted run, atomic files, chunks committed as they are made and a process pool; only who is
waiting, the content and the row's subject (the symposium) are the certificate's. :data:`ATTENDANCE` is
what the kernel needs of the kind; :mod:`cme_tracker.document_kinds` registers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.certificates.content import CertificateContent
from cme_tracker.certificates.snapshot import AttendanceContents
from cme_tracker.db import Database
from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.issue import IssueReport, Progress, issue_documents
from cme_tracker.documents.kinds import DocumentKind, DocumentRun, RunOpener
from cme_tracker.documents.models import Certificate, CertificateKind
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.snapshot import Issue, new_serial
from cme_tracker.errors import NotFound
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium

if TYPE_CHECKING:
    from cme_tracker.documents.render import DocumentRenderer

ISSUE_CERTIFICATES = "certificates.issue"
"""The Job kind issuing a symposium's missing certificates."""


class AttendanceRun(DocumentRun):
    """Certificates of attendance of one symposium."""

    def __init__(self, session: Session, symposium: Symposium) -> None:
        self.session = session
        self.symposium = symposium
        self.subject = attendance_subject(symposium)
        self._contents: AttendanceContents | None = None

    @property
    def kind(self) -> DocumentKind[CertificateContent]:
        return ATTENDANCE

    def subject_filter(self) -> list[ColumnElement[bool]]:
        return [Certificate.symposium_id == self.symposium.id]

    def attendees(self) -> Select[int]:
        return select(Attendance.member_id).where(
            Attendance.symposium_id == self.symposium.id, Attendance.voided_at.is_(None)
        )

    def contents(self, member_ids: Sequence[int], issue: Issue) -> Iterator[tuple[Member, DocumentContent]]:
        if self._contents is None:
            self._contents = AttendanceContents(self.session, self.symposium)
        year = self.symposium.held_on.year
        for member, result in self._contents.credited_members(member_ids):
            serial = new_serial(ATTENDANCE.serial_letter, year)
            yield member, self._contents.content(member, result, issue, serial)

    def row_subject(self) -> dict[str, Any]:
        return {"symposium_id": self.symposium.id}

    def audit_details(self) -> dict[str, Any]:
        return {"symposium_code": self.symposium.code}


def attendance_subject(symposium: Symposium) -> str:
    return f"attendance/{symposium.code}"


def find_symposium(session: Session, code: str) -> Symposium:
    symposium = session.scalar(select(Symposium).where(Symposium.code == code))
    if symposium is None:
        raise NotFound(f"no symposium with code {code}", details={"symposium_code": code})
    return symposium


def issue_attendance_certificates(
    database: Database,
    setup: DocumentSetup,
    symposium_code: str,
    *,
    actor: str,
    member_no: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> IssueReport:
    """Issue the missing certificates of a symposium (or of one member of it) and report what happened."""
    return issue_documents(
        database,
        setup,
        _symposium_run(symposium_code),
        actor=actor,
        member_no=member_no,
        jobs=jobs,
        progress=progress,
    )


def _symposium_run(symposium_code: str) -> RunOpener:
    return lambda session: AttendanceRun(session, find_symposium(session, symposium_code))


def _renderer() -> DocumentRenderer[CertificateContent]:
    from cme_tracker.certificates.render import CertificateRenderer  # WeasyPrint: loaded on first render

    return CertificateRenderer()


def _check_glyphs(content: CertificateContent) -> None:
    from cme_tracker.certificates.render import check_certificate_glyphs  # WeasyPrint: loaded on first check

    check_certificate_glyphs(content)


def _reopen(session: Session, certificate: Certificate) -> DocumentRun:
    assert certificate.symposium is not None
    return AttendanceRun(session, certificate.symposium)


def _job_run(parameters: Mapping[str, Any]) -> RunOpener:
    return _symposium_run(parameters["symposium_code"])


ATTENDANCE: DocumentKind[CertificateContent] = DocumentKind(
    name=CertificateKind.ATTENDANCE,
    serial_letter="A",
    job=ISSUE_CERTIFICATES,
    renderer=_renderer,
    check_glyphs=_check_glyphs,
    reopen=_reopen,
    job_run=_job_run,
)
"""The certificate of attendance, as the kernel's registry knows it."""
