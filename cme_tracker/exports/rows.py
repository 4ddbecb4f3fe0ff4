"""The rows of an auditor export: one streaming pass over a year, shaped for the tables every format writes.

The detail table has a row per member and lecture attended, with the presence intervals, the lecture's times
and excluded intervals and each applying policy's award and version; the totals table a row per member,
policy and field; the policies table each version's parameters. Together they let an auditor recompute every
credit by hand. Members come from the member table loaded once; attendances stream ordered by member, so
memory holds one member's rows at a time whatever the size of the society.

A year has a few hundred thousand detail rows but only a few thousand distinct (policies, lecture, minutes):
the cells that depend on those alone are built once, as a :class:`LineCells` each format keeps its own
rendering of, and a row adds only the member's cells and presence text.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.amounts import format_amount
from cme_tracker.credits.engine import FIELDS, LectureAward, PolicyCredits, PolicySelection
from cme_tracker.credits.minutes import Interval
from cme_tracker.credits.policy import CreditPolicy
from cme_tracker.credits.services import YearProgram, rendered_year
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture
from cme_tracker.vocabulary import YearBasis

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_MINUTE = 60_000_000
_CLOCK_CACHE = 1 << 17
"""Entries a :class:`LocalClock` keeps per cache before starting afresh, so memory stays bounded (some
30 MB); the benchmark's year has about 120,000 distinct presence times."""
_SECONDS = [f"{second:02d}" for second in range(60)]
TOTAL = "total"
"""The ``field`` of a policy's total row in the totals table."""

MEMBER_COLUMNS = ("year", "year_basis", "member_no", "profession", "name_romaji", "name_kanji")
LECTURE_COLUMNS = (
    "symposium_code",
    "timezone",
    "lecture_code",
    "field",
    "lecture_starts_at",
    "lecture_ends_at",
    "excluded",
)
TOTALS_COLUMNS = (*MEMBER_COLUMNS, "policy", "version", "unit", "field", "amount", "codes")
POLICIES_COLUMNS = ("policy", "version", "effective_from", "name_en", "unit", "parameters")


@cache
def amount_text(amount: Decimal) -> str:
    """An amount as ``credits show --json`` writes it; cached, as a year repeats a handful of amounts."""
    return format_amount(amount)


def local_iso(micros: int, zone: ZoneInfo) -> str:
    """Epoch microseconds as ISO 8601 in the symposium's time zone, with its offset and full precision."""
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone).isoformat()


class LocalClock:
    """:func:`local_iso` for one zone, for the few hundred thousand presence times of a year.

    Times repeat (a lecture's end stands for every missing check-out) and share their minute with many
    others, so a text is looked up, or built from its minute's cached ``YYYY-MM-DDTHH:MM:`` and offset;
    a minute that straddles an offset change, or an offset with seconds, takes the datetime path.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._texts: dict[int, str] = {}
        self._minutes: dict[int, tuple[str, str]] = {}

    def iso(self, micros: int) -> str:
        text = self._texts.get(micros)
        if text is not None:
            return text
        minute, rest = divmod(micros, _MICROS_PER_MINUTE)
        prefix, offset = self._minutes.get(minute) or self._minute(minute)
        seconds, fraction = divmod(rest, 1_000_000)
        if not prefix:
            text = local_iso(micros, self.zone)
        elif fraction:
            text = f"{prefix}{_SECONDS[seconds]}.{fraction:06d}{offset}"
        else:
            text = prefix + _SECONDS[seconds] + offset
        texts = self._texts
        if len(texts) >= _CLOCK_CACHE:
            texts.clear()
        texts[micros] = text
        return text

    def _minute(self, minute: int) -> tuple[str, str]:
        """The minute's ``YYYY-MM-DDTHH:MM:`` and offset, or empty texts where the datetime path must go."""
        first = (_EPOCH + timedelta(microseconds=minute * _MICROS_PER_MINUTE)).astimezone(self.zone)
        last = (_EPOCH + timedelta(microseconds=(minute + 1) * _MICROS_PER_MINUTE - 1)).astimezone(self.zone)
        known = ("", "")
        if first.utcoffset() == last.utcoffset() and first.second == first.microsecond == 0:
            text = first.isoformat()  # YYYY-MM-DDTHH:MM:00+HH:MM
            known = (text[:17], text[19:])
        if len(self._minutes) >= _CLOCK_CACHE:
            self._minutes.clear()
        self._minutes[minute] = known
        return known

    def presence(self, intervals: list[Interval]) -> str:
        """``check_in/check_out`` pairs joined by ``;``; a missing check-out shows the end it stands for."""
        texts, iso = self._texts, self.iso
        if len(intervals) == 1:
            start, end = intervals[0]
            return f"{texts.get(start) or iso(start)}/{texts.get(end) or iso(end)}"
        return ";".join(f"{iso(start)}/{iso(end)}" for start, end in intervals)


