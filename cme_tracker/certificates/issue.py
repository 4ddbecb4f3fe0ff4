"""Issuing documents: for a whole subject (a symposium's certificates, a year's transcripts) or one member.

Each member's document is a unit: its content is computed and frozen, its PDF rendered, signed and renamed
into place, then its row committed with the file's SHA-256. A run holds the subject's lock, first deletes
whatever an interrupted run left behind (files without rows), and issues only what is missing, so killing it
at any moment and running it again ends with exactly one valid document per eligible member. What differs
between kinds (who is waiting, the content, the row's subject) is a :class:`DocumentRun`; the rest is here.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit import chain
from cme_tracker.certificates.content import DocumentContent
from cme_tracker.certificates.identity import load_signing_identity
from cme_tracker.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RevocationCategory,
)
from cme_tracker.certificates.render import CertificateRenderer, DocumentRenderer, check_certificate_glyphs
from cme_tracker.certificates.signing import DocumentSigner
from cme_tracker.certificates.snapshot import AttendanceContents, Issue, new_serial
from cme_tracker.certificates.storage import CertificateStore, StoredFile
from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.jobs.locks import subject_lock
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium

log = logging.getLogger(__name__)

CHUNK = 64
"""Members computed, rendered and committed together: bounds memory, and the work a crash can lose."""

Progress = Callable[[int, int], None]
"""Called with (done, total) as members are processed."""


@dataclass(frozen=True)
class DocumentSetup:
    """What a process needs to render, sign and store documents: plain values, sent to worker processes."""

    instance_path: Path
    signing_p12: Path | None = None
    signing_password: str | None = None
    public_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentSetup:
        return cls(
            settings.instance_path, settings.signing_p12, settings.signing_password, settings.public_url
        )


class DocumentMaker:
    """Renders, signs and stores documents; built once per process and reused, since both warm up slowly.

    Each kind's renderer (its frame laid out by WeasyPrint) is built on the first document of that kind.
    """

    def __init__(self, setup: DocumentSetup) -> None:
        identity = load_signing_identity(setup.instance_path, setup.signing_p12, setup.signing_password)
        self.signer = DocumentSigner(identity)
        self.store = CertificateStore(setup.instance_path)
        self._renderers: dict[str, DocumentRenderer[Any]] = {}

    def renderer_for(self, kind: str) -> DocumentRenderer[Any]:
        renderer = self._renderers.get(kind)
        if renderer is None:
            if kind == CertificateKind.TRANSCRIPT.value:
                from cme_tracker.transcripts.render import TranscriptRenderer

                renderer = TranscriptRenderer()
            else:
                renderer = CertificateRenderer()
            self._renderers[kind] = renderer
        return renderer

    def make(self, subject: str, content: DocumentContent) -> StoredFile:
        signed = self.signer.sign(self.renderer_for(content["kind"]).render(content))
        return self.store.write(subject, content["serial"], signed)


@functools.lru_cache(maxsize=2)
def document_maker(setup: DocumentSetup) -> DocumentMaker:
    """This process's maker for ``setup``: built on first use, then reused by every later document."""
    return DocumentMaker(setup)


_process_maker: DocumentMaker | None = None


def _start_worker(setup: DocumentSetup) -> None:
    global _process_maker
    _process_maker = DocumentMaker(setup)


def _make_in_worker(task: tuple[str, DocumentContent]) -> StoredFile:
    assert _process_maker is not None, "the pool initializer builds the maker"
    return _process_maker.make(*task)


@dataclass
class IssueReport:
    """What a run did; ``failed`` names the members whose certificate could not be made, with the reason."""

    total: int = 0
    issued: list[str] = field(default_factory=list)
    not_credited: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    swept: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.issued)} issued"]
        if self.not_credited:
            parts.append(f"{self.not_credited} without credited attendance")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.swept:
            parts.append(f"{self.swept} files of an interrupted run removed")
        return ", ".join(parts)


