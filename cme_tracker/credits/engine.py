"""The credit rules: credits from the minutes attended (:mod:`cme_tracker.credits.minutes`) under each policy.

Pure functions over plain values (no Flask, no database), so that every part of the app asks the same rules
and property tests can check them. A yearly computation runs these rules for every attendance of the society,
so :class:`CreditEngine` compiles the year's lectures once into integer microseconds (exact, and cheap to
compare) and memoises what a lecture gives for a number of minutes; the per-member loop then compares ints,
looks amounts up and adds Decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple, TypeVar

from cme_tracker.credits.minutes import (
    MICROSECONDS_PER_MINUTE,
    Interval,
    LectureSlot,
    Presence,
    attended_micros,
    disjoint_within,
    epoch_micros,
)
from cme_tracker.credits.policy import CreditPolicy, UnitBasis
from cme_tracker.vocabulary import CmeField, Profession

FIELDS = tuple(CmeField)
ZERO = Decimal(0)

Span = tuple[Hashable | None, Hashable, int, int | None]
"""A presence as :class:`CreditEngine` reads it: (the lecture's code or alias, None for the whole symposium;
the symposium's code or alias; check-in and check-out in epoch microseconds, check-out None while missing)."""
MemberSpan = tuple[Hashable, Hashable | None, Hashable, int, int | None]
"""A :data:`Span` preceded by the key of the member it belongs to, as a query ordered by member yields it."""

PolicySelection = tuple[int, ...]
"""Positions in :attr:`CreditEngine.policies` of the policies that apply to one member."""

T = TypeVar("T")
RenderedLine = tuple[int, list[Interval], T]
"""A lecture a member attended as :meth:`CreditEngine.render_members` yields it: the lecture's position in
:attr:`CreditEngine.lectures`, the member's presence intervals in it, sorted, and the rendered awards."""


@dataclass(frozen=True, slots=True)
class LectureAward:
    """What one lecture gave under one policy, after the caps, and the scheme code earned with it."""

    amount: Decimal
    code: str | None


@dataclass(frozen=True, slots=True)
class LectureCredits:
    """One lecture a member attended: the minutes that count and the award under each applying policy."""

    lecture: LectureSlot
    minutes: int
    awards: Mapping[str, LectureAward]


@dataclass(frozen=True, slots=True)
class PolicyCredits:
    """A member's credits under one policy version: the total, every field (all five), the codes earned.

    ``codes`` is None for a policy that earns no scheme codes, and sorted otherwise.
    """

    code: str
    version: str
    unit_name: str
    total: Decimal
    by_field: Mapping[CmeField, Decimal]
    codes: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class CreditResult:
    """A member's credits over a period; ``lectures`` is filled only when asked for (it costs objects)."""

    policies: Mapping[str, PolicyCredits]
    lectures: tuple[LectureCredits, ...] = ()


def lecture_amount(policy: CreditPolicy, lecture: LectureSlot, minutes: int, lecture_minutes: int) -> Decimal:
    """What ``minutes`` of a lecture with ``lecture_minutes`` creditable minutes give under a policy.

    The per-lecture cap applies here; the day and year caps depend on the other lectures, see
    :meth:`CreditEngine.credit`.
    """
    if lecture.field not in policy.fields:
        return ZERO
    if policy.lecture_code_required and lecture.scheme_code(policy.lecture_code) is None:
        return ZERO
    if minutes < policy.minimum_minutes:
        return ZERO
    tolerance = policy.full_attendance_tolerance
    if tolerance is not None and lecture_minutes - minutes > tolerance:
        return ZERO
    counted = minutes if policy.basis is UnitBasis.MINUTES_ATTENDED else lecture_minutes
    units, remainder = divmod(counted, policy.minutes_per_unit)
    amount = units * policy.unit_value
    if policy.remainder is not None and remainder >= policy.remainder.from_minutes:
        amount += policy.remainder.value
    cap = policy.caps.per_lecture
    return cap if cap is not None and amount > cap else amount


class CreditEngine:
    """The lectures of a period and the policies in force, compiled once and applied to every member.

    Lectures are kept in lecture order (start time, then code): the day and year caps are consumed in that
    order. Spans name lectures and symposia by code, or by aliases given here (a database passes its ids, so
    rows need no translation). Awards per (lecture, minutes) are memoised per set of applying policies, so
    a member's lecture costs a dictionary look-up and an addition per policy.
    """

    def __init__(
        self,
        lectures: Iterable[LectureSlot],
        policies: Sequence[CreditPolicy],
        *,
        lecture_aliases: Mapping[Hashable, str] | None = None,
        symposium_aliases: Mapping[Hashable, str] | None = None,
    ) -> None:
        self.lectures = tuple(sorted(lectures, key=lambda lecture: (lecture.starts_at, lecture.code)))
        self.policies = tuple(policies)
        if len({policy.code for policy in self.policies}) != len(self.policies):
            raise ValueError("one version per policy code: the engine names each result by its code")
        lecture_index: dict[Hashable, int] = {
            lecture.code: index for index, lecture in enumerate(self.lectures)
        }
        if len(lecture_index) != len(self.lectures):
            raise ValueError("lecture codes must be unique")
        symposia = list(dict.fromkeys(lecture.symposium_code for lecture in self.lectures))
        symposium_index: dict[Hashable, int] = {code: index for index, code in enumerate(symposia)}
        lecture_index |= {alias: lecture_index[code] for alias, code in (lecture_aliases or {}).items()}
        symposium_index |= {alias: symposium_index[code] for alias, code in (symposium_aliases or {}).items()}
        self._lecture_index = lecture_index
        self._symposium_index = symposium_index
        self._starts = [epoch_micros(lecture.starts_at) for lecture in self.lectures]
        self._ends = [epoch_micros(lecture.ends_at) for lecture in self.lectures]
        self._excluded = [
            disjoint_within(lecture, self._starts[index], self._ends[index])
            for index, lecture in enumerate(self.lectures)
        ]
        self._symposium_lectures = [
            tuple(index for index, lecture in enumerate(self.lectures) if lecture.symposium_code == code)
            for code in symposia
        ]
        self._symposium_ends = [
            max(self._ends[index] for index in members) for members in self._symposium_lectures
        ]
        self._field_index = [FIELDS.index(lecture.field) for lecture in self.lectures]
        self._lecture_minutes = [
            (
                self._ends[index]
                - self._starts[index]
                - sum(end - start for start, end in self._excluded[index])
            )
            // MICROSECONDS_PER_MINUTE
            for index in range(len(self.lectures))
        ]
        self._selections: dict[tuple[Profession, bool, bool, bool], PolicySelection] = {}
        self._plans: dict[PolicySelection, _Plan] = {}

    def select_policies(
        self, profession: Profession, has_medical: bool, has_dental: bool, has_efn: bool
    ) -> PolicySelection:
        """The policies that apply to a member with this profession and these registry numbers."""
        key = (profession, has_medical, has_dental, has_efn)
        selection = self._selections.get(key)
        if selection is None:
            selection = tuple(
                position
                for position, policy in enumerate(self.policies)
                if policy.applies_to(profession, has_medical, has_dental, has_efn)
            )
            self._selections[key] = selection
        return selection

    def all_policies(self) -> PolicySelection:
        return tuple(range(len(self.policies)))

    def spans(self, presences: Iterable[Presence]) -> list[Span]:
        """Presences given with datetimes, as spans in epoch microseconds."""
        return [
            (
                None if presence.whole_symposium else presence.target,
                presence.target if presence.whole_symposium else None,
                epoch_micros(presence.check_in_at),
                None if presence.check_out_at is None else epoch_micros(presence.check_out_at),
            )
            for presence in presences
        ]

    def credit_presences(
        self, presences: Iterable[Presence], selection: PolicySelection | None = None
    ) -> CreditResult:
        """A member's credits from presences given with datetimes and codes, itemised per lecture."""
        return self.credit(self.spans(presences), selection, itemised=True)

    def credit(
        self, spans: Iterable[Span], selection: PolicySelection | None = None, *, itemised: bool = False
    ) -> CreditResult:
        """One member's credits under the selected policies (all when None), per lecture when ``itemised``."""
        chosen = self.all_policies() if selection is None else selection
        for _, result in self.credit_members(
            ((None, *span) for span in spans), {None: chosen}, itemised=itemised
        ):
            return result
        return self._result({}, self._plan(chosen), itemised)

    def credit_members(
        self,
        rows: Iterable[MemberSpan],
        selections: Mapping[Hashable, PolicySelection],
        *,
        itemised: bool = False,
    ) -> Iterator[tuple[Hashable, CreditResult]]:
        """Each member's credits from rows grouped by member (as ``ORDER BY member`` gives them).

        The yearly computation of the whole society runs through this loop, so it reads plain tuples and
        keeps one member's presences at a time. A member with rows but no lecture overlapped gets zeros.
        """
        for member, presence in self._presences(rows):
            yield member, self._result(presence, self._member_plan(selections, member), itemised)

    def render_members(
        self,
        rows: Iterable[MemberSpan],
        selections: Mapping[Hashable, PolicySelection],
        render: Callable[[int, int, Mapping[str, LectureAward]], T],
    ) -> Iterator[tuple[Hashable, CreditResult, list[RenderedLine[T]]]]:
        """:meth:`credit_members` for exports: each member's totals and a line per lecture attended.

        A line is the lecture's position in :attr:`lectures`, the member's presence intervals in it (sorted,
        a missing check-out replaced by the end it stands for) and what ``render`` made of the lecture, the
        minutes and the awards. Members of one plan who sat the same minutes of a lecture share the memoised
        awards, so ``render`` runs once per (plan, lecture, minutes), and again only where a day or year cap
        cut the awards (or where it returned None): a line costs a look-up instead of an itemised mapping
        and its formatting.
        """
        rendered: dict[_Plan, list[dict[int, T]]] = {}
        for member, presence in self._presences(rows):
            plan = self._member_plan(selections, member)
            tallied: list[_Tallied] = []
            result = CreditResult(self._tally(presence, plan, tallied))
            memo = rendered.get(plan)
            if memo is None:
                memo = rendered[plan] = [{} for _ in self.lectures]
            memoised = plan.awards
            lines: list[RenderedLine[T]] = []
            append = lines.append
            for lecture, minutes, intervals, awards in tallied:
                if awards is memoised[lecture][minutes]:
                    known = memo[lecture]
                    value = known.get(minutes)
                    if value is None:
                        value = known[minutes] = render(lecture, minutes, plan.itemise(awards))
                else:
                    value = render(lecture, minutes, plan.itemise(awards))
                if len(intervals) > 1:
                    intervals.sort()
                append((lecture, intervals, value))
            yield member, result, lines

    def _presences(self, rows: Iterable[MemberSpan]) -> Iterator[tuple[Hashable, dict[int, list[Interval]]]]:
        """Rows grouped by member as each member's presence intervals per lecture position (unsorted)."""
        lecture_index, symposium_index = self._lecture_index, self._symposium_index
        starts, ends = self._starts, self._ends
        symposium_lectures, symposium_ends = self._symposium_lectures, self._symposium_ends
        finished: set[Hashable] = set()
        current: Hashable = _NO_MEMBER
        presence: dict[int, list[Interval]] = {}
        try:
            for member, lecture_ref, symposium_ref, check_in, check_out in rows:
                if member != current:
                    if current is not _NO_MEMBER:
                        yield current, presence
                        finished.add(current)
                    if member in finished:
                        raise ValueError(f"rows of member {member!r} are not together: order them by member")
                    current, presence = member, {}
                if lecture_ref is not None:
                    lecture = lecture_index[lecture_ref]
                    interval = (check_in, ends[lecture] if check_out is None else check_out)
                    intervals = presence.get(lecture)
                    if intervals is None:
                        presence[lecture] = [interval]
                    else:
                        intervals.append(interval)
                    continue
                symposium = symposium_index[symposium_ref]
                if check_out is None:
                    check_out = symposium_ends[symposium]
                for lecture in symposium_lectures[symposium]:
                    if check_in < ends[lecture] and check_out > starts[lecture]:
                        intervals = presence.get(lecture)
                        if intervals is None:
                            presence[lecture] = [(check_in, check_out)]
                        else:
                            intervals.append((check_in, check_out))
        except KeyError as unknown:
            raise ValueError(
                f"{unknown.args[0]!r} is not a lecture or symposium of this computation"
            ) from None
        if current is not _NO_MEMBER:
            yield current, presence

    def _member_plan(self, selections: Mapping[Hashable, PolicySelection], member: Hashable) -> _Plan:
        selection = selections.get(member)
        if selection is None:
            raise ValueError(f"no policy selection for member {member!r}")
        return self._plan(selection)

    def _plan(self, selection: PolicySelection) -> _Plan:
        plan = self._plans.get(selection)
        if plan is None:
            policies = [self.policies[position] for position in selection]
            plan = self._plans[selection] = _Plan(policies, len(self.lectures))
        return plan

    def _result(self, presence: dict[int, list[Interval]], plan: _Plan, itemised: bool) -> CreditResult:
        """The awards of each planned policy, lecture by lecture in lecture order, summed per field."""
        if not itemised:
            return CreditResult(self._tally(presence, plan, None))
        tallied: list[_Tallied] = []
        policies = self._tally(presence, plan, tallied)
        lectures = self.lectures
        return CreditResult(
            policies,
            tuple(
                LectureCredits(lectures[lecture], minutes, plan.itemise(awards))
                for lecture, minutes, _, awards in tallied
            ),
        )

    def _tally(
        self, presence: dict[int, list[Interval]], plan: _Plan, tallied: list[_Tallied] | None
    ) -> dict[str, PolicyCredits]:
        """Each planned policy's credits; with ``tallied``, append each lecture's minutes and awards to it."""
        starts, ends, excluded, memo = self._starts, self._ends, self._excluded, plan.awards
        sums = [ZERO] * (len(plan.policies) * len(FIELDS))
        codes: list[set[str]] = [set() for _ in plan.policies]
        caps = _RunningCaps(plan) if plan.any_capped else None
        for lecture, intervals in sorted(presence.items()):
            if len(intervals) == 1 and not excluded[lecture]:  # the common case, without the general sweep
                check_in, check_out = intervals[0]
                start, end = starts[lecture], ends[lecture]
                micros = (check_out if check_out < end else end) - (check_in if check_in > start else start)
            else:
                micros = attended_micros(intervals, starts[lecture], ends[lecture], excluded[lecture])
            minutes = micros // MICROSECONDS_PER_MINUTE if micros > 0 else 0
            awards = memo[lecture].get(minutes)
            if awards is None:
                awards = self._awards(plan, lecture, minutes)
            if caps is not None:
                awards = caps.consume(self.lectures[lecture].day, awards)
            for slot, sum_index, amount, code in awards:
                sums[sum_index] += amount
                if code is not None:
                    codes[slot].add(code)
            if tallied is not None:
                tallied.append((lecture, minutes, intervals, awards))
        width = len(FIELDS)
        return {
            policy.code: PolicyCredits(
                code=policy.code,
                version=policy.version,
                unit_name=policy.unit_name,
                total=sum(sums[slot * width : (slot + 1) * width], ZERO),
                by_field=dict(zip(FIELDS, sums[slot * width : (slot + 1) * width], strict=True)),
                codes=None if policy.lecture_code is None else tuple(sorted(codes[slot])),
            )
            for slot, policy in enumerate(plan.policies)
        }

    def _awards(self, plan: _Plan, lecture: int, minutes: int) -> tuple[_Award, ...]:
        """The non-zero amounts these minutes of a lecture give the plan's policies, before the day and year
        caps; memoised in the plan, as members share few distinct (lecture, minutes) pairs.
        """
        details = self.lectures[lecture]
        lecture_minutes = self._lecture_minutes[lecture]
        field = self._field_index[lecture]
        awards = []
        for position, policy in enumerate(plan.policies):
            amount = lecture_amount(policy, details, minutes, lecture_minutes)
            if amount:
                code = details.scheme_code(policy.lecture_code)
                awards.append(_Award(position, position * len(FIELDS) + field, amount, code))
        plan.awards[lecture][minutes] = tuple(awards)
        return plan.awards[lecture][minutes]


_NO_MEMBER: Hashable = object()


class _Award(NamedTuple):
    """A non-zero amount one lecture gives the policy in ``slot`` of a plan.

    ``sum_index`` is where the lecture's field for that policy sits in a member's running sums.
    """

    slot: int
    sum_index: int
    amount: Decimal
    code: str | None


_Tallied = tuple[int, int, list[Interval], tuple[_Award, ...]]
"""A lecture as :meth:`CreditEngine._tally` passes it on: position, minutes, intervals, awards after caps."""


class _Plan:
    """The policies that apply to one kind of member, with their non-zero awards memoised per lecture."""

    def __init__(self, policies: Sequence[CreditPolicy], lectures: int) -> None:
        self.policies = policies
        self.capped = [
            policy.caps.per_day is not None or policy.caps.per_year is not None for policy in self.policies
        ]
        self.any_capped = any(self.capped)
        self.awards: list[dict[int, tuple[_Award, ...]]] = [{} for _ in range(lectures)]

    def itemise(self, awards: tuple[_Award, ...]) -> dict[str, LectureAward]:
        """Every planned policy's award for a lecture, zero included, for a member's itemised lines."""
        given = {award.slot: award for award in awards}
        return {
            policy.code: LectureAward(given[slot].amount, given[slot].code)
            if slot in given
            else LectureAward(ZERO, None)
            for slot, policy in enumerate(self.policies)
        }


class _RunningCaps:
    """What a member has earned so far on each day and in the year, per policy, to apply the caps in order."""

    def __init__(self, plan: _Plan) -> None:
        self.capped = plan.capped
        self.per_day = [policy.caps.per_day for policy in plan.policies]
        self.per_year = [policy.caps.per_year for policy in plan.policies]
        self.day_totals: list[dict[date, Decimal]] = [{} for _ in plan.policies]
        self.year_totals = [ZERO for _ in plan.policies]

    def consume(self, day: date, awards: tuple[_Award, ...]) -> tuple[_Award, ...]:
        """The awards cut to what the day and year caps still allow, recorded as earned; zeros dropped.

        Uncut awards come back as the same (memoised) tuple, so that what was derived from it still applies.
        """
        allowed: list[_Award] = []
        changed = False
        for award in awards:
            if self.capped[award.slot]:
                cut = self._cut(award, day)
                if cut is not award:
                    award, changed = cut, True
            if award.amount:
                allowed.append(award)
        return tuple(allowed) if changed else awards

    def _cut(self, award: _Award, day: date) -> _Award:
        slot, amount = award.slot, award.amount
        day_cap, year_cap = self.per_day[slot], self.per_year[slot]
        day_total = self.day_totals[slot].get(day, ZERO)
        if day_cap is not None:
            amount = max(ZERO, min(amount, day_cap - day_total))
        if year_cap is not None:
            amount = max(ZERO, min(amount, year_cap - self.year_totals[slot]))
        self.day_totals[slot][day] = day_total + amount
        self.year_totals[slot] += amount
        if amount == award.amount:
            return award
        return _Award(slot, award.sum_index, amount, award.code if amount else None)