@dataclass(frozen=True, slots=True)
class MemberPart:
    """A range of member ids (first, last) of an export written in parts, and the session that reads it."""

    member_ids: tuple[int, int]
    session: Session


@dataclass(frozen=True, slots=True)
class ExportMember:
    member_no: str
    profession: str
    name_romaji: str
    name_kanji: str
    selection: PolicySelection


@dataclass(frozen=True, slots=True)
class ExportLecture:
    """A lecture's columns: times aware in the symposium's zone, and all cells as text (CSV, JSON)."""

    zone: ZoneInfo
    code: str
    starts_at: datetime
    ends_at: datetime
    texts: tuple[str, ...]
    """The cells in :data:`LECTURE_COLUMNS` order, rendered once per export rather than once per row."""
    clock: LocalClock


@dataclass(frozen=True, slots=True)
class PolicyColumns:
    """A policy's detail columns: ``jma_units``, ``jma_cc`` (the code earned with them), ``jma_version``."""

    policy: CreditPolicy
    amount: str
    code: str | None
    version: str

    @classmethod
    def of(cls, policy: CreditPolicy) -> PolicyColumns:
        prefix = policy.code.replace("-", "_")
        code = None if policy.lecture_code is None else policy.lecture_code.value
        return cls(policy, f"{prefix}_{policy.unit_name}", code, f"{prefix}_version")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.amount, self.version) if self.code is None else (self.amount, self.code, self.version)


@dataclass(frozen=True, slots=True, eq=False)
class LineCells:
    """What a detail row holds but the member's cells and presence: shared by every member of the same
    policies who sat the same minutes of the lecture.

    ``awards`` are each policy's (amount, code, version) cells, None where it does not apply (typed, for
    XLSX); ``texts`` are ``minutes_attended`` and those cells as CSV writes them. ``formats`` keeps what a
    format derived from them, so it does that once per line shape rather than once per row.
    """

    lecture: ExportLecture
    minutes: int
    awards: tuple[Decimal | str | None, ...]
    texts: tuple[str, ...]
    formats: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class MemberRows:
    """One member's rows: a detail line (its cells and the presence text) per lecture in lecture order, and
    each applying policy's totals."""

    member: ExportMember
    lines: list[tuple[LineCells, str]]
    policies: Mapping[str, PolicyCredits]

    @property
    def totals_count(self) -> int:
        return len(self.policies) * (len(FIELDS) + 1)


_MEMBER_TABLE_COLUMNS = (
    Member.id,
    Member.member_no,
    Member.profession,
    Member.family_name,
    Member.given_name,
    Member.family_name_kana,
    Member.family_name_romaji,
    Member.given_name_romaji,
    Member.medical_registry_no,
    Member.dental_registry_no,
    Member.efn,
)


class _NameColumns(Protocol):
    @property
    def family_name(self) -> str: ...
    @property
    def family_name_kana(self) -> str | None: ...
    @property
    def family_name_romaji(self) -> str: ...
    @property
    def given_name(self) -> str: ...
    @property
    def given_name_romaji(self) -> str: ...


class _MemberNames:
    """A member's name columns shown by the member model's own rules (its plain properties, borrowed).

    The member table is read as rows: ten thousand ORM instances cost a tenth of a CSV export.
    """

    __slots__ = ("family_name", "family_name_kana", "family_name_romaji", "given_name", "given_name_romaji")
    has_japanese_name = vars(Member)["has_japanese_name"]
    name = vars(Member)["name"]
    name_romaji = vars(Member)["name_romaji"]

    def __init__(self, row: _NameColumns) -> None:
        self.family_name: str = row.family_name
        self.family_name_kana: str | None = row.family_name_kana
        self.family_name_romaji: str = row.family_name_romaji
        self.given_name: str = row.given_name
        self.given_name_romaji: str = row.given_name_romaji


