"""Minutes attended: presence intervals against a lecture's time, less its excluded intervals.

Pure functions over plain values (no Flask, no database). Times are compared as integer microseconds since
the epoch, which are exact and cheap to compare: the credit engine (:mod:`cme_tracker.credits.engine`) runs
these for every attendance of a year.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cme_tracker.credits.policy import LectureCode
from cme_tracker.vocabulary import CmeField

MICROSECONDS_PER_MINUTE = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Interval = tuple[int, int]


def epoch_micros(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch: exact, unlike a float timestamp."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: presence times must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class LectureSlot:
    """What the rules need to know about a lecture; ``day`` is its symposium's date, for the per-day caps."""

    code: str
    symposium_code: str
    day: date
    starts_at: datetime
    ends_at: datetime
    field: CmeField
    excluded: tuple[tuple[datetime, datetime], ...] = ()
    jma_cc: str | None = None
    jda_code: str | None = None

    def scheme_code(self, code: LectureCode | None) -> str | None:
        """The lecture's code in a scheme, None when it carries none (an empty value counts as none)."""
        if code is None:
            return None
        value = self.jma_cc if code is LectureCode.JMA_CC else self.jda_code
        return value or None


@dataclass(frozen=True, slots=True)
class Presence:
    """One attendance: at the lecture ``target``, or at every lecture of the symposium ``target``.

    A missing check-out means until the lecture ends, or until the symposium's last lecture ends.
    """

    target: str
    check_in_at: datetime
    check_out_at: datetime | None = None
    whole_symposium: bool = False


def attended_micros(
    intervals: Iterable[Interval], lecture_start: int, lecture_end: int, excluded: Sequence[Interval] = ()
) -> int:
    """Microseconds of the union of ``intervals`` inside the lecture, less its overlap with ``excluded``.

    ``excluded`` must be disjoint (as :class:`CreditEngine` keeps them). Sorting and sweeping merges
    overlapping presences, so no microsecond counts twice.
    """
    union: list[Interval] = []
    for start, end in sorted(intervals):
        # Conditional expressions rather than min/max: this runs for every multi-visit lecture of a year.
        start = lecture_start if start < lecture_start else start
        end = lecture_end if end > lecture_end else end
        if end <= start:
            continue
        if union and start <= union[-1][1]:
            if end > union[-1][1]:
                union[-1] = (union[-1][0], end)
        else:
            union.append((start, end))
    total = 0
    for start, end in union:
        total += end - start
        for excluded_start, excluded_end in excluded:
            overlap = (end if end < excluded_end else excluded_end) - (
                start if start > excluded_start else excluded_start
            )
            if overlap > 0:
                total -= overlap
    return total


def attended_minutes(lecture: LectureSlot, intervals: Iterable[tuple[datetime, datetime | None]]) -> int:
    """Whole minutes of a lecture covered by presence intervals (a missing end: until the lecture ends)."""
    start, end = epoch_micros(lecture.starts_at), epoch_micros(lecture.ends_at)
    compiled = [
        (epoch_micros(begins), end if ends is None else epoch_micros(ends)) for begins, ends in intervals
    ]
    micros = attended_micros(compiled, start, end, disjoint_within(lecture, start, end))
    return micros // MICROSECONDS_PER_MINUTE


def creditable_minutes(lecture: LectureSlot) -> int:
    """Whole minutes of a lecture outside its excluded intervals: what full attendance gives."""
    return attended_minutes(lecture, [(lecture.starts_at, lecture.ends_at)])


def disjoint_within(lecture: LectureSlot, lecture_start: int, lecture_end: int) -> tuple[Interval, ...]:
    """The lecture's excluded intervals clipped to it and merged, so that no minute is excluded twice."""
    merged: list[Interval] = []
    for start, end in sorted((epoch_micros(start), epoch_micros(end)) for start, end in lecture.excluded):
        start, end = max(start, lecture_start), min(end, lecture_end)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)