class DocumentRun(ABC):
    """What one kind of document needs from a run over one subject: who waits, their content, the row."""

    kind: CertificateKind
    subject: str
    """The lock's and the folder's name, such as ``attendance/2026-05`` or ``transcript/2026-fiscal``."""

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
        document_maker_glyph_check(content)

    def recorded_serials(self, session: Session) -> set[str]:
        return set(session.scalars(select(Certificate.serial).where(*self.subject_filter())))

    def waiting(self, session: Session, member_ids: Sequence[int] | None) -> list[int]:
        """Attendees who hold no valid document of the subject, in member order."""
        served = select(Certificate.member_id).where(
            *self.subject_filter(), Certificate.status == CertificateStatus.VALID.value
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


def document_maker_glyph_check(content: DocumentContent) -> None:
    """Raise :class:`~cme_tracker.fonts.MissingGlyph` before rendering a document a font cannot print."""
    if content["kind"] == "transcript":
        from cme_tracker.transcripts.render import check_transcript_glyphs

        check_transcript_glyphs(content)
    else:
        check_certificate_glyphs(content)


class AttendanceRun(DocumentRun):
    """Certificates of attendance of one symposium."""

    kind = CertificateKind.ATTENDANCE

    def __init__(self, session: Session, symposium: Symposium) -> None:
        self.session = session
        self.symposium = symposium
        self.subject = attendance_subject(symposium)
        self._contents: AttendanceContents | None = None

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
            yield member, self._contents.content(member, result, issue, new_serial("A", year))

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


def find_member(session: Session, member_no: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        raise NotFound(f"no member with number {member_no}", details={"member_no": member_no})
    return member


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
        lambda session: AttendanceRun(session, find_symposium(session, symposium_code)),
        actor=actor,
        member_no=member_no,
        jobs=jobs,
        progress=progress,
    )


def issue_documents(
    database: Database,
    setup: DocumentSetup,
    open_run: Callable[[Session], DocumentRun],
    *,
    actor: str,
    member_no: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> IssueReport:
    """Issue the missing documents of the subject ``open_run`` names (or of one member) under its lock."""
    report = IssueReport()
    store = CertificateStore(setup.instance_path)
    with database.sessions() as reading:
        run = open_run(reading)
        member_ids = [find_member(reading, member_no).id] if member_no is not None else None
        with subject_lock(database.engine, setup.instance_path, run.subject), ExitStack() as stack:
            report.swept = len(store.sweep(run.subject, run.recorded_serials(reading)))
            waiting = run.waiting(reading, member_ids)
            report.total = len(waiting)
            if progress is not None:
                progress(0, report.total)
            make = _document_pipeline(stack, setup, jobs)
            done = 0
            for chunk in _chunks(waiting, CHUNK):
                pending = _pending_contents(run, chunk, Issue(actor, utcnow(), setup.public_url), report)
                reading.commit()  # no read transaction stays open around the writes
                stored = make((run.subject, content) for _, content in pending)
                _record(database, run, list(zip(pending, stored, strict=True)), actor)
                report.issued.extend(content["serial"] for _, content in pending)
                done += len(chunk)
                if progress is not None:
                    progress(done, report.total)
    log.info("documents of %s: %s", run.subject, report.summary())
    return report


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _document_pipeline(
    stack: ExitStack, setup: DocumentSetup, jobs: int
) -> Callable[[Iterable[tuple[str, DocumentContent]]], list[StoredFile]]:
    """Render, sign and store in this process (``jobs`` 1) or in a pool of ``jobs`` worker processes."""
    if jobs <= 1:
        maker = document_maker(setup)
        return lambda tasks: [maker.make(*task) for task in tasks]
    pool = stack.enter_context(
        multiprocessing.get_context("spawn").Pool(jobs, initializer=_start_worker, initargs=(setup,))
    )
    return lambda tasks: list(pool.imap(_make_in_worker, tasks, chunksize=2))


def _pending_contents(
    run: DocumentRun, chunk: Sequence[int], issue: Issue, report: IssueReport
) -> list[tuple[Member, DocumentContent]]:
    pending = []
    credited = 0
    for member, content in run.contents(chunk, issue):
        credited += 1
        try:
            run.check_glyphs(content)
        except DomainError as error:
            report.failed.append(
                {"member_no": member.member_no, "error": error.code, "message": error.message}
            )
            continue
        pending.append((member, content))
    report.not_credited += len(chunk) - credited
    return pending


def _next_revision(session: Session, member_id: int, run: DocumentRun) -> int:
    latest = session.scalar(
        select(func.max(Certificate.revision)).where(
            Certificate.member_id == member_id, *run.subject_filter()
        )
    )
    return (latest or 0) + 1


def _certificate_row(
    session: Session,
    run: DocumentRun,
    member: Member,
    content: DocumentContent,
    stored: StoredFile,
    actor: str,
) -> Certificate:
    certificate = Certificate(
        serial=content["serial"],
        kind=run.kind.value,
        member_id=member.id,
        **run.row_subject(),
        revision=_next_revision(session, member.id, run),
        content=dict(content),
        policy_versions=[f"{policy['code']} {policy['version']}" for policy in content["policies"]],
        sha256=stored.sha256,
        file_path=stored.relative_path,
        verification_code=content["verification_code"],
        status=CertificateStatus.VALID.value,
        issued_at=datetime.fromisoformat(content["issued_at"]),
        issued_by=actor,
    )
    session.add(certificate)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="certificate.issue",
        target=f"certificate:{certificate.serial}",
        details={
            "member_no": member.member_no,
            "kind": run.kind.value,
            **run.audit_details(),
            "sha256": stored.sha256,
            "replaces": content.get("replaces"),
        },
    )
    return certificate


def _record(
    database: Database,
    run: DocumentRun,
    made: list[tuple[tuple[Member, DocumentContent], StoredFile]],
    actor: str,
) -> None:
    if not made:
        return
    with database.write_unit() as session:
        for (member, content), stored in made:
            _certificate_row(session, run, member, content, stored, actor)


def _run_of(session: Session, certificate: Certificate) -> DocumentRun:
    """The run over the subject of an issued document, to compute its successor."""
    if certificate.kind == CertificateKind.TRANSCRIPT.value:
        from cme_tracker.transcripts.issue import TranscriptRun
        from cme_tracker.vocabulary import YearBasis

        assert certificate.year is not None and certificate.year_basis is not None
        return TranscriptRun(session, certificate.year, YearBasis(certificate.year_basis))
    assert certificate.symposium is not None
    return AttendanceRun(session, certificate.symposium)


def reissue_certificate(database: Database, setup: DocumentSetup, serial: str, *, actor: str) -> Certificate:
    """Replace a valid certificate or transcript with one computed from today's attendance; the old one is
    superseded and points to the new one."""
    with database.sessions() as reading:
        old = _find(reading, serial)
        if old.status != CertificateStatus.VALID.value:
            raise Conflict(
                f"certificate {serial} is {old.status}: only a valid one can be reissued", code="not_valid"
            )
        run = _run_of(reading, old)
        with subject_lock(database.engine, setup.instance_path, run.subject):
            made = list(run.contents([old.member_id], Issue(actor, utcnow(), setup.public_url)))
            if not made:
                raise Conflict(
                    f"member {old.member.member_no} has nothing credited in {run.subject} any more: "
                    "revoke the certificate instead",
                    code="not_credited",
                )
            member, content = made[0]
            content["replaces"] = old.serial
            run.check_glyphs(content)
            stored = document_maker(setup).make(run.subject, content)
            reading.commit()
            with database.write_unit() as session:
                previous = _find(session, serial)
                if previous.status != CertificateStatus.VALID.value:
                    raise Conflict(f"certificate {serial} changed meanwhile", code="not_valid")
                previous.status = CertificateStatus.SUPERSEDED.value
                session.flush()
                successor = _certificate_row(session, run, member, content, stored, actor)
                previous.replaced_by_id = successor.id
                session.flush()
            return successor


def revoke_certificate(
    session: Session, serial: str, *, category: RevocationCategory, reason: str, actor: str
) -> Certificate:
    """Withdraw a valid certificate; the verify page then says it is revoked, when and in which category."""
    if not reason.strip():
        raise DomainError("a revocation needs a reason", code="reason_required")
    certificate = _find(session, serial)
    if certificate.status != CertificateStatus.VALID.value:
        raise Conflict(f"certificate {serial} is already {certificate.status}", code="not_valid")
    certificate.status = CertificateStatus.REVOKED.value
    certificate.revoked_at = utcnow()
    certificate.revocation_category = category.value
    certificate.revocation_reason = reason.strip()
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="certificate.revoke",
        target=f"certificate:{serial}",
        details={"category": category.value, "reason": certificate.revocation_reason},
    )
    return certificate


def _find(session: Session, serial: str) -> Certificate:
    certificate = session.scalar(select(Certificate).where(Certificate.serial == serial))
    if certificate is None:
        raise NotFound(f"no certificate with serial {serial}", code="unknown_certificate")
    return certificate
