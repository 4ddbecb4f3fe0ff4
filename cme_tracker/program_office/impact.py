"""What a change of the program would change: members' credits and the valid documents whose frozen content
would no longer match, computed before the change is saved.

The change is applied in a savepoint (the editing services' ``write_*`` functions, which neither check
versions nor audit), the credits are computed by the credit services and the documents' content by their
own kinds, exactly as an issue would compute it, and the savepoint is rolled back: nothing is written. After
a saved change, :func:`affected_documents` lists the documents whose content differs from what they froze,
for reissuing them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.engine import PolicyCredits
from cme_tracker.credits.services import credits_of_members
from cme_tracker.db import utcnow
from cme_tracker.documents.kinds import DocumentKinds, DocumentRun
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.documents.snapshot import Issue
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.program_office.editing import content_lecture_codes
from cme_tracker.vocabulary import YearBasis

VOLATILE_CONTENT = frozenset({"serial", "verification_code", "verify_url", "issued_at", "replaces"})
"""What a reissue changes in any case: these do not make a document's content differ."""
PREVIEW_ACTOR = "preview"

Reason = Literal["changed", "not_credited"]


@dataclass(frozen=True)
class CreditChange:
    """One member's total under one policy in one calendar year, before and after the change."""

    member_no: str
    name: str
    year: int
    policy: str
    unit: str
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class AffectedDocument:
    """A valid document whose frozen content would differ: reissue it (``changed``), or revoke it when the
    member would have nothing credited in its subject any more (``not_credited``)."""

    serial: str
    kind: CertificateKind
    member_no: str
    name: str
    subject: str
    reason: Reason
    covers_lecture: bool
    """Whether it lists the edited lecture (for a lecture's change)."""


@dataclass(frozen=True)
class Impact:
    credits: tuple[CreditChange, ...]
    documents: tuple[AffectedDocument, ...]
    attendees: int
    """Members with (not voided) attendance at the symposium."""

    @property
    def reissuable(self) -> list[str]:
        return [document.serial for document in self.documents if document.reason == "changed"]


def touches_records(session: Session, symposium: Symposium) -> bool:
    """Whether the symposium has counted attendance or issued documents: then an edit shows its impact."""
    attended = session.scalar(
        select(Attendance.id)
        .where(Attendance.symposium_id == symposium.id, Attendance.voided_at.is_(None))
        .limit(1)
    )
    issued = session.scalar(select(Certificate.id).where(Certificate.symposium_id == symposium.id).limit(1))
    return attended is not None or issued is not None


def preview(
    session: Session,
    kinds: DocumentKinds,
    symposium: Symposium,
    days: Collection[date],
    change: Callable[[], object],
    *,
    lecture_code: str | None = None,
) -> Impact:
    """What ``change`` (a write of the proposed values) would change, computed and then rolled back.

    ``days`` are the symposium's dates before and after the change: the years whose credits and transcripts
    it can touch. Every object of the session is expired afterwards; reload what you show.
    """
    attendees = _attendees(session, symposium)
    candidates = _candidates(session, symposium, attendees, days)
    years = sorted({day.year for day in days})
    if not attendees and not candidates:
        return Impact((), (), 0)
    before = {year: credits_of_members(session, attendees, year) for year in years}
    savepoint = session.begin_nested()
    try:
        change()
        session.flush()
        after = {year: credits_of_members(session, attendees, year) for year in years}
        documents = _differing(session, kinds, candidates, lecture_code)
    finally:
        savepoint.rollback()
        session.expire_all()
    return Impact(_credit_changes(session, before, after), documents, len(attendees))


def affected_documents(
    session: Session,
    kinds: DocumentKinds,
    symposium: Symposium,
    days: Collection[date],
    *,
    lecture_code: str | None = None,
) -> tuple[AffectedDocument, ...]:
    """The valid documents of the symposium and of its attendees' years whose content, computed now, differs
    from what they froze: those a saved change left behind."""
    attendees = _attendees(session, symposium)
    return _differing(session, kinds, _candidates(session, symposium, attendees, days), lecture_code)


def _attendees(session: Session, symposium: Symposium) -> list[int]:
    return list(
        session.scalars(
            select(Attendance.member_id)
            .where(Attendance.symposium_id == symposium.id, Attendance.voided_at.is_(None))
            .distinct()
        )
    )


def fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _candidates(
    session: Session, symposium: Symposium, attendees: Collection[int], days: Collection[date]
) -> list[Certificate]:
    """Valid documents the change may touch: the symposium's certificates, and the transcripts of its
    attendees for the calendar and fiscal years of its dates."""
    transcripts = [
        (Certificate.year_basis == YearBasis.CALENDAR) & Certificate.year.in_({day.year for day in days}),
        (Certificate.year_basis == YearBasis.FISCAL)
        & Certificate.year.in_({fiscal_year(day) for day in days}),
    ]
    subject = Certificate.symposium_id == symposium.id
    if attendees:
        subject = or_(
            subject,
            (Certificate.kind == CertificateKind.TRANSCRIPT)
            & Certificate.member_id.in_(list(attendees))
            & or_(*transcripts),
        )
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.status == CertificateStatus.VALID, subject)
            .options(selectinload(Certificate.member), selectinload(Certificate.symposium))
            .order_by(Certificate.serial)
        )
    )


def _differing(
    session: Session, kinds: DocumentKinds, candidates: Iterable[Certificate], lecture_code: str | None
) -> tuple[AffectedDocument, ...]:
    """The candidates whose content, as their kind computes it now, differs from the frozen one."""
    runs: dict[str, tuple[DocumentRun, list[Certificate]]] = {}
    for certificate in candidates:
        run = kinds.named(certificate.kind).reopen(session, certificate)
        runs.setdefault(run.subject, (run, []))[1].append(certificate)
    issue = Issue(PREVIEW_ACTOR, utcnow(), "")
    affected: list[AffectedDocument] = []
    for subject, (run, certificates) in runs.items():
        computed = {
            member.id: content
            for member, content in run.contents(
                [certificate.member_id for certificate in certificates], issue
            )
        }
        for certificate in certificates:
            content = computed.get(certificate.member_id)
            if content is not None and _comparable(content) == _comparable(certificate.content):
                continue
            covers = lecture_code is not None and (
                lecture_code in content_lecture_codes(certificate.content)
                or (content is not None and lecture_code in content_lecture_codes(content))
            )
            affected.append(
                AffectedDocument(
                    serial=certificate.serial,
                    kind=CertificateKind(certificate.kind),
                    member_no=certificate.member.member_no,
                    name=certificate.member.name,
                    subject=subject,
                    reason="changed" if content is not None else "not_credited",
                    covers_lecture=covers,
                )
            )
    return tuple(sorted(affected, key=lambda document: (document.member_no, document.serial)))


def _comparable(content: Mapping[str, Any]) -> Any:
    """The content as JSON would store it, without what every issue makes anew."""
    return json.loads(
        json.dumps({key: value for key, value in content.items() if key not in VOLATILE_CONTENT})
    )


def _credit_changes(
    session: Session,
    before: Mapping[int, Mapping[int, Mapping[str, PolicyCredits]]],
    after: Mapping[int, Mapping[int, Mapping[str, PolicyCredits]]],
) -> tuple[CreditChange, ...]:
    found: list[tuple[int, int, str, str, Decimal, Decimal]] = []
    for year in sorted(set(before) | set(after)):
        old_year, new_year = before.get(year, {}), after.get(year, {})
        for member_id in set(old_year) | set(new_year):
            old, new = old_year.get(member_id, {}), new_year.get(member_id, {})
            for code in sorted(set(old) | set(new)):
                old_total = old[code].total if code in old else Decimal(0)
                new_total = new[code].total if code in new else Decimal(0)
                if old_total != new_total:
                    unit = (new.get(code) or old[code]).unit_name
                    found.append((member_id, year, code, unit, old_total, new_total))
    if not found:
        return ()
    members: dict[int, Member] = {
        member.id: member
        for member in session.scalars(select(Member).where(Member.id.in_({row[0] for row in found})))
    }
    grouped: dict[int, list[CreditChange]] = defaultdict(list)
    for member_id, year, code, unit, old_total, new_total in found:
        member = members[member_id]
        grouped[member_id].append(
            CreditChange(member.member_no, member.name, year, code, unit, old_total, new_total)
        )
    changes = [change for group in grouped.values() for change in group]
    return tuple(sorted(changes, key=lambda change: (change.member_no, change.year, change.policy)))
