"""Confirming walk-ins: guests a desk registered on the spot, until an administrator checks who they are."""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.members.models import Member


def confirm_walk_in(session: Session, member: Member, *, actor: str) -> bool:
    """Clear the member's review flag and record what was confirmed; False if it was already clear.

    The flag is cleared by a conditional UPDATE, so two administrators confirming the same walk-in at
    once write one audit event, not two.
    """
    result = cast(
        CursorResult[tuple[()]],
        session.execute(
            update(Member)
            .where(Member.id == member.id, Member.needs_review.is_(True))
            .values(needs_review=False)
        ),
    )
    if result.rowcount == 0:
        return False
    chain.record(
        session,
        actor=actor,
        action="member.walk_in.confirm",
        target=f"member:{member.member_no}",
        details={
            "name": member.name,
            "name_romaji": member.name_romaji,
            "profession": member.profession,
            "medical_registry_no": member.medical_registry_no,
            "dental_registry_no": member.dental_registry_no,
        },
    )
    return True
