"""A year's figures for auditors: who earned credits, totals per policy, attendance per lecture.

Credits and attendance per lecture come from the same streaming computation as the exports and ``credits
show`` (one member's rows in memory at a time), so every total here is a sum of what those show; attendees
per symposium and record counts are grouped SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.engine import FIELDS, CreditResult, LectureAward, PolicySelection, RenderedLine
from cme_tracker.credits.policy import CreditPolicy
from cme_tracker.credits.presets import policies_in_force
from cme_tracker.credits.services import YearProgram, rendered_year
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.society import year_of, year_period
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


@dataclass(frozen=True, slots=True, eq=False)
class _LineAwards:
    """What a lecture line adds to the year's figures: its lecture and each policy's non-zero amount.

    Members who sat the same minutes of a lecture share one (the engine renders it once), so the stream
    only counts lines per instance and the amounts are summed once per instance at the end.
    """

    lecture_code: str
    symposium_code: str
    amounts: tuple[tuple[str, Decimal], ...]


@dataclass
class _Tally:
    """What the stream of members adds up to."""

    policies: dict[str, _PolicySums]
    attending: Counter[Profession] = field(default_factory=Counter)
    credited: Counter[Profession] = field(default_factory=Counter)
    lines: Counter[_LineAwards] = field(default_factory=Counter)

    def add(
        self, result: CreditResult, lines: list[RenderedLine[_LineAwards]], profession: Profession
    ) -> None:
        self.attending[profession] += 1
        earned = False
        for code, credits in result.policies.items():
            sums = self.policies[code]
            sums.members += 1
            if credits.total:
                sums.credited += 1
                earned = True
                sums.by_profession[profession] += credits.total
                for cme_field, amount in credits.by_field.items():
                    sums.by_field[cme_field] += amount
        if earned:
            self.credited[profession] += 1
        self.lines.update(awards for _, _, awards in lines)

    def per_lecture(self) -> tuple[Counter[str], Counter[str]]:
        """Members with an attendance covering each lecture, and those to whom it gave more than zero;
        the per-symposium sums on the way."""
        checked_in: Counter[str] = Counter()
        credited: Counter[str] = Counter()
        for line, count in self.lines.items():
            checked_in[line.lecture_code] += count
            for code, amount in line.amounts:
                by_symposium = self.policies[code].by_symposium
                earned = by_symposium.get(line.symposium_code, ZERO)
                by_symposium[line.symposium_code] = earned + amount * count
            if line.amounts:
                credited[line.lecture_code] += count
        return checked_in, credited


def year_overview(session: Session, year: int, basis: YearBasis) -> YearOverview:
    """The year's figures; one pass over the year's credits, plus two grouped queries."""
    first, after = year_period(year, basis)
    program = YearProgram(session, year, basis)
    tally = _Tally({policy.code: _PolicySums(policy) for policy in program.engine.policies})
    members = session.execute(
        select(
            Member.id,
            Member.profession,
            Member.medical_registry_no,
            Member.dental_registry_no,
            Member.efn,
        )
    ).all()
    professions = {member.id: member.profession for member in members}
    selections: dict[Hashable, PolicySelection] = {member.id: program.selection(member) for member in members}
    slots = program.engine.lectures

    def line_awards(lecture: int, _minutes: int, awards: Mapping[str, LectureAward]) -> _LineAwards:
        slot = slots[lecture]
        amounts = tuple((code, award.amount) for code, award in awards.items() if award.amount)
        return _LineAwards(slot.code, slot.symposium_code, amounts)

    for member_id, result, lines in rendered_year(session, program, selections, line_awards):
        tally.add(result, lines, professions[member_id])
    checked_in, credited_per_lecture = tally.per_lecture()
    symposia = session.scalars(
        select(Symposium)
        .where(Symposium.held_on >= first, Symposium.held_on < after)
        .options(selectinload(Symposium.lectures))
        .order_by(Symposium.held_on, Symposium.code)
    ).all()
    symposium_ids = [symposium.id for symposium in symposia]
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
                        field=lecture.field,
                        starts_at=lecture.starts_at,
                        ends_at=lecture.ends_at,
                        checked_in=checked_in[lecture.code],
                        credited=credited_per_lecture[lecture.code],
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
    return sorted({year_of(day, basis) for day in days}, reverse=True)


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
