"""What the office's member page shows besides the records and the card: documents, history, merges.

Plain reads on a Session; the page's year-bound parts (attendance, credits) come from the auditor's records
(:func:`cme_tracker.attendance.records.member_records`) and the credits service.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import LazyString, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.audit.models import AuditEvent
from cme_tracker.documents.models import Certificate
from cme_tracker.members.models import Member
from cme_tracker.society import SOCIETY_ZONE

ACTION_LABELS: dict[str, LazyString] = {
    "member.create": lazy_gettext("Created"),
    "member.update": lazy_gettext("Edited"),
    "member.deactivate": lazy_gettext("Deactivated"),
    "member.reactivate": lazy_gettext("Reactivated"),
    "member.merge": lazy_gettext("Merged into another member"),
    "member.merge_in": lazy_gettext("Another member merged into this one"),
    "member.walk_in": lazy_gettext("Registered at a desk as a walk-in"),
    "member.walk_in.confirm": lazy_gettext("Walk-in confirmed"),
    "member.card.reissue": lazy_gettext("New card issued"),
}
"""The history's words for the member's audit actions; another action shows its code."""


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One audit event of the member as the history shows it: who, when, what changed."""

    sequence: int
    occurred_at: datetime
    actor: str
    action: str
    changes: tuple[Change, ...]
    """An edit's fields, old value to new."""
    details: tuple[tuple[str, str], ...]
    """Any other detail, as text."""


def history_entries(events: Sequence[AuditEvent]) -> list[HistoryEntry]:
    return [_entry(event) for event in events]


def _entry(event: AuditEvent) -> HistoryEntry:
    details = dict(event.details or {})
    changes: list[Change] = []
    recorded = details.pop("changes", None)
    if isinstance(recorded, dict):
        for field, values in recorded.items():
            if isinstance(values, dict):
                changes.append(Change(field, values.get("old"), values.get("new")))
    details.pop("version", None)
    return HistoryEntry(
        sequence=event.sequence,
        occurred_at=event.occurred_at.astimezone(SOCIETY_ZONE),
        actor=event.actor,
        action=event.action,
        changes=tuple(changes),
        details=tuple((key, _text(value)) for key, value in sorted(details.items())),
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    certificate: Certificate
    issued_on: date


def member_documents(session: Session, member: Member) -> list[DocumentRow]:
    """Every certificate and transcript issued to the member, newest first, with the issue date as printed
    (a certificate's in its symposium's zone, a transcript's in the society's)."""
    certificates = session.scalars(
        select(Certificate)
        .where(Certificate.member_id == member.id)
        .options(selectinload(Certificate.symposium), selectinload(Certificate.replaced_by))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    rows = []
    for certificate in certificates:
        zone = certificate.symposium.zone if certificate.symposium is not None else SOCIETY_ZONE
        rows.append(DocumentRow(certificate, certificate.issued_at.astimezone(zone).date()))
    return rows


def merged_from(session: Session, member: Member) -> list[Member]:
    """The walk-ins and duplicates merged into the member."""
    return list(
        session.scalars(select(Member).where(Member.merged_into_id == member.id).order_by(Member.member_no))
    )
