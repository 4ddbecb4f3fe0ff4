"""Finding members. Plain functions on a Session; the caller commits."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from cme_tracker.members.models import Member
from cme_tracker.members.names import search_key, search_terms

SEARCH_KEY_LENGTH = 600
"""The length of ``Member.search_key``; a longer key is cut, which only makes its last names unsearchable."""

T = TypeVar("T")

LOOKUP_CHUNK = 500
"""Values per ``IN (...)`` list, well below the bind-parameter limits of SQLite and PostgreSQL."""


def member_search_key(member: Member) -> str:
    """The search key over all of a member's names: kanji (or Latin), kana, romaji, former family name."""
    return search_key(
        member.family_name,
        member.given_name,
        member.family_name_kana,
        member.given_name_kana,
        member.family_name_romaji,
        member.given_name_romaji,
        member.former_family_name,
    )[:SEARCH_KEY_LENGTH]


def search_condition(query: str) -> ColumnElement[bool] | None:
    """Members whose names match every word of ``query`` in any script, width or case, or whose number it
    is; None for a query without words. A query also matches a full name written without spaces
    (山田太郎, やまだたろう, yamadataro). One condition on the indexed search key, for every list that
    filters by name."""
    terms = search_terms(query)
    if not terms:
        return None
    number = query.strip()
    compact = func.replace(func.replace(Member.search_key, " | ", ""), " ", "")
    name_matches = [Member.search_key.contains(term, autoescape=True) for term in terms]
    return or_(
        Member.member_no == number,
        and_(*name_matches),
        compact.contains("".join(terms), autoescape=True),
    )


def search_members(
    session: Session, query: str, limit: int = 20, *, include_inactive: bool = False
) -> list[Member]:
    """Members matching ``query`` (:func:`search_condition`): the member with exactly that number first, then
    the others by romaji name."""
    condition = search_condition(query)
    if condition is None or limit <= 0:
        return []
    number = query.strip()
    statement = select(Member).where(condition)
    if not include_inactive:
        statement = statement.where(Member.active.is_(True))
    statement = statement.order_by(
        case((Member.member_no == number, 0), else_=1),
        Member.family_name_romaji,
        Member.given_name_romaji,
        Member.member_no,
    ).limit(limit)
    return list(session.scalars(statement))


def members_by_number(session: Session, numbers: Collection[str]) -> dict[str, Member]:
    """The members with these numbers, by number; unknown numbers are left out."""
    found: dict[str, Member] = {}
    for chunk in chunks(sorted(set(numbers)), LOOKUP_CHUNK):
        for member in session.scalars(select(Member).where(Member.member_no.in_(chunk))):
            found[member.member_no] = member
    return found


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` values, for lookups by long lists of keys."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
