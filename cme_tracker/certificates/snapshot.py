"""The content of attendance certificates, computed from the database at the moment of issue.

A symposium's credits are the member's credits of its lectures computed over the whole calendar year, so the
day and year caps come out as on the member's page and in the yearly transcript.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from decimal import Decimal
from itertools import chain
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.amounts import format_amount
from cme_tracker.attendance.models import Attendance
from cme_tracker.certificates.content import CONTENT_FORMAT, CertificateContent
from cme_tracker.credits.engine import FIELDS, CreditResult, LectureCredits, PolicySelection
from cme_tracker.credits.services import STREAM_BATCH, YearProgram
from cme_tracker.documents.content import AwardContent, LectureContent, PolicyTotals
from cme_tracker.documents.snapshot import (
    VERIFICATION_CODE_CHARACTERS,
    Issue,
    credited,
    holder_content,
    random_code,
    symposium_content,
)
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import YearBasis


class AttendanceContents:
    """Computes the certificate content of a symposium's attendees, one member at a time."""

    def __init__(self, session: Session, symposium: Symposium) -> None:
        self.session = session
        self.symposium = symposium
        self.program = YearProgram(session, symposium.held_on.year, YearBasis.CALENDAR)
        self.zone = ZoneInfo(symposium.timezone)
        self._lectures = {
            lecture.code: lecture
            for lecture in session.scalars(select(Lecture).where(Lecture.symposium_id == symposium.id))
        }
        self._policies = {policy.code: policy for policy in self.program.engine.policies}

    def credited_members(
        self, member_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[Member, CreditResult]]:
        """Attendees (or those of ``member_ids``) whose attendance here earned credits, in member order."""
        attendees = select(Attendance.member_id).where(
            Attendance.symposium_id == self.symposium.id, Attendance.voided_at.is_(None)
        )
        if member_ids is not None:
            attendees = attendees.where(Attendance.member_id.in_(member_ids))
        members = {
            member.id: member
            for member in self.session.scalars(select(Member).where(Member.id.in_(attendees.distinct())))
        }
        selections: dict[Hashable, PolicySelection] = {
            member_id: self.program.selection(member) for member_id, member in members.items()
        }
        rows = self.session.connection().execute(
            self.program.attendances()
            .where(Attendance.member_id.in_(list(members)))
            .order_by(Attendance.member_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        stream = chain.from_iterable(rows.partitions())
        for member_id, result in self.program.engine.credit_members(stream, selections, itemised=True):
            if credited(self.lines(result)):
                yield members[cast(int, member_id)], result

    def lines(self, result: CreditResult) -> list[LectureCredits]:
        return [line for line in result.lectures if line.lecture.symposium_code == self.symposium.code]

    def content(self, member: Member, result: CreditResult, issue: Issue, serial: str) -> CertificateContent:
        """The frozen content of ``member``'s certificate for this symposium."""
        code = random_code(VERIFICATION_CODE_CHARACTERS)
        lines = self.lines(result)
        return {
            "format": CONTENT_FORMAT,
            "kind": "attendance",
            "serial": serial,
            "verification_code": code,
            "verify_url": f"{issue.public_url}/verify/{serial}?c={code}",
            "issued_at": issue.at.astimezone(self.zone).isoformat(timespec="seconds"),
            "holder": holder_content(member),
            "symposium": symposium_content(self.symposium),
            "lectures": [self._lecture(line) for line in lines],
            "policies": [self._totals(policy_code, result, lines) for policy_code in result.policies],
            "replaces": None,
        }

    def _lecture(self, line: LectureCredits) -> LectureContent:
        lecture = self._lectures[line.lecture.code]
        awards: dict[str, AwardContent] = {
            code: {"amount": format_amount(award.amount), "code": award.code}
            for code, award in line.awards.items()
        }
        return {
            "code": lecture.code,
            "starts_at": lecture.starts_at.astimezone(self.zone).strftime("%H:%M"),
            "ends_at": lecture.ends_at.astimezone(self.zone).strftime("%H:%M"),
            "title_ja": lecture.title_ja,
            "title_en": lecture.title_en,
            "speaker": lecture.speaker,
            "field": cast(Any, lecture.field),
            "minutes": line.minutes,
            "credits": awards,
        }

    def _totals(
        self, policy_code: str, result: CreditResult, lines: Sequence[LectureCredits]
    ) -> PolicyTotals:
        """This symposium's part of the year's credits under one policy, per field."""
        year = result.policies[policy_code]
        policy = self._policies[policy_code]
        by_field = dict.fromkeys(FIELDS, Decimal(0))
        codes: set[str] = set()
        for line in lines:
            award = line.awards.get(policy_code)
            if award is None:
                continue
            by_field[line.lecture.field] += award.amount
            if award.code is not None and award.amount > 0:
                codes.add(award.code)
        return {
            "code": policy_code,
            "version": year.version,
            "label": policy.name_en,
            "label_ja": policy.name_ja,
            "unit": year.unit_name,
            "total": format_amount(sum(by_field.values(), Decimal(0))),
            "by_field": {field.value: format_amount(amount) for field, amount in by_field.items()},
            "codes": None if year.codes is None else sorted(codes),
        }
