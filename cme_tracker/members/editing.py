"""Creating, editing, deactivating and reactivating one member, for the office's pages and the API.

The values are checked by the members importer's own schema (:class:`~.schemas.MemberSchema`), so a member
typed in is held to the same rules as one imported. Every change is audited with what it changed
(old and new values); an edit names the version it was made against and is refused when someone else saved
the member first. Plain functions on a Session: they flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.errors import Conflict, DomainError, check_version
from cme_tracker.members.models import Member
from cme_tracker.members.schemas import MemberSchema
from cme_tracker.members.services import member_search_key

EDITABLE = (
    "profession",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "family_name_romaji",
    "given_name_romaji",
    "former_family_name",
    "email",
    "country",
    "medical_registry_no",
    "dental_registry_no",
    "efn",
)
"""What an edit may change: everything the import file has but the number, which stays for good."""
REQUIRED = ("profession", "family_name", "given_name", "family_name_romaji", "given_name_romaji")
IDENTIFYING = ("medical_registry_no", "dental_registry_no", "efn")
"""Numbers that name one person: two members holding the same one are the same person."""
REASON_LENGTH = 500

_NEW = MemberSchema()
_EDIT = MemberSchema(exclude=("member_no",))


class InvalidMember(DomainError):
    """Values the member schema refuses; ``details`` names the problem of each field."""

    code = "invalid"


def checked_values(values: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    """``values`` (text, as typed or sent) checked and normalised by the importer's schema, with every
    editable field present (None where left empty); ``member_no`` too for a new member."""
    schema = _NEW if new else _EDIT
    try:
        loaded: dict[str, Any] = schema.load(dict(values))
    except ValidationError as error:
        raise InvalidMember("the member has invalid fields", details=error.messages) from None
    fields = ("member_no", *EDITABLE) if new else EDITABLE
    return {field: loaded.get(field) for field in fields}


def create_member(session: Session, values: Mapping[str, Any], *, actor: str) -> Member:
    """A new member from the values of the import's columns; refused if the number or a registry number is
    taken."""
    checked = checked_values(values, new=True)
    number = checked["member_no"]
    if session.scalar(select(Member.id).where(Member.member_no == number)) is not None:
        raise Conflict(f"there is a member with the number {number} already", code="member_no_taken")
    _refuse_taken_numbers(session, checked, None)
    member = Member(**checked, active=True, needs_review=False, card_serial=1)
    member.search_key = member_search_key(member)
    session.add(member)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="member.create",
        target=f"member:{number}",
        details={"values": {field: value for field, value in checked.items() if value is not None}},
    )
    return member


def update_member(
    session: Session,
    member: Member,
    values: Mapping[str, Any],
    *,
    actor: str,
    expected_version: int | None,
) -> dict[str, tuple[Any, Any]]:
    """Give ``member`` these values (every editable field: a field left empty is cleared). Returns what
    changed, each field's old and new value, as the audit records it; nothing changed writes nothing."""
    check_version(member.row_version, expected_version)
    checked = checked_values(values, new=False)
    changes = {
        field: (getattr(member, field), value)
        for field, value in checked.items()
        if getattr(member, field) != value
    }
    if not changes:
        return {}
    _refuse_taken_numbers(session, {field: new for field, (_old, new) in changes.items()}, member)
    for field, (_old, new) in changes.items():
        setattr(member, field, new)
    member.search_key = member_search_key(member)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="member.update",
        target=f"member:{member.member_no}",
        details={
            "changes": {field: {"old": old, "new": new} for field, (old, new) in changes.items()},
            "version": member.row_version,
        },
    )
    return changes


def current_values(member: Member) -> dict[str, Any]:
    """The editable fields as they are, for an edit that changes some of them (a form, a PATCH)."""
    return {field: getattr(member, field) for field in EDITABLE}


def set_active(
    session: Session,
    member: Member,
    active: bool,
    *,
    reason: str,
    actor: str,
    expected_version: int | None,
) -> None:
    """Deactivate a member (left out of searches and card sheets; their records stay) or reactivate one,
    with the reason in the audit log."""
    check_version(member.row_version, expected_version)
    reason = reason.strip()
    if not reason:
        raise DomainError("give the reason", code="invalid", details={"reason": ["required"]})
    if len(reason) > REASON_LENGTH:
        raise DomainError(
            "the reason is too long",
            code="invalid",
            details={"reason": [f"at most {REASON_LENGTH} characters"]},
        )
    if member.merged_into_id is not None:
        raise Conflict(
            f"{member.member_no} was merged into another member and stays inactive", code="already_merged"
        )
    if member.active == active:
        state = "active" if active else "inactive"
        raise Conflict(f"{member.member_no} is {state} already", code=f"already_{state}")
    member.active = active
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="member.reactivate" if active else "member.deactivate",
        target=f"member:{member.member_no}",
        details={"reason": reason, "version": member.row_version},
    )


def _refuse_taken_numbers(session: Session, values: Mapping[str, Any], member: Member | None) -> None:
    """A registry number or EFN held by another member (not merged away) means a duplicate: merge instead."""
    conditions = [
        getattr(Member, field) == values[field] for field in IDENTIFYING if values.get(field) is not None
    ]
    if not conditions:
        return
    statement = select(Member).where(or_(*conditions), Member.merged_into_id.is_(None))
    if member is not None:
        statement = statement.where(Member.id != member.id)
    holder = session.scalar(statement.order_by(Member.member_no).limit(1))
    if holder is None:
        return
    fields = [
        field
        for field in IDENTIFYING
        if values.get(field) is not None and getattr(holder, field) == values[field]
    ]
    raise Conflict(
        f"member {holder.member_no} ({holder.name}) has this {fields[0].replace('_', ' ')}: "
        "if they are the same person, merge the duplicate into that member",
        code="registry_number_taken",
        details={"member_no": holder.member_no, "fields": fields},
    )
