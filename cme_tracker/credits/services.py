"""Credits from the database: a member's year for their page and the CLI, and every member's year in bulk.

Both load the year's program and the policies in force once, feed the attendances to the pure engine and
return plain frozen values; the bulk path streams all attendances of the year in one query ordered by member.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.engine import (
    FIELDS,
    CreditEngine,
    CreditResult,
    LectureAward,
    LectureSlot,
    PolicyCredits,
    PolicySelection,
    Span,
    epoch_micros,
)
from cme_tracker.credits.presets import policies_in_force
from cme_tracker.errors import NotFound
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import CmeField, Profession, YearBasis

STREAM_BATCH = 5000


def year_period(year: int, basis: YearBasis) -> tuple[date, date]:
    """The first day of the year and the first day after it; the fiscal year YYYY starts on 1 April YYYY."""
    first = date(year, 1, 1) if basis is YearBasis.CALENDAR else date(year, 4, 1)
    return first, first.replace(year=year + 1)


def format_amount(amount: Decimal) -> str:
    """An amount as the decimal string the JSON contract shows: ``0``, ``1``, ``1.5``, never an exponent."""
    return f"{amount.normalize():f}" if amount else "0"


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

    def to_json(self) -> dict[str, Any]:
        """The shape of ``credits show --json`` and the API: amounts as decimal strings, all five fields."""
        return {
            "member_no": self.member_no,
            "year": self.year,
            "year_basis": self.basis.value,
            "policies": {code: _policy_json(credits) for code, credits in self.policies.items()},
        }


def _policy_json(credits: PolicyCredits) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": credits.version,
        "total": format_amount(credits.total),
        "by_field": {field.value: format_amount(credits.by_field[field]) for field in FIELDS},
    }
    if credits.codes is not None:
        document["codes"] = list(credits.codes)
    return document


@dataclass(frozen=True, slots=True)
class _LectureTitles:
    title_ja: str
    title_en: str | None


class YearProgram:
    """The lectures of a year compiled into an engine with the policies in force at the year's end.

    The versions in force on the last day of the year name every result, so a transcript of a past year keeps
    the version it was computed with until an officer adds one effective inside that year.
    """

    def __init__(self, session: Session, year: int, basis: YearBasis) -> None:
        self.year = year
        self.basis = basis
        first, after = year_period(year, basis)
        lectures = session.scalars(
            select(Lecture)
            .join(Lecture.symposium)
            .where(Symposium.held_on >= first, Symposium.held_on < after)
            .options(selectinload(Lecture.exclusions))
        ).all()
        symposia = {lecture.symposium.id: lecture.symposium for lecture in lectures}
        self.engine = CreditEngine(
            (_lecture_slot(lecture) for lecture in lectures),
            policies_in_force(session, after - timedelta(days=1)),
        )
        self.symposium_ids = sorted(symposia)
        self._titles = {
            lecture.code: _LectureTitles(lecture.title_ja, lecture.title_en) for lecture in lectures
        }
        self._lecture_index = {lecture.id: self.engine.lecture_index(lecture.code) for lecture in lectures}
        self._symposium_index = {
            symposium.id: self.engine.symposium_index(symposium.code) for symposium in symposia.values()
        }

    def selection(self, member: _MemberHoldings) -> PolicySelection:
        return self.engine.select_policies(
            Profession(member.profession),
            bool(member.medical_registry_no),
            bool(member.dental_registry_no),
            bool(member.efn),
        )

    def spans(self, rows: Iterable[Sequence[Any]]) -> list[Span]:
        """Attendance rows (…, lecture_id, symposium_id, check_in_at, check_out_at) as engine spans."""
        lecture_index, symposium_index = self._lecture_index, self._symposium_index
        return [
            (
                None if row[-4] is None else lecture_index[row[-4]],
                symposium_index[row[-3]],
                epoch_micros(row[-2]),
                None if row[-1] is None else epoch_micros(row[-1]),
            )
            for row in rows
        ]

    def member_credits(self, member_no: str, result: CreditResult) -> MemberCredits:
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

    def attendances(self) -> Select[int, int | None, int, datetime, datetime | None]:
        """The year's attendances that count (not voided): member, lecture, symposium, check-in, check-out."""
        return select(
            Attendance.member_id,
            Attendance.lecture_id,
            Attendance.symposium_id,
            Attendance.check_in_at,
            Attendance.check_out_at,
        ).where(Attendance.voided_at.is_(None), Attendance.symposium_id.in_(self.symposium_ids))


class _MemberHoldings(Protocol):
    """What decides which policies apply to a member: profession and registry numbers (Member or a row)."""

    profession: str
    medical_registry_no: str | None
    dental_registry_no: str | None
    efn: str | None


def _lecture_slot(lecture: Lecture) -> LectureSlot:
    return LectureSlot(
        code=lecture.code,
        symposium_code=lecture.symposium.code,
        day=lecture.symposium.held_on,
        starts_at=lecture.starts_at,
        ends_at=lecture.ends_at,
        field=CmeField(lecture.field),
        excluded=tuple((exclusion.starts_at, exclusion.ends_at) for exclusion in lecture.exclusions),
        jma_cc=lecture.jma_cc,
        jda_code=lecture.jda_code,
    )


def member_credits(
    session: Session, member: Member, year: int, basis: YearBasis = YearBasis.CALENDAR
) -> MemberCredits:
    """A member's credits in a year under every enabled policy that applies to them, lecture by lecture."""
    program = YearProgram(session, year, basis)
    rows = session.execute(program.attendances().where(Attendance.member_id == member.id)).all()
    result = program.engine.credit(program.spans(rows), program.selection(member), itemised=True)
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
    members = {
        row.id: (row.member_no, program.selection(row))
        for row in session.execute(
            select(
                Member.id,
                Member.member_no,
                Member.profession,
                Member.medical_registry_no,
                Member.dental_registry_no,
                Member.efn,
            )
        )
    }
    rows = session.execute(
        program.attendances().order_by(Attendance.member_id).execution_options(yield_per=STREAM_BATCH)
    )
    credit = program.engine.credit
    for member_id, member_rows in groupby(rows, key=itemgetter(0)):
        member_no, selection = members[member_id]
        result = credit(program.spans(member_rows), selection, itemised=itemised)
        yield program.member_credits(member_no, result)
