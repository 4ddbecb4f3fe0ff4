"""What a yearly transcript certifies: one member's year of lectures, totals and multi-year progress.

The keys every kind shares are the kernel's :class:`~cme_tracker.documents.content.DocumentContent`; this adds
the kind and its subject, the year.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from cme_tracker.documents.content import DocumentContent, LectureContent, SymposiumContent

TRANSCRIPT_FORMAT = "imsj-cme-transcript/1"


class YearContent(TypedDict):
    year: int
    basis: Literal["calendar", "fiscal"]
    first_day: str
    """ISO date: 1 January, or 1 April for the fiscal year."""
    last_day: str
    """ISO date, inclusive: 31 December, or 31 March of the next year."""


class AttendedSymposium(SymposiumContent):
    """A symposium of the year with the lectures the member attended there (times in its time zone)."""

    lectures: list[LectureContent]


class YearProgress(TypedDict):
    year: int
    amount: str
    codes: list[str]


class RequirementProgress(TypedDict):
    """Progress toward a policy's multi-year requirement over the transcript's year and those before it.

    ``combined`` is the amount plus the number of distinct codes (the JMA-style measure); each ``required_*``
    is None when the policy does not ask for it.
    """

    policy: str
    version: str
    label: str
    label_ja: str
    unit: str
    years: list[YearProgress]
    """Oldest first, the transcript's year last; a year the policy did not apply to shows zero."""
    first_day: str
    last_day: str
    amount: str
    distinct_codes: int
    combined: str
    required_amount: str | None
    required_distinct_codes: int | None
    required_combined: str | None
    met: bool


class TranscriptContent(DocumentContent):
    """``issued_at`` is in Asia/Tokyo (the society's zone); ``policies`` are the year's totals, equal to
    ``credits show --json`` for the same member, year and basis."""

    kind: Literal["transcript"]
    year: YearContent
    symposia: list[AttendedSymposium]
    """In date order, only those where the member attended a lecture that counted."""
    progress: list[RequirementProgress]
