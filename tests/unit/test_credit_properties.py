"""Properties of the credit rules that must hold for any presences, checked with Hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cme_tracker.credits.engine import CreditEngine, CreditResult
from cme_tracker.credits.minutes import LectureSlot, Presence, attended_minutes
from cme_tracker.credits.presets import PRESETS
from cme_tracker.vocabulary import CmeField

DAY = date(2026, 5, 16)
NINE = datetime(2026, 5, 16, 0, 0, tzinfo=UTC)
SYMPOSIUM = "2026-05"


def minute(offset: int) -> datetime:
    """``offset`` minutes after the start of the day's program."""
    return NINE + timedelta(minutes=offset)


LECTURES = (
    LectureSlot("L1", SYMPOSIUM, DAY, minute(0), minute(60), CmeField.CLINICAL, jma_cc="8", jda_code="1101"),
    LectureSlot(
        "L2",
        SYMPOSIUM,
        DAY,
        minute(70),
        minute(160),
        CmeField.DENTISTRY,
        excluded=((minute(100), minute(115)),),
        jda_code="2301",
    ),
    LectureSlot("L3", SYMPOSIUM, DAY, minute(160), minute(205), CmeField.DISCOURSE, jma_cc="84"),
    LectureSlot("L4", SYMPOSIUM, DAY, minute(220), minute(520), CmeField.BASIC_MEDICINE),
)
ENGINE = CreditEngine(LECTURES, PRESETS)
LAST_MINUTE = 540

seconds = st.integers(min_value=-30 * 60, max_value=LAST_MINUTE * 60)


@st.composite
def presences(draw: st.DrawFn) -> Presence:
    start = draw(seconds)
    length = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=LAST_MINUTE * 60)))
    check_in = NINE + timedelta(seconds=start)
    check_out = None if length is None else check_in + timedelta(seconds=length)
    target = draw(st.sampled_from([*(lecture.code for lecture in LECTURES), SYMPOSIUM]))
    return Presence(target, check_in, check_out, whole_symposium=target == SYMPOSIUM)


def credit(attendances: list[Presence]) -> CreditResult:
    return ENGINE.credit_presences(attendances)


def full_attendance() -> CreditResult:
    return credit([Presence(SYMPOSIUM, minute(0), minute(LAST_MINUTE), whole_symposium=True)])


@settings(max_examples=300)
@given(st.lists(presences(), max_size=6), presences())
def test_more_presence_never_gives_fewer_credits(attendances: list[Presence], extra: Presence) -> None:
    before = credit(attendances)
    after = credit([*attendances, extra])
    for code, policy in before.policies.items():
        assert after.policies[code].total >= policy.total
        for field, amount in policy.by_field.items():
            assert after.policies[code].by_field[field] >= amount


@settings(max_examples=300)
@given(st.lists(presences(), max_size=8))
def test_no_minute_counts_twice(attendances: list[Presence]) -> None:
    for line in credit(attendances).lectures:
        lecture = line.lecture
        assert 0 <= line.minutes <= attended_minutes(lecture, [(lecture.starts_at, lecture.ends_at)])


@settings(max_examples=200)
@given(st.lists(presences(), max_size=8), st.data())
def test_order_of_attendances_does_not_matter(attendances: list[Presence], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(attendances))
    assert credit(shuffled) == credit(attendances)


@settings(max_examples=300)
@given(st.lists(presences(), max_size=8))
def test_credits_never_exceed_what_full_attendance_gives(attendances: list[Presence]) -> None:
    full = full_attendance()
    full_by_lecture = {line.lecture.code: line.awards for line in full.lectures}
    result = credit(attendances)
    for line in result.lectures:
        for code, award in line.awards.items():
            assert award.amount <= full_by_lecture[line.lecture.code][code].amount
    for code, policy in result.policies.items():
        assert policy.total <= full.policies[code].total
        assert policy.total == sum(policy.by_field.values(), Decimal(0))


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(-20, 110), st.integers(0, 130)).map(lambda pair: (pair[0], pair[0] + pair[1])),
        max_size=6,
    )
)
def test_minutes_match_counting_each_minute_of_the_lecture(intervals: list[tuple[int, int]]) -> None:
    """Against a slow reference: a lecture minute counts if some interval covers it and it is not excluded."""
    lecture = LECTURES[1]
    lecture_start = 70
    excluded = set(range(100, 115))
    covered = {
        moment
        for start, end in intervals
        for moment in range(max(start, lecture_start), min(end, 160))
        if moment not in excluded
    }
    assert attended_minutes(lecture, [(minute(start), minute(end)) for start, end in intervals]) == len(
        covered
    )
