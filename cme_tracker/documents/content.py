"""What every issued document certifies, as the plain JSON frozen into it: the parts all kinds share.

The same dict is stored on the Certificate row, attached to the PDF as ``certificate.json`` and handed to the
design: the PDF never shows a figure that the attachment does not carry. Amounts are decimal strings, times
are local to the symposium (``HH:MM``) with the zone named once, so an auditor can read the file without us.
Each kind extends :class:`DocumentContent` with its own keys (a ``kind`` literal, its subject) in its package.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


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


class DocumentContent(TypedDict):
    """The keys the kernel reads of any kind's content: identity, holder, totals, and what it replaces."""

    format: str
    serial: str
    verification_code: str
    verify_url: str
    issued_at: str
    """ISO 8601 with offset: in the symposium's time zone, or the society's for a document of a year."""
    holder: HolderContent
    policies: list[PolicyTotals]
    replaces: NotRequired[str | None]
    """The serial of the document this one supersedes, when it was reissued."""
