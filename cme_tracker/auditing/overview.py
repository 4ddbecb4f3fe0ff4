"""A year's figures for auditors: who earned credits, totals per policy, attendance per lecture.

Credits come from the same streaming computation as the exports and ``credits show`` (one member's rows in
memory at a time), so every total here is a sum of what those show; attendance counts are grouped SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select, union
from sqlalchemy.orm import Session, selectinload

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.engine import FIELDS
from cme_tracker.credits.policy import CreditPolicy
from cme_tracker.credits.presets import policies_in_force
from cme_tracker.credits.services import MemberCredits, year_period, yearly_credits
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import CmeField, Profession, YearBasis

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PolicyTotals:
    """One policy's sums over every member it applies to."""

    code: str
    version: str
    name_ja: str
    name_en: str
    unit_name: str
    members: int
    """Members with attendance in the year to whom the policy applies."""
    credited: int
    """Those of them with more than zero under it."""
    total: Decimal
    by_field: Mapping[CmeField, Decimal]
    by_profession: Mapping[Profession, Decimal]
    by_symposium: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class LectureFigures:
    code: str
    title_ja: str
    title_en: str | None
    field: CmeField
    starts_at: datetime
    ends_at: datetime
    checked_in: int
    """Members with an attendance (not voided) covering the lecture, its own or the whole day's."""
    credited: int
    """Members to whom the lecture gave more than zero under at least one policy."""


@dataclass(frozen=True, slots=True)
class SymposiumFigures:
    code: str
    held_on: date
    title_ja: str
    title_en: str
    timezone: str
    attendees: int
    lectures: tuple[LectureFigures, ...]


@dataclass(frozen=True, slots=True)
class ProfessionFigures:
    profession: Profession
    attending: int
    credited: int


@dataclass(frozen=True, slots=True)
class YearOverview:
    year: int
    basis: YearBasis
    first_day: date
    last_day: date
    attending: int
    """Members with at least one attendance that counts in the year."""
    credited: int
    """Members with more than zero under at least one policy."""
    attendances: int
    voided: int
    professions: tuple[ProfessionFigures, ...]
    policies: tuple[PolicyTotals, ...]
    symposia: tuple[SymposiumFigures, ...]

    @property
    def lectures(self) -> tuple[LectureFigures, ...]:
        return tuple(lecture for symposium in self.symposia for lecture in symposium.lectures)


@dataclass
class _PolicySums:
    policy: CreditPolicy
    members: int = 0
    credited: int = 0
    by_field: dict[CmeField, Decimal] = field(default_factory=lambda: dict.fromkeys(FIELDS, ZERO))
    by_profession: dict[Profession, Decimal] = field(default_factory=lambda: dict.fromkeys(Profession, ZERO))
    by_symposium: dict[str, Decimal] = field(default_factory=dict)

    def totals(self) -> PolicyTotals:
        return PolicyTotals(
            code=self.policy.code,
            version=self.policy.version,
            name_ja=self.policy.name_ja,
            name_en=self.policy.name_en,
            unit_name=self.policy.unit_name,
            members=self.members,
            credited=self.credited,
            total=sum(self.by_field.values(), ZERO),
            by_field=self.by_field,
            by_profession=self.by_profession,
            by_symposium=self.by_symposium,
        )


@dataclass
class _Tally:
    """What the stream of members adds up to."""

    policies: dict[str, _PolicySums]
    attending: Counter[Profession] = field(default_factory=Counter)
    credited: Counter[Profession] = field(default_factory=Counter)
    credited_per_lecture: Counter[str] = field(default_factory=Counter)

    def add(self, credits: MemberCredits, profession: Profession) -> None:
        self.attending[profession] += 1
        earned = False
        for code, result in credits.policies.items():
            sums = self.policies[code]
            sums.members += 1
            if result.total:
                sums.credited += 1
                earned = True
                sums.by_profession[profession] += result.total
                for cme_field, amount in result.by_field.items():
                    sums.by_field[cme_field] += amount
        if earned:
            self.credited[profession] += 1
        for line in credits.lines:
            lecture_earned = False
            for code, award in line.awards.items():
                if award.amount:
                    lecture_earned = True
                    by_symposium = self.policies[code].by_symposium
                    by_symposium[line.symposium_code] = (
                        by_symposium.get(line.symposium_code, ZERO) + award.amount
                    )
            if lecture_earned:
                self.credited_per_lecture[line.lecture_code] += 1


