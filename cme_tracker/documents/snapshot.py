"""The pieces of a document's content that every kind computes alike: serials, codes, holder, symposium.

A kind's snapshot (who has something to certify, and what) lives with the kind; these are what it builds on.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cme_tracker.credits.engine import LectureCredits
from cme_tracker.documents.content import HolderContent, SymposiumContent
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a code read aloud or typed from paper is not misread."""


def random_code(characters: int) -> str:
    """``characters`` random base-32 characters: 5 bits each."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(characters))


def new_serial(kind_letter: str, year: int) -> str:
    """A serial such as ``A26-7K3M-Q9XP``: kind, year, 40 random bits (the unique index catches a repeat)."""
    code = random_code(8)
    return f"{kind_letter}{year % 100:02d}-{code[:4]}-{code[4:]}"


VERIFICATION_CODE_CHARACTERS = 16
"""80 random bits: guessing a code for a known serial is hopeless, and the verify page is rate limited."""


@dataclass(frozen=True)
class Issue:
    """Who issues, when, and the base of the verify links printed on the documents."""

    actor: str
    at: datetime
    public_url: str


def holder_content(member: Member) -> HolderContent:
    return {
        "member_no": member.member_no,
        "profession": cast(Any, member.profession),
        "name_kanji": member.name if member.has_japanese_name else None,
        "name_romaji": member.name_romaji,
        "former_family_name": member.former_family_name,
        "registry": {
            "medical_registry_no": member.medical_registry_no,
            "dental_registry_no": member.dental_registry_no,
            "efn": member.efn,
        },
    }


def symposium_content(symposium: Symposium) -> SymposiumContent:
    return {
        "code": symposium.code,
        "date": symposium.held_on.isoformat(),
        "timezone": symposium.timezone,
        "title_ja": symposium.title_ja,
        "title_en": symposium.title_en,
        "venue": symposium.venue,
    }


def credited(lines: Sequence[LectureCredits]) -> bool:
    """Whether any lecture earned something under any policy: only then is there something to certify."""
    return any(award.amount > 0 for line in lines for award in line.awards.values())
