"""What a certificate or a yearly transcript certifies, as the plain JSON document that is frozen into it.

The same dict is stored on the Certificate row, attached to the PDF as ``certificate.json`` and handed to the
design: the PDF never shows a figure that the attachment does not carry. Amounts are decimal strings, times
are local to the symposium (``HH:MM``) with the zone named once, so an auditor can read the file without us.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

CONTENT_FORMAT = "imsj-cme-certificate/1"
TRANSCRIPT_FORMAT = "imsj-cme-transcript/1"


class RegistryNumbers(TypedDict):
    medical_registry_no: str | None
    dental_registry_no: str | None
    efn: str | None


class HolderContent(TypedDict):
    member_no: str
    profession: Literal["physician", "dentist", "other"]
    name_kanji: str | None
    """``family given`` in kanji or kana; None for a member whose name exists only in Latin letters."""
    name_romaji: str
    """``FAMILY Given`` as printed in Latin letters (may hold accented letters: Müller, Łukasz)."""
    former_family_name: str | None
    registry: RegistryNumbers


class SymposiumContent(TypedDict):
    code: str
    date: str
    """ISO date, ``2026-11-14``."""
    timezone: str
    title_ja: str
    title_en: str
    venue: str | None


class AwardContent(TypedDict):
    amount: str
    code: str | None
    """The scheme code earned with the award (JMA curriculum code, JDA training code), if any."""


class LectureContent(TypedDict):
    code: str
    starts_at: str
    """``HH:MM`` in the symposium's time zone."""
    ends_at: str
    title_ja: str
    title_en: str | None
    speaker: str
    field: Literal["clinical", "basic_medicine", "pharmaceuticals", "dentistry", "discourse"]
    minutes: int
    credits: dict[str, AwardContent]
    """Policy code (``imsj``, ``jma``, ``jda``, ``de-cme``) to the award under that policy."""


class PolicyTotals(TypedDict):
    code: str
    version: str
    label: str
    """The policy's English name as printed: ``IMSJ credits``, ``JMA-style CME units``, ..."""
    label_ja: str
    unit: str
    total: str
    by_field: dict[str, str]
    """All five fields, in the order of :class:`~cme_tracker.vocabulary.CmeField`."""
    codes: list[str] | None


class CertificateContent(TypedDict):
    format: str
    kind: Literal["attendance"]
    serial: str
    verification_code: str
    verify_url: str
    issued_at: str
    """ISO 8601 with offset, in the symposium's time zone."""
    holder: HolderContent
    symposium: SymposiumContent
    lectures: list[LectureContent]
    policies: list[PolicyTotals]
    replaces: NotRequired[str | None]
    """The serial of the certificate this one supersedes, when it was reissued."""


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


class TranscriptContent(TypedDict):
    format: str
    kind: Literal["transcript"]
    serial: str
    verification_code: str
    verify_url: str
    issued_at: str
    """ISO 8601 with offset, in Asia/Tokyo (the society's zone)."""
    holder: HolderContent
    year: YearContent
    symposia: list[AttendedSymposium]
    """In date order, only those where the member attended a lecture that counted."""
    policies: list[PolicyTotals]
    """The year's totals, equal to ``credits show --json`` for the same member, year and basis."""
    progress: list[RequirementProgress]
    replaces: NotRequired[str | None]


DocumentContent = CertificateContent | TranscriptContent
"""Either kind of issued document; ``kind`` tells them apart."""
