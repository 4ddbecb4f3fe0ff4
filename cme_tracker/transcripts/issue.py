"""Issuing yearly transcripts: for every member with credited attendance in a year, or for one member.

The run is the certificates' (:func:`~cme_tracker.certificates.issue.issue_documents`): the year's lock, the
sweep of an interrupted run, atomic files, chunks committed as they are made and a process pool; only who is
waiting, the content and the row's subject (year and basis) are the transcript's. Reissue and revocation go by
serial through the certificates' functions, which handle both kinds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from cme_tracker.certificates.content import DocumentContent
from cme_tracker.certificates.issue import (
    DocumentRun,
    DocumentSetup,
    IssueReport,
    Progress,
    issue_documents,
)
from cme_tracker.certificates.models import Certificate, CertificateKind
from cme_tracker.certificates.snapshot import Issue, new_serial
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.transcripts.snapshot import TranscriptContents, transcript_subject
from cme_tracker.vocabulary import YearBasis

SERIAL_LETTER = "T"


class TranscriptRun(DocumentRun):
    """The transcripts of one year on one basis."""

    kind = CertificateKind.TRANSCRIPT

    def __init__(self, session: Session, year: int, basis: YearBasis) -> None:
        self.session = session
        self.year = year
        self.basis = basis
        self.subject = transcript_subject(year, basis)
        self._contents: TranscriptContents | None = None

    @property
    def transcript_contents(self) -> TranscriptContents:
        if self._contents is None:
            self._contents = TranscriptContents(self.session, self.year, self.basis)
        return self._contents

    def subject_filter(self) -> list[ColumnElement[bool]]:
        return [
            Certificate.kind == CertificateKind.TRANSCRIPT.value,
            Certificate.year == self.year,
            Certificate.year_basis == self.basis.value,
        ]

    def attendees(self) -> Select[int]:
        query: Select[int] = self.transcript_contents.waiting_query()
        return query

    def contents(self, member_ids: Sequence[int], issue: Issue) -> Iterator[tuple[Member, DocumentContent]]:
        contents = self.transcript_contents
        for member, result, earlier in contents.credited_members(member_ids):
            serial = new_serial(SERIAL_LETTER, self.year)
            yield member, contents.content(member, result, earlier, issue, serial)

    def row_subject(self) -> dict[str, Any]:
        return {"year": self.year, "year_basis": self.basis.value}

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
    basis = YearBasis(basis)
    return issue_documents(
        database,
        setup,
        lambda session: TranscriptRun(session, year, basis),
        actor=actor,
        member_no=member_no,
        jobs=jobs,
        progress=progress,
    )
