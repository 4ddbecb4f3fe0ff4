"""Issuing documents of any kind: for a whole subject (a symposium's certificates, a year's transcripts) or
one member; reissuing and revoking one by its serial.

Each member's document is a unit: its content is computed and frozen, its PDF rendered, signed and renamed
into place, then its row committed with the file's SHA-256. A run holds the subject's lock, first deletes
whatever an interrupted run left behind (files without rows), and issues only what is missing, so killing it
at any moment and running it again ends with exactly one valid document per eligible member. What differs
between kinds (who is waiting, the content, the row's subject) is a
:class:`~cme_tracker.documents.kinds.DocumentRun`; the rest is here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.db import Database, utcnow
from cme_tracker.documents.content import DocumentContent
from cme_tracker.documents.kinds import DocumentKinds, DocumentRun, RunOpener
from cme_tracker.documents.locks import subject_lock
from cme_tracker.documents.models import Certificate, CertificateStatus, RevocationCategory
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.snapshot import Issue
from cme_tracker.documents.storage import CertificateStore, StoredFile
from cme_tracker.errors import Conflict, DomainError, NotFound, StorageFailed
from cme_tracker.members.models import Member

log = logging.getLogger(__name__)

CHUNK = 64
"""Members computed, rendered and committed together: bounds memory, and the work a crash can lose."""

Progress = Callable[[int, int], None]
"""Called with (done, total) as members are processed."""


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


def find_member(session: Session, member_no: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        raise NotFound(f"no member with number {member_no}", details={"member_no": member_no})
    return member


def issue_documents(
    database: Database,
    setup: DocumentSetup,
    open_run: RunOpener,
    *,
    actor: str,
    member_no: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> IssueReport:
    """Issue the missing documents of the subject ``open_run`` names (or of one member) under its lock.

    A write the disk refuses (full, read-only) ends the run with :class:`StorageFailed`; what was recorded
    before it stays, and a later run issues the rest.
    """
    from cme_tracker.documents.maker import document_pipeline  # WeasyPrint and pyHanko: loaded on first use

    report = IssueReport()
    store = CertificateStore(setup.instance_path)
    with refused_writes(), database.sessions() as reading:
        run = open_run(reading)
        member_ids = [find_member(reading, member_no).id] if member_no is not None else None
        with subject_lock(database.engine, setup.instance_path, run.subject), ExitStack() as stack:
            report.swept = len(store.sweep(run.subject, run.recorded_serials(reading)))
            waiting = run.waiting(reading, member_ids)
            report.total = len(waiting)
            if progress is not None:
                progress(0, report.total)
            make = document_pipeline(stack, setup, run.kind, jobs)
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


@contextmanager
def refused_writes() -> Iterator[None]:
    """A write the disk refuses ends the unit as :class:`StorageFailed` (the lock released on the way out)."""
    try:
        yield
    except OSError as error:
        log.error("issuing stopped: %s", error)
        raise StorageFailed.of(error) from error


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


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
        kind=run.kind.name,
        member_id=member.id,
        **run.row_subject(),
        revision=_next_revision(session, member.id, run),
        content=dict(content),
        policy_versions=[f"{policy['code']} {policy['version']}" for policy in content["policies"]],
        sha256=stored.sha256,
        file_path=stored.relative_path,
        verification_code=content["verification_code"],
        status=CertificateStatus.VALID,
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
            "kind": run.kind.name.value,
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


def reissue_certificate(
    database: Database, setup: DocumentSetup, kinds: DocumentKinds, serial: str, *, actor: str
) -> Certificate:
    """Replace a valid document of any of ``kinds`` with one computed from today's attendance; the old one is
    superseded and points to the new one."""
    from cme_tracker.documents.maker import document_maker  # WeasyPrint and pyHanko: loaded on first use

    with refused_writes(), database.sessions() as reading:
        old = _find(reading, serial)
        if old.status != CertificateStatus.VALID:
            raise Conflict(
                f"certificate {serial} is {old.status}: only a valid one can be reissued", code="not_valid"
            )
        run = kinds.named(old.kind).reopen(reading, old)
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
            stored = document_maker(setup).make(run.kind, run.subject, content)
            reading.commit()
            with database.write_unit() as session:
                previous = _find(session, serial)
                if previous.status != CertificateStatus.VALID:
                    raise Conflict(f"certificate {serial} changed meanwhile", code="not_valid")
                previous.status = CertificateStatus.SUPERSEDED
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
    if certificate.status != CertificateStatus.VALID:
        raise Conflict(f"certificate {serial} is already {certificate.status}", code="not_valid")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revocation_category = category
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
