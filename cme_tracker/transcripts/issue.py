"""Issuing yearly transcripts: for every member with credited attendance in a year, or for one member; and
the transcript as a kind of document.

The run is the kernel's (:func:`~cme_tracker.documents.issue.issue_documents`): the year's lock, the sweep of
an interrupted run, atomic files, chunks committed as they are made and a process pool; only who is waiting,
the content and the row's subject (year and basis) are the transcript's. Reissue and revocation go by serial
through the kernel, which handles every registered kind. :data:`TRANSCRIPT` is what the kernel needs of the
kind; :mod:`cme_tracker.document_kinds` registers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from cme_tracker.db import Database
from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.issue import IssueReport, Progress, issue_documents
from cme_tracker.documents.kinds import DocumentKind, DocumentRun, RunOpener
from cme_tracker.documents.models import Certificate, CertificateKind
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.snapshot import Issue, new_serial
from cme_tracker.members.models import Member
from cme_tracker.transcripts.content import TranscriptContent
from cme_tracker.transcripts.snapshot import TranscriptContents, transcript_subject
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.documents.render import DocumentRenderer

ISSUE_TRANSCRIPTS = "transcripts.issue"
"""The Job kind issuing a year's missing transcripts."""


class TranscriptRun(DocumentRun):
    """The transcripts of one year on one basis."""

    def __init__(self, session: Session, year: int, basis: YearBasis) -> None:
        self.session = session
        self.year = year
        self.basis = basis
        self.subject = transcript_subject(year, basis)
        self._contents: TranscriptContents | None = None

    @property
    def kind(self) -> DocumentKind[TranscriptContent]:
        return TRANSCRIPT

    @property
    def transcript_contents(self) -> TranscriptContents:
        if self._contents is None:
            self._contents = TranscriptContents(self.session, self.year, self.basis)
        return self._contents

    def subject_filter(self) -> list[ColumnElement[bool]]:
        return [
            Certificate.kind == CertificateKind.TRANSCRIPT,
            Certificate.year == self.year,
            Certificate.year_basis == self.basis,
        ]

    def attendees(self) -> Select[int]:
        query: Select[int] = self.transcript_contents.waiting_query()
        return query

    def contents(self, member_ids: Sequence[int], issue: Issue) -> Iterator[tuple[Member, DocumentContent]]:
        contents = self.transcript_contents
        for member, result, earlier in contents.credited_members(member_ids):
            serial = new_serial(TRANSCRIPT.serial_letter, self.year)
            yield member, contents.content(member, result, earlier, issue, serial)

    def row_subject(self) -> dict[str, Any]:
        return {"year": self.year, "year_basis": self.basis}

    def audit_details(self) -> dict[str, Any]:
        return {"year": self.year, "year_basis": self.basis.value}


def issue_transcripts(
    database: Database,
    setup: DocumentSetup,
    year: int,
    basis: YearBasis | str,
    *,
    actor: str,
    member_no: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> IssueReport:
    """Issue the missing transcripts of a year (or of one member) and report what happened.

    Every member with credited attendance in the year gets one; running it again issues only what is missing,
    also after an interrupted run.
    """
    return issue_documents(
        database,
        setup,
        _year_run(year, YearBasis(basis)),
        actor=actor,
        member_no=member_no,
        jobs=jobs,
        progress=progress,
    )


def _year_run(year: int, basis: YearBasis) -> RunOpener:
    return lambda session: TranscriptRun(session, year, basis)


def _renderer() -> DocumentRenderer[TranscriptContent]:
    from cme_tracker.transcripts.render import TranscriptRenderer  # WeasyPrint: loaded on first render

    return TranscriptRenderer()


def _check_glyphs(content: TranscriptContent) -> None:
    from cme_tracker.transcripts.render import check_transcript_glyphs  # WeasyPrint: loaded on first check

    check_transcript_glyphs(content)


def _reopen(session: Session, certificate: Certificate) -> DocumentRun:
    assert certificate.year is not None and certificate.year_basis is not None
    return TranscriptRun(session, certificate.year, certificate.year_basis)


def _job_run(parameters: Mapping[str, Any]) -> RunOpener:
    return _year_run(int(parameters["year"]), YearBasis(parameters.get("year_basis", "calendar")))


TRANSCRIPT: DocumentKind[TranscriptContent] = DocumentKind(
    name=CertificateKind.TRANSCRIPT,
    serial_letter="T",
    job=ISSUE_TRANSCRIPTS,
    renderer=_renderer,
    check_glyphs=_check_glyphs,
    reopen=_reopen,
    job_run=_job_run,
)
"""The yearly transcript, as the kernel's registry knows it."""
