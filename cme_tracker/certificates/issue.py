"""Issuing certificates: for a whole symposium or one member, in the foreground or in worker processes.

Each member's certificate is a unit: its content is computed and frozen, its PDF rendered, signed and renamed
into place, then its row committed with the file's SHA-256. A run holds the symposium's lock, first deletes
whatever an interrupted run left behind (files without rows), and issues only what is missing, so killing it
at any moment and running it again ends with exactly one valid certificate per eligible member.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit import chain
from cme_tracker.certificates.content import CertificateContent
from cme_tracker.certificates.identity import load_signing_identity
from cme_tracker.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RevocationCategory,
)
from cme_tracker.certificates.render import CertificateRenderer, check_certificate_glyphs
from cme_tracker.certificates.signing import DocumentSigner
from cme_tracker.certificates.snapshot import AttendanceContents, Issue, new_serial
from cme_tracker.certificates.storage import CertificateStore, StoredFile
from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.jobs.locks import subject_lock
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium

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
    """Renders, signs and stores documents; built once per process and reused, since both warm up slowly."""

    def __init__(self, setup: DocumentSetup) -> None:
        identity = load_signing_identity(setup.instance_path, setup.signing_p12, setup.signing_password)
        self.renderer = CertificateRenderer()
        self.signer = DocumentSigner(identity)
        self.store = CertificateStore(setup.instance_path)

    def make(self, subject: str, content: CertificateContent) -> StoredFile:
        signed = self.signer.sign(self.renderer.render(content))
        return self.store.write(subject, content["serial"], signed)


@functools.lru_cache(maxsize=2)
def document_maker(setup: DocumentSetup) -> DocumentMaker:
    """This process's maker for ``setup``: built on first use, then reused by every later document."""
    return DocumentMaker(setup)


_process_maker: DocumentMaker | None = None


def _start_worker(setup: DocumentSetup) -> None:
    global _process_maker
    _process_maker = DocumentMaker(setup)


def _make_in_worker(task: tuple[str, CertificateContent]) -> StoredFile:
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
    report = IssueReport()
    store = CertificateStore(setup.instance_path)
    with database.sessions() as reading:
        symposium = find_symposium(reading, symposium_code)
        member_ids = [find_member(reading, member_no).id] if member_no is not None else None
        subject = attendance_subject(symposium)
        with subject_lock(database.engine, setup.instance_path, subject), ExitStack() as stack:
            recorded = set(
                reading.scalars(select(Certificate.serial).where(Certificate.symposium_id == symposium.id))
            )
            report.swept = len(store.sweep(subject, recorded))
            waiting = _members_without_certificate(reading, symposium, member_ids)
            report.total = len(waiting)
            if progress is not None:
                progress(0, report.total)
            make = _document_pipeline(stack, setup, jobs)
            contents = AttendanceContents(reading, symposium)
            done = 0
            for chunk in _chunks(waiting, CHUNK):
                pending = _pending_contents(contents, chunk, Issue(actor, utcnow(), setup.public_url), report)
                reading.commit()  # no read transaction stays open around the writes
                stored = make((subject, content) for _, content in pending)
                _record(database, symposium, list(zip(pending, stored, strict=True)), actor)
                report.issued.extend(content["serial"] for _, content in pending)
                done += len(chunk)
                if progress is not None:
                    progress(done, report.total)
    return report


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _document_pipeline(
    stack: ExitStack, setup: DocumentSetup, jobs: int
) -> Callable[[Iterable[tuple[str, CertificateContent]]], list[StoredFile]]:
    """Render, sign and store in this process (``jobs`` 1) or in a pool of ``jobs`` worker processes."""
    if jobs <= 1:
        maker = document_maker(setup)
        return lambda tasks: [maker.make(*task) for task in tasks]
    pool = stack.enter_context(
        multiprocessing.get_context("spawn").Pool(jobs, initializer=_start_worker, initargs=(setup,))
    )
    return lambda tasks: list(pool.imap(_make_in_worker, tasks, chunksize=2))


