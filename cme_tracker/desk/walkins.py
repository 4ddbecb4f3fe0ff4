"""Walk-ins: a guest registered at the desk to be checked in at once, flagged for an admin to confirm.

A walk-in gets a member number of its own (``W`` + the local date + a sequence, e.g. ``W20261125-003``) that
no imported member uses, so the admin can later merge or confirm the record without renumbering anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.errors import Conflict
from cme_tracker.members.models import Member
from cme_tracker.members.services import member_search_key
from cme_tracker.program.models import Symposium
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.vocabulary import Profession

PREFIX: Final = "W"
NUMBER_ATTEMPTS: Final = 5
"""Two desks registering at the same moment may pick the same number; the loser takes the next one."""


@dataclass(frozen=True)
class WalkIn:
    """What the desk asks of a guest; the registry number is that of their profession (医籍 or 歯科医籍)."""

    family_name: str
    given_name: str
    family_name_romaji: str
    given_name_romaji: str
    profession: Profession
    family_name_kana: str | None = None
    given_name_kana: str | None = None
    registry_no: str | None = None
    efn: str | None = None


def walk_in_prefix(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}-"


def next_walk_in_number(session: Session, day: date) -> str:
    """The day's next free walk-in number: one above the highest given that day."""
    prefix = walk_in_prefix(day)
    taken = session.scalars(select(Member.member_no).where(Member.member_no.startswith(prefix)))
    suffixes = [number.removeprefix(prefix) for number in taken]
    sequences = [int(suffix) for suffix in suffixes if suffix.isdigit()]
    return f"{prefix}{max(sequences, default=0) + 1:03d}"


def register_walk_in(
    session: Session,
    walk_in: WalkIn,
    *,
    actor: str,
    now: datetime,
    symposium: Symposium | None = None,
    desk: str | None = None,
) -> Member:
    """Add the guest as a member needing review, audited; refuse someone whose registry number is known.

    The number's date is the day of ``now`` where the symposium is held (Tokyo when none is named). Flushes,
    never commits.
    """
    _refuse_known_person(session, walk_in)
    zone = symposium.zone if symposium is not None else SOCIETY_ZONE
    day = now.astimezone(zone).date()
    for _attempt in range(NUMBER_ATTEMPTS):
        member = _new_member(walk_in, next_walk_in_number(session, day))
        try:
            with session.begin_nested():
                session.add(member)
                session.flush()
        except IntegrityError:
            continue
        chain.record(
            session,
            actor=actor,
            action="member.walk_in",
            target=f"member:{member.member_no}",
            details=_audit_details(member, symposium, desk),
        )
        return member
    raise Conflict("another desk is registering walk-ins right now; send the form again", code="walk_in_busy")


def _new_member(walk_in: WalkIn, member_no: str) -> Member:
    member = Member(
        member_no=member_no,
        profession=walk_in.profession,
        family_name=walk_in.family_name,
        given_name=walk_in.given_name,
        family_name_kana=walk_in.family_name_kana,
        given_name_kana=walk_in.given_name_kana,
        family_name_romaji=walk_in.family_name_romaji,
        given_name_romaji=walk_in.given_name_romaji,
        medical_registry_no=walk_in.registry_no if walk_in.profession == Profession.PHYSICIAN else None,
        dental_registry_no=walk_in.registry_no if walk_in.profession == Profession.DENTIST else None,
        efn=walk_in.efn,
        needs_review=True,
        active=True,
        card_serial=1,
    )
    member.search_key = member_search_key(member)
    return member


def _refuse_known_person(session: Session, walk_in: WalkIn) -> None:
    """A guest whose registry number or EFN is on file is a member already: check them in by their number."""
    conditions = []
    if walk_in.registry_no and walk_in.profession == Profession.PHYSICIAN:
        conditions.append(Member.medical_registry_no == walk_in.registry_no)
    if walk_in.registry_no and walk_in.profession == Profession.DENTIST:
        conditions.append(Member.dental_registry_no == walk_in.registry_no)
    if walk_in.efn:
        conditions.append(Member.efn == walk_in.efn)
    if not conditions:
        return
    known = session.scalar(select(Member).where(or_(*conditions)).order_by(Member.member_no).limit(1))
    if known is not None:
        raise Conflict(
            f"member {known.member_no} ({known.name}) has this registry number; check them in by that number",
            code="member_exists",
            details={"member_no": known.member_no},
        )


def _audit_details(member: Member, symposium: Symposium | None, desk: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "name": member.name,
        "name_romaji": member.name_romaji,
        "profession": member.profession,
        "medical_registry_no": member.medical_registry_no,
        "dental_registry_no": member.dental_registry_no,
        "efn": member.efn,
        "symposium_code": symposium.code if symposium is not None else None,
        "desk": desk,
    }
    return {key: value for key, value in details.items() if value is not None}
