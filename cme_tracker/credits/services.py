"""Credits from the database: a member's year for their page and the CLI, and every member's year in bulk.

Both load the year's program and the policies in force once, feed the attendances to the pure engine and
return plain frozen values; the bulk path streams all attendances of the year in one query ordered by member.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits import statements
from cme_tracker.credits.engine import (
    CreditEngine,
    CreditResult,
    LectureAward,
    PolicyCredits,
    PolicySelection,
    RenderedLine,
)
from cme_tracker.credits.minutes import LectureSlot
from cme_tracker.credits.policy import CreditPolicy
from cme_tracker.credits.presets import policies_in_force
from cme_tracker.errors import NotFound
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.society import year_period
from cme_tracker.vocabulary import CmeField, Profession, YearBasis

T = TypeVar("T")

STREAM_BATCH = 1000
"""Rows per fetch of the yearly stream: measured faster than larger batches (they stay in the CPU cache)."""


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One lecture on a member's credit page: what it was, the minutes that count and each policy's award."""

    symposium_code: str
    symposium_date: date
    lecture_code: str
    title_ja: str
    title_en: str | None
    field: CmeField
    starts_at: datetime
    ends_at: datetime
    minutes: int
    awards: Mapping[str, LectureAward]


@dataclass(frozen=True, slots=True)
class MemberCredits:
    """A member's credits over a calendar or fiscal year under every enabled policy that applies to them."""

    member_no: str
    year: int
    basis: YearBasis
    policies: Mapping[str, PolicyCredits]
    lines: tuple[CreditLine, ...] = ()


@dataclass(frozen=True, slots=True)
class _LectureTitles:
    title_ja: str
    title_en: str | None


class YearProgram:
    """The lectures of a year compiled into an engine with the policies in force at the year's end.

    The versions in force on the last day of the year name every result, so a transcript of a past year keeps
    the version it was computed with until an officer adds one effective inside that year.
    """

    def __init__(
        self, session: Session, year: int, basis: YearBasis, *, policies: Sequence[CreditPolicy] | None = None
    ) -> None:
        """``policies`` replaces those in force (a preview of a new version computes with it)."""
        self.year = year
        self.basis = basis
        first, after = year_period(year, basis)
        lectures = session.scalars(
            select(Lecture)
            .join(Lecture.symposium)
            .where(Symposium.held_on >= first, Symposium.held_on < after)
            .options(contains_eager(Lecture.symposium), selectinload(Lecture.exclusions))
        ).all()
        self.symposium_ids = sorted({lecture.symposium.id for lecture in lectures})
        self.engine = CreditEngine(
            (_lecture_slot(lecture) for lecture in lectures),
            policies_in_force(session, after - timedelta(days=1)) if policies is None else policies,
            lecture_aliases={lecture.id: lecture.code for lecture in lectures},
            symposium_aliases={lecture.symposium.id: lecture.symposium.code for lecture in lectures},
        )
        self._titles = {
            lecture.code: _LectureTitles(lecture.title_ja, lecture.title_en) for lecture in lectures
        }
        self.lectures: tuple[Lecture, ...] = tuple(lectures)
        """The year's lectures with their symposium and excluded intervals loaded, for exports."""

    def selection(self, member: _MemberHoldings) -> PolicySelection:
        return self.engine.select_policies(
            member.profession,
            bool(member.medical_registry_no),
            bool(member.dental_registry_no),
            bool(member.efn),
        )

    def attendances(self) -> statements.EngineRows:
        """The year's attendances that count (not voided) as engine rows: member, lecture, symposium, µs."""
        return statements.engine_rows(self.symposium_ids)

    def member_credits(self, member_no: str, result: CreditResult) -> MemberCredits:
        """The engine's result with the lecture titles the member's page lists."""
        return MemberCredits(
            member_no=member_no,
            year=self.year,
            basis=self.basis,
            policies=result.policies,
            lines=tuple(
                CreditLine(
                    symposium_code=line.lecture.symposium_code,
                    symposium_date=line.lecture.day,
                    lecture_code=line.lecture.code,
                    title_ja=self._titles[line.lecture.code].title_ja,
                    title_en=self._titles[line.lecture.code].title_en,
                    field=line.lecture.field,
                    starts_at=line.lecture.starts_at,
                    ends_at=line.lecture.ends_at,
                    minutes=line.minutes,
                    awards=line.awards,
                )
                for line in result.lectures
            ),
        )


class _MemberHoldings(Protocol):
    """What decides which policies apply to a member: profession and registry numbers (Member or a row)."""

    @property
    def profession(self) -> Profession: ...
    @property
    def medical_registry_no(self) -> str | None: ...
    @property
    def dental_registry_no(self) -> str | None: ...
    @property
    def efn(self) -> str | None: ...