def _members_without_certificate(
    session: Session, symposium: Symposium, member_ids: Sequence[int] | None
) -> list[int]:
    """Attendees of the symposium (not voided) who hold no valid certificate of it, in member order."""
    certified = select(Certificate.member_id).where(
        Certificate.symposium_id == symposium.id, Certificate.status == CertificateStatus.VALID.value
    )
    query = (
        select(Attendance.member_id)
        .where(
            Attendance.symposium_id == symposium.id,
            Attendance.voided_at.is_(None),
            Attendance.member_id.not_in(certified),
        )
        .distinct()
        .order_by(Attendance.member_id)
    )
    if member_ids is not None:
        query = query.where(Attendance.member_id.in_(member_ids))
    return list(session.scalars(query))


def _pending_contents(
    contents: AttendanceContents, chunk: Sequence[int], issue: Issue, report: IssueReport
) -> list[tuple[Member, CertificateContent]]:
    pending = []
    credited = 0
    year = contents.symposium.held_on.year
    for member, result in contents.credited_members(chunk):
        credited += 1
        content = contents.content(member, result, issue, new_serial("A", year))
        try:
            check_certificate_glyphs(content)
        except DomainError as error:
            report.failed.append(
                {"member_no": member.member_no, "error": error.code, "message": error.message}
            )
            continue
        pending.append((member, content))
    report.not_credited += len(chunk) - credited
    return pending


def _next_revision(session: Session, member_id: int, symposium_id: int) -> int:
    latest = session.scalar(
        select(func.max(Certificate.revision)).where(
            Certificate.member_id == member_id, Certificate.symposium_id == symposium_id
        )
    )
    return (latest or 0) + 1


def _certificate_row(
    session: Session,
    symposium: Symposium,
    member: Member,
    content: CertificateContent,
    stored: StoredFile,
    actor: str,
) -> Certificate:
    certificate = Certificate(
        serial=content["serial"],
        kind=CertificateKind.ATTENDANCE.value,
        member_id=member.id,
        symposium_id=symposium.id,
        revision=_next_revision(session, member.id, symposium.id),
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
            "symposium_code": symposium.code,
            "sha256": stored.sha256,
            "replaces": content.get("replaces"),
        },
    )
    return certificate


def _record(
    database: Database,
    symposium: Symposium,
    made: list[tuple[tuple[Member, CertificateContent], StoredFile]],
    actor: str,
) -> None:
    if not made:
        return
    with database.write_unit() as session:
        for (member, content), stored in made:
            _certificate_row(session, symposium, member, content, stored, actor)


def reissue_certificate(database: Database, setup: DocumentSetup, serial: str, *, actor: str) -> Certificate:
    """Replace a valid certificate with one computed from today's attendance; the old one is superseded."""
    with database.sessions() as reading:
        old = _find(reading, serial)
        if old.status != CertificateStatus.VALID.value or old.symposium is None:
            raise Conflict(
                f"certificate {serial} is {old.status}: only a valid one can be reissued", code="not_valid"
            )
        symposium = old.symposium
        subject = attendance_subject(symposium)
        with subject_lock(database.engine, setup.instance_path, subject):
            contents = AttendanceContents(reading, symposium)
            credited = list(contents.credited_members([old.member_id]))
            if not credited:
                raise Conflict(
                    f"member {old.member.member_no} has no credited attendance at {symposium.code} any more: "
                    "revoke the certificate instead",
                    code="not_credited",
                )
            member, result = credited[0]
            content = contents.content(
                member,
                result,
                Issue(actor, utcnow(), setup.public_url),
                new_serial("A", symposium.held_on.year),
            )
            content["replaces"] = old.serial
            check_certificate_glyphs(content)
            stored = document_maker(setup).make(subject, content)
            reading.commit()
            with database.write_unit() as session:
                previous = _find(session, serial)
                if previous.status != CertificateStatus.VALID.value:
                    raise Conflict(f"certificate {serial} changed meanwhile", code="not_valid")
                previous.status = CertificateStatus.SUPERSEDED.value
                session.flush()
                successor = _certificate_row(session, symposium, member, content, stored, actor)
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


def stored_files(
    certificates: Iterable[Certificate], store: CertificateStore
) -> Iterator[tuple[Certificate, bytes]]:
    """Each certificate with its file's bytes, for downloads and ZIP bundles."""
    for certificate in certificates:
        yield certificate, store.read(certificate.file_path)