class YearExport:
    """What an export of one year needs, loaded once: the program, the policies, the member table."""

    def __init__(self, session: Session, year: int, basis: YearBasis) -> None:
        self.session = session
        self.year = year
        self.basis = basis
        self.program = YearProgram(session, year, basis)
        self.policies = tuple(PolicyColumns.of(policy) for policy in self.program.engine.policies)
        self.detail_columns = (
            *MEMBER_COLUMNS,
            *LECTURE_COLUMNS,
            "presence",
            "minutes_attended",
            *(name for columns in self.policies for name in columns.names),
        )
        clocks: dict[str, LocalClock] = {}
        self.lectures = {lecture.code: _export_lecture(lecture, clocks) for lecture in self.program.lectures}
        self._by_position = [self.lectures[slot.code] for slot in self.program.engine.lectures]
        self._award_columns = [
            (columns.policy.code, columns.code is not None, columns.policy.version)
            for columns in self.policies
        ]
        self.members = self._member_table()

    def _member_table(self) -> dict[Hashable, ExportMember]:
        members: dict[Hashable, ExportMember] = {}
        for row in self.session.execute(select(*_MEMBER_TABLE_COLUMNS)):
            names = _MemberNames(row)
            members[row.id] = ExportMember(
                row.member_no, row.profession, names.name_romaji, names.name, self.program.selection(row)
            )
        return members

    def rows(self, part: MemberPart | None = None) -> Iterator[MemberRows]:
        """Every member with an attendance in the year, in member id order, from one streaming query;
        with ``part``, those of its range read in its session."""
        selections = {member_id: member.selection for member_id, member in self.members.items()}
        members = self.members
        session, member_ids = (self.session, None) if part is None else (part.session, part.member_ids)
        for member_id, result, lines in rendered_year(
            session, self.program, selections, self._cells, member_ids
        ):
            yield MemberRows(
                members[member_id],
                [(cells, cells.lecture.clock.presence(intervals)) for _, intervals, cells in lines],
                result.policies,
            )

    def _cells(self, lecture: int, minutes: int, awards: Mapping[str, LectureAward]) -> LineCells:
        cells: list[Decimal | str | None] = []
        for code, has_code, version in self._award_columns:
            award = awards.get(code)
            if award is None:
                cells.extend((None, None, None) if has_code else (None, None))
            elif has_code:
                cells.extend((award.amount, award.code, version))
            else:
                cells.extend((award.amount, version))
        texts = (
            str(minutes),
            *(amount_text(cell) if isinstance(cell, Decimal) else cell or "" for cell in cells),
        )
        return LineCells(self._by_position[lecture], minutes, tuple(cells), texts)

    def policy_rows(self) -> Iterator[dict[str, Any]]:
        """Each policy version in force with every parameter, as the policies table lists it."""
        for columns in self.policies:
            policy = columns.policy
            yield {
                "policy": policy.code,
                "version": policy.version,
                "effective_from": policy.effective_from.isoformat(),
                "name_en": policy.name_en,
                "unit": policy.unit_name,
                "parameters": policy.to_parameters(),
            }

    def policy_texts(self) -> Iterator[tuple[str, ...]]:
        """:meth:`policy_rows` with the parameters as one JSON text cell."""
        for row in self.policy_rows():
            parameters = json.dumps(row["parameters"], ensure_ascii=False, sort_keys=True)
            yield (*(str(row[column]) for column in POLICIES_COLUMNS[:-1]), parameters)


def totals_rows(rows: MemberRows) -> Iterator[tuple[str, str, str, str, Decimal, str]]:
    """(policy, version, unit, field, amount, codes) per policy: the five fields, then the total."""
    for code, credits in rows.policies.items():
        for field_ in FIELDS:
            yield code, credits.version, credits.unit_name, field_.value, credits.by_field[field_], ""
        codes = "" if credits.codes is None else ";".join(credits.codes)
        yield code, credits.version, credits.unit_name, TOTAL, credits.total, codes


def _export_lecture(lecture: Lecture, clocks: dict[str, LocalClock]) -> ExportLecture:
    """A lecture's columns; its symposium's time zone's clock is shared with the zone's other lectures."""
    zone = ZoneInfo(lecture.symposium.timezone)
    clock = clocks.setdefault(zone.key, LocalClock(zone))
    starts_at, ends_at = lecture.starts_at.astimezone(zone), lecture.ends_at.astimezone(zone)
    excluded = ";".join(
        f"{start.astimezone(zone).isoformat()}/{end.astimezone(zone).isoformat()}"
        for start, end in sorted((exclusion.starts_at, exclusion.ends_at) for exclusion in lecture.exclusions)
    )
    texts = (
        lecture.symposium.code,
        zone.key,
        lecture.code,
        lecture.field,
        starts_at.isoformat(),
        ends_at.isoformat(),
        excluded,
    )
    return ExportLecture(zone, lecture.code, starts_at, ends_at, texts, clock)