def year_overview(session: Session, year: int, basis: YearBasis) -> YearOverview:
    """The year's figures; one pass over the year's credits, plus three grouped queries."""
    first, after = year_period(year, basis)
    tally = _Tally(
        {code: _PolicySums(policy) for code, policy in year_policies(session, year, basis).items()}
    )
    professions = {
        number: kind for number, kind in session.execute(select(Member.member_no, Member.profession))
    }
    for credits in yearly_credits(session, year, basis, itemised=True):
        tally.add(credits, Profession(professions[credits.member_no]))
    symposia = session.scalars(
        select(Symposium)
        .where(Symposium.held_on >= first, Symposium.held_on < after)
        .options(selectinload(Symposium.lectures))
        .order_by(Symposium.held_on, Symposium.code)
    ).all()
    symposium_ids = [symposium.id for symposium in symposia]
    checked_in = _checked_in_per_lecture(session, symposium_ids)
    attendees = _attendees_per_symposium(session, symposium_ids)
    attendances, voided = _attendance_counts(session, symposium_ids)
    return YearOverview(
        year=year,
        basis=basis,
        first_day=first,
        last_day=after - timedelta(days=1),
        attending=sum(tally.attending.values()),
        credited=sum(tally.credited.values()),
        attendances=attendances,
        voided=voided,
        professions=tuple(
            ProfessionFigures(profession, tally.attending[profession], tally.credited[profession])
            for profession in Profession
        ),
        policies=tuple(sums.totals() for sums in tally.policies.values()),
        symposia=tuple(
            SymposiumFigures(
                code=symposium.code,
                held_on=symposium.held_on,
                title_ja=symposium.title_ja,
                title_en=symposium.title_en,
                timezone=symposium.timezone,
                attendees=attendees.get(symposium.id, 0),
                lectures=tuple(
                    LectureFigures(
                        code=lecture.code,
                        title_ja=lecture.title_ja,
                        title_en=lecture.title_en,
                        field=CmeField(lecture.field),
                        starts_at=lecture.starts_at,
                        ends_at=lecture.ends_at,
                        checked_in=checked_in.get(lecture.id, 0),
                        credited=tally.credited_per_lecture[lecture.code],
                    )
                    for lecture in symposium.lectures
                ),
            )
            for symposium in symposia
        ),
    )


def year_policies(session: Session, year: int, basis: YearBasis) -> dict[str, CreditPolicy]:
    """The policies that compute the year's credits (in force on its last day) by code, ``imsj`` first."""
    _, after = year_period(year, basis)
    return {policy.code: policy for policy in policies_in_force(session, after - timedelta(days=1))}


def years_with_symposia(session: Session, basis: YearBasis) -> list[int]:
    """The calendar or fiscal years in which a symposium is held, newest first, for the year picker."""
    days = session.scalars(select(Symposium.held_on).distinct())
    return sorted({_year_of(day, basis) for day in days}, reverse=True)


def _year_of(day: date, basis: YearBasis) -> int:
    return day.year - 1 if basis is YearBasis.FISCAL and day.month < 4 else day.year


def _checked_in_per_lecture(session: Session, symposium_ids: list[int]) -> dict[int, int]:
    """Distinct members per lecture; a whole-day attendance counts for each lecture it overlaps, as the
    credits engine counts it (an open one lasts until the lecture ends)."""
    counted = Attendance.voided_at.is_(None), Attendance.symposium_id.in_(symposium_ids)
    own = select(Attendance.lecture_id.label("lecture_id"), Attendance.member_id).where(
        *counted, Attendance.lecture_id.is_not(None)
    )
    whole_day = (
        select(Lecture.id.label("lecture_id"), Attendance.member_id)
        .join(
            Lecture,
            and_(
                Lecture.symposium_id == Attendance.symposium_id,
                Attendance.check_in_at < Lecture.ends_at,
                or_(Attendance.check_out_at.is_(None), Attendance.check_out_at > Lecture.starts_at),
            ),
        )
        .where(*counted, Attendance.lecture_id.is_(None))
    )
    pairs = union(own, whole_day).subquery()
    counts = session.execute(select(pairs.c.lecture_id, func.count()).group_by(pairs.c.lecture_id))
    return {lecture_id: count for lecture_id, count in counts}


def _attendees_per_symposium(session: Session, symposium_ids: list[int]) -> dict[int, int]:
    counts = session.execute(
        select(Attendance.symposium_id, func.count(Attendance.member_id.distinct()))
        .where(Attendance.voided_at.is_(None), Attendance.symposium_id.in_(symposium_ids))
        .group_by(Attendance.symposium_id)
    )
    return {symposium_id: count for symposium_id, count in counts}


def _attendance_counts(session: Session, symposium_ids: list[int]) -> tuple[int, int]:
    """All attendance records of the year's symposia, and how many of them were voided."""
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Attendance.voided_at.is_not(None), 1), else_=0)), 0),
        ).where(Attendance.symposium_id.in_(symposium_ids))
    ).one()
    return int(row[0]), int(row[1])
