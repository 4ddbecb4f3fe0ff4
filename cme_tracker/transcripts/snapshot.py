"""The content of yearly transcripts, computed from the database at the moment of issue.

A transcript's amounts are the credits engine's result for the member's year (the same program, policies and
code path as ``credits show``), itemised per lecture and grouped by symposium. Progress toward a policy's
multi-year requirement adds the years before it on the same basis, each computed with the versions in force
in that year.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.amounts import format_amount
from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.engine import FIELDS, CreditResult, LectureCredits, PolicySelection
from cme_tracker.credits.policy import CreditPolicy
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
from cme_tracker.society import SOCIETY_ZONE, year_period
from cme_tracker.transcripts.content import (
    TRANSCRIPT_FORMAT,
    AttendedSymposium,
    RequirementProgress,
    TranscriptContent,
    YearContent,
)
from cme_tracker.vocabulary import YearBasis

"""The zone of a transcript's issue time: a year spans symposia in several zones, the society is in Tokyo."""


def year_content(year: int, basis: YearBasis) -> YearContent:
    first, after = year_period(year, basis)
    return {
        "year": year,
        "basis": cast(Any, basis.value),
        "first_day": first.isoformat(),
        "last_day": (after - timedelta(days=1)).isoformat(),
    }


def transcript_subject(year: int, basis: YearBasis) -> str:
    """The folder and lock name of a year's transcripts, such as ``transcript/2026-fiscal``."""
    return f"transcript/{year}-{basis.value}"