def _lecture_slot(lecture: Lecture) -> LectureSlot:
    return LectureSlot(
        code=lecture.code,
        symposium_code=lecture.symposium.code,
        day=lecture.symposium.held_on,
        starts_at=lecture.starts_at,
        ends_at=lecture.ends_at,
        field=lecture.field,
        excluded=tuple((exclusion.starts_at, exclusion.ends_at) for exclusion in lecture.exclusions),
        jma_cc=lecture.jma_cc,
        jda_code=lecture.jda_code,
    )


def member_credits(
    session: Session, member: Member, year: int, basis: YearBasis = YearBasis.CALENDAR
) -> MemberCredits:
    """A member's credits in a year under every enabled policy that applies to them, lecture by lecture."""
    program = YearProgram(session, year, basis)
    rows = session.execute(program.attendances().where(Attendance.member_id == member.id))
    spans = [(lecture, symposium, check_in, check_out) for _, lecture, symposium, check_in, check_out in rows]
    result = program.engine.credit(spans, program.selection(member), itemised=True)
    return program.member_credits(member.member_no, result)


def member_credits_by_number(
    session: Session, member_no: str, year: int, basis: YearBasis = YearBasis.CALENDAR
) -> MemberCredits:
    """:func:`member_credits` for a member number; an unknown number raises NotFound."""
    member = session.scalars(select(Member).where(Member.member_no == member_no)).one_or_none()
    if member is None:
        raise NotFound(f"no member with number {member_no}", details={"member_no": member_no})
    return member_credits(session, member, year, basis)


def yearly_credits(
    session: Session, year: int, basis: YearBasis = YearBasis.CALENDAR, *, itemised: bool = False
) -> Iterator[MemberCredits]:
    """Every member with an attendance in the year, with their credits, in member id order.

    One streaming query reads the year's attendances ordered by member, so memory holds one member's rows at a
    time; members without attendances in the year earn nothing and are not listed.
    """
    program = YearProgram(session, year, basis)
    members = session.execute(
        select(
            Member.id,
            Member.member_no,
            Member.profession,
            Member.medical_registry_no,
            Member.dental_registry_no,
            Member.efn,
        )
    ).all()
    numbers: dict[Hashable, str] = {member.id: member.member_no for member in members}
    selections: dict[Hashable, PolicySelection] = {member.id: program.selection(member) for member in members}
    stream = statements.stream_by_member(session.connection(), program.attendances(), STREAM_BATCH)
    for member_id, result in program.engine.credit_members(stream, selections, itemised=itemised):
        yield program.member_credits(numbers[member_id], result)


def credits_of_members(
    session: Session, member_ids: Collection[int], year: int, basis: YearBasis = YearBasis.CALENDAR
) -> dict[int, Mapping[str, PolicyCredits]]:
    """The year's credits of these members (by member id) under every enabled policy that applies to each.

    As :func:`yearly_credits`, but reading only these members' attendances: what a preview of a program
    change compares before and after it. A member without attendances in the year is left out.
    """
    if not member_ids:
        return {}
    program = YearProgram(session, year, basis)
    members = session.execute(
        select(
            Member.id, Member.profession, Member.medical_registry_no, Member.dental_registry_no, Member.efn
        ).where(Member.id.in_(list(member_ids)))
    ).all()
    selections: dict[Hashable, PolicySelection] = {member.id: program.selection(member) for member in members}
    statement = program.attendances().where(Attendance.member_id.in_(list(member_ids)))
    stream = statements.stream_by_member(session.connection(), statement, STREAM_BATCH)
    return {
        cast(int, member_id): result.policies
        for member_id, result in program.engine.credit_members(stream, selections)
    }


def rendered_year(
    session: Session,
    program: YearProgram,
    selections: Mapping[Hashable, PolicySelection],
    render: Callable[[int, int, Mapping[str, LectureAward]], T],
    member_ids: tuple[int, int] | None = None,
) -> Iterator[tuple[Hashable, CreditResult, list[RenderedLine[T]]]]:
    """Every member with an attendance in the year, in member id order, as the exports read it.

    The same single streaming query as :func:`yearly_credits`, through :meth:`CreditEngine.render_members`:
    each line carries the member's presence intervals and what ``render`` made of the lecture's awards,
    computed once per distinct (policies, lecture, minutes) rather than once per line. ``member_ids`` (first,
    last) limits it to a range of members, for an export written in parts.
    """
    statement = program.attendances()
    if member_ids is not None:
        statement = statement.where(Attendance.member_id.between(*member_ids))
    rows = statements.stream_by_member(session.connection(), statement, STREAM_BATCH)
    yield from program.engine.render_members(rows, selections, render)
