"""Kinds of document: what the kernel needs of each kind, and the run over one subject of one kind.

The kernel knows no kind by name. Each kind's package defines its :class:`DocumentKind` beside its run
(``certificates.issue.ATTENDANCE``, ``transcripts.issue.TRANSCRIPT``), and
:mod:`cme_tracker.document_kinds` lists them in the one :class:`DocumentKinds` registry, which the
composition roots (the app, the CLI, the job runner) pass to what looks a kind up by name. An issuing run
knows its kind from its :class:`DocumentRun`; its worker processes receive that kind as an argument (pickled
by reference to its module), so a spawned process imports what renders it without any registration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.documents.snapshot import Issue
from cme_tracker.members.models import Member

if TYPE_CHECKING:
    from cme_tracker.documents.render import DocumentRenderer

Content = TypeVar("Content", bound=DocumentContent)

RunOpener = Callable[[Session], "DocumentRun"]
"""Opens the run over one subject in the session a run reads with."""


@dataclass(frozen=True)
class DocumentKind(Generic[Content]):
    """One kind of document as the kernel sees it. Its functions are module-level, so the kind pickles."""

    name: CertificateKind
    """The ``kind`` of its Certificate rows."""
    serial_letter: str
    """The first letter of its serials: ``A26-7K3M-Q9XP``."""
    job: str
    """The kind of the Job that issues a subject's missing documents of this kind."""
    renderer: Callable[[], DocumentRenderer[Content]]
    """A new renderer; slow (it lays out the kind's frame), so each process builds one and keeps it."""
    check_glyphs: Callable[[Content], None]
    """Raises :class:`~cme_tracker.fonts.MissingGlyph` for a document the fonts cannot print."""
    reopen: Callable[[Session, Certificate], DocumentRun]
    """The run over the subject of an issued document, to compute its successor."""
    job_run: Callable[[Mapping[str, Any]], RunOpener]
    """The run a Job of :attr:`job` names with its parameters."""


class DocumentKinds:
    """The registry of the kinds the application issues, found by their name or by the job issuing them."""

    def __init__(self, kinds: Iterable[DocumentKind[Any]]) -> None:
        self._kinds = tuple(kinds)

    def __iter__(self) -> Iterator[DocumentKind[Any]]:
        return iter(self._kinds)

    def named(self, name: str) -> DocumentKind[Any]:
        for kind in self._kinds:
            if kind.name == name:
                return kind
        raise LookupError(f"no document kind {name!r} is registered")


class DocumentRun(ABC):
    """What one kind of document needs from a run over one subject: who waits, their content, the row."""

    subject: str
    """The lock's and the folder's name, such as ``attendance/2026-05`` or ``transcript/2026-fiscal``."""

    @property
    @abstractmethod
    def kind(self) -> DocumentKind[Any]:
        """The kind of the documents this run issues."""

    @abstractmethod
    def subject_filter(self) -> list[ColumnElement[bool]]:
        """Conditions on Certificate rows selecting this subject's documents."""

    @abstractmethod
    def attendees(self) -> Select[int]:
        """Member ids with counted (not voided) attendance in the subject; duplicates allowed."""

    @abstractmethod
    def contents(self, member_ids: Sequence[int], issue: Issue) -> Iterator[tuple[Member, DocumentContent]]:
        """The content of each member of ``member_ids`` who has something to certify, with a new serial."""

    @abstractmethod
    def row_subject(self) -> dict[str, Any]:
        """The Certificate columns naming the subject (``symposium_id``, or ``year`` and ``year_basis``)."""

    @abstractmethod
    def audit_details(self) -> dict[str, Any]:
        """What the audit event names of the subject."""

    def check_glyphs(self, content: DocumentContent) -> None:
        self.kind.check_glyphs(content)

    def recorded_serials(self, session: Session) -> set[str]:
        return set(session.scalars(select(Certificate.serial).where(*self.subject_filter())))

    def waiting(self, session: Session, member_ids: Sequence[int] | None) -> list[int]:
        """Attendees who hold no valid document of the subject, in member order."""
        served = select(Certificate.member_id).where(
            *self.subject_filter(), Certificate.status == CertificateStatus.VALID
        )
        attendees = self.attendees().subquery()
        query = (
            select(attendees.c.member_id)
            .where(attendees.c.member_id.not_in(served))
            .distinct()
            .order_by(attendees.c.member_id)
        )
        if member_ids is not None:
            query = query.where(attendees.c.member_id.in_(member_ids))
        return list(session.scalars(query))