class TranscriptContents:
    """Computes the transcript content of a year's members, a chunk of members at a time."""

    def __init__(self, session: Session, year: int, basis: YearBasis) -> None:
        self.session = session
        self.year = year
        self.basis = basis
        self.program = YearProgram(session, year, basis)
        self._policies = {policy.code: policy for policy in self.program.engine.policies}
        self._symposia = {
            symposium.code: symposium
            for symposium in session.scalars(
                select(Symposium).where(Symposium.id.in_(self.program.symposium_ids))
            )
        }
        self._lectures = {
            lecture.code: lecture
            for lecture in session.scalars(
                select(Lecture).where(Lecture.symposium_id.in_(self.program.symposium_ids))
            )
        }
        spans = [policy.requirement.years for policy in self.program.engine.policies if policy.requirement]
        self._earlier = [
            YearProgram(session, earlier, basis) for earlier in range(year - max(spans, default=1) + 1, year)
        ]

    def waiting_query(self) -> Any:
        """Members with a counted attendance in the year (their ids), before removing those already served."""
        return select(Attendance.member_id).where(
            Attendance.symposium_id.in_(self.program.symposium_ids), Attendance.voided_at.is_(None)
        )

    def credited_members(
        self, member_ids: Sequence[int]
    ) -> Iterator[tuple[Member, CreditResult, dict[int, CreditResult]]]:
        """Members of ``member_ids`` whose year earned credits, with the year's result and the earlier
        years' results (by year) for the multi-year requirements, in member order."""
        members = {
            member.id: member
            for member in self.session.scalars(select(Member).where(Member.id.in_(member_ids)))
        }
        earlier = {program.year: dict(self._results(program, members, False)) for program in self._earlier}
        for member_id, result in self._results(self.program, members, True):
            if credited(result.lectures):
                previous = {
                    year: results[member_id] for year, results in earlier.items() if member_id in results
                }
                yield members[cast(int, member_id)], result, previous

    def _results(
        self, program: YearProgram, members: dict[int, Member], itemised: bool
    ) -> Iterator[tuple[Hashable, CreditResult]]:
        selections: dict[Hashable, PolicySelection] = {
            member_id: program.selection(member) for member_id, member in members.items()
        }
        rows = self.session.connection().execute(
            program.attendances()
            .where(Attendance.member_id.in_(list(members)))
            .order_by(Attendance.member_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        yield from program.engine.credit_members(
            chain.from_iterable(rows.partitions()), selections, itemised=itemised
        )

    def content(
        self,
        member: Member,
        result: CreditResult,
        earlier: dict[int, CreditResult],
        issue: Issue,
        serial: str,
    ) -> TranscriptContent:
        """The frozen content of ``member``'s transcript of the year."""
        code = random_code(VERIFICATION_CODE_CHARACTERS)
        return {
            "format": TRANSCRIPT_FORMAT,
            "kind": "transcript",
            "serial": serial,
            "verification_code": code,
            "verify_url": f"{issue.public_url}/verify/{serial}?c={code}",
            "issued_at": issue.at.astimezone(SOCIETY_ZONE).isoformat(timespec="seconds"),
            "holder": holder_content(member),
            "year": year_content(self.year, self.basis),
            "symposia": self._symposia_attended(result.lectures),
            "policies": [self._totals(policy_code, result) for policy_code in result.policies],
            "progress": [
                self._progress(self._policies[policy_code], result, earlier)
                for policy_code in result.policies
                if self._policies[policy_code].requirement is not None
            ],
            "replaces": None,
        }

    def _symposia_attended(self, lines: Sequence[LectureCredits]) -> list[AttendedSymposium]:
        grouped: dict[str, list[LectureCredits]] = {}
        for line in lines:
            grouped.setdefault(line.lecture.symposium_code, []).append(line)
        attended: list[AttendedSymposium] = []
        for code in sorted(grouped, key=lambda code: (self._symposia[code].held_on, code)):
            symposium = self._symposia[code]
            zone = ZoneInfo(symposium.timezone)
            attended.append(
                {
                    **symposium_content(symposium),
                    "lectures": [self._lecture(line, zone) for line in grouped[code]],
                }
            )
        return attended

    def _lecture(self, line: LectureCredits, zone: ZoneInfo) -> LectureContent:
        lecture = self._lectures[line.lecture.code]
        awards: dict[str, AwardContent] = {
            code: {"amount": format_amount(award.amount), "code": award.code}
            for code, award in line.awards.items()
        }
        return {
            "code": lecture.code,
            "starts_at": lecture.starts_at.astimezone(zone).strftime("%H:%M"),
            "ends_at": lecture.ends_at.astimezone(zone).strftime("%H:%M"),
            "title_ja": lecture.title_ja,
            "title_en": lecture.title_en,
            "speaker": lecture.speaker,
            "field": cast(Any, lecture.field),
            "minutes": line.minutes,
            "credits": awards,
        }

    def _totals(self, policy_code: str, result: CreditResult) -> PolicyTotals:
        """The year's credits under one policy: exactly what ``credits show`` prints."""
        year = result.policies[policy_code]
        policy = self._policies[policy_code]
        return {
            "code": policy_code,
            "version": year.version,
            "label": policy.name_en,
            "label_ja": policy.name_ja,
            "unit": year.unit_name,
            "total": format_amount(year.total),
            "by_field": {field.value: format_amount(year.by_field[field]) for field in FIELDS},
            "codes": None if year.codes is None else list(year.codes),
        }

    def _progress(
        self, policy: CreditPolicy, result: CreditResult, earlier: dict[int, CreditResult]
    ) -> RequirementProgress:
        """The policy's amounts and distinct codes over its requirement's span, ending with this year."""
        requirement = policy.requirement
        assert requirement is not None
        years = range(self.year - requirement.years + 1, self.year + 1)
        per_year = []
        amount, codes = Decimal(0), set[str]()
        for year in years:
            found = result if year == self.year else earlier.get(year)
            credits = None if found is None else found.policies.get(policy.code)
            year_amount = Decimal(0) if credits is None else credits.total
            year_codes = [] if credits is None or credits.codes is None else list(credits.codes)
            amount += year_amount
            codes.update(year_codes)
            per_year.append({"year": year, "amount": format_amount(year_amount), "codes": year_codes})
        first, _ = year_period(years[0], self.basis)
        _, after = year_period(self.year, self.basis)
        return {
            "policy": policy.code,
            "version": policy.version,
            "label": policy.name_en,
            "label_ja": policy.name_ja,
            "unit": policy.unit_name,
            "years": cast(Any, per_year),
            "first_day": first.isoformat(),
            "last_day": (after - timedelta(days=1)).isoformat(),
            "amount": format_amount(amount),
            "distinct_codes": len(codes),
            "combined": format_amount(amount + len(codes)),
            "required_amount": None if requirement.units is None else format_amount(requirement.units),
            "required_distinct_codes": requirement.distinct_codes,
            "required_combined": None
            if requirement.combined is None
            else format_amount(requirement.combined),
            "met": requirement.met(amount, len(codes)),
        }
