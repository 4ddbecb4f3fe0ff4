"""Appending to and verifying the hash-chained audit log.

Each event's hash is an HMAC-SHA256, keyed with a secret kept outside the database, over the previous hash and
the event's canonical JSON. Someone with only database access can neither edit nor delete an event unnoticed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.db import utcnow
from cme_tracker.driver import DriverStatement, unattached

GENESIS_HASH = "0" * 64
AUDIT_KEY = "audit_key"
"""The ``Session.info`` entry holding the chain's HMAC key; set by :class:`cme_tracker.db.Database`."""


_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(sequence=_HEAD.c.sequence + 1)
    .returning(_HEAD.c.sequence, _HEAD.c.hash)
)
_INSERT_EVENT = insert(_EVENTS).values({column: bindparam(f"event_{column.key}") for column in _EVENTS.c})
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("event_hash"))
_APPEND = _SET_HEAD_HASH.add_cte(_INSERT_EVENT.cte("event"))
"""PostgreSQL inserts the event and moves the head's hash on in one statement (a data-modifying CTE)."""
_ADVANCE = DriverStatement(_ADVANCE_HEAD)
_WRITE = {
    "postgresql": (DriverStatement(_APPEND),),
    "sqlite": (DriverStatement(_INSERT_EVENT), DriverStatement(_SET_HEAD_HASH)),
}


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, so the change and its record commit or vanish together.

    Updating the head row first takes the write lock, which serialises concurrent appends on both databases.
    Statements run on the driver (two round trips on PostgreSQL, three statements on SQLite), because an ORM
    flush of the event cost more than the rest of a check-in; the returned event is not attached to the
    session.
    """
    key = _key(session)
    connection = session.connection()
    (head,) = _ADVANCE.rows(connection)
    values: dict[str, Any] = {
        "sequence": head.sequence,
        "occurred_at": utcnow(),
        "actor": actor,
        "action": action,
        "target": target,
        "details": json.loads(json.dumps(details or {}, default=str)),
        "previous_hash": head.hash,
    }
    values["hash"] = _digest(key, values)
    parameters = {f"event_{name}": value for name, value in values.items()}
    for statement in _WRITE[connection.dialect.name]:
        statement.rows(connection, parameters)
    return unattached(AuditEvent, values)


def event_hash(key: bytes, event: AuditEvent) -> str:
    return _digest(
        key,
        {
            "sequence": event.sequence,
            "occurred_at": event.occurred_at,
            "actor": event.actor,
            "action": event.action,
            "target": event.target,
            "details": event.details,
            "previous_hash": event.previous_hash,
        },
    )


def _digest(key: bytes, event: dict[str, Any]) -> str:
    """The HMAC of the previous hash and the event's canonical JSON."""
    canonical = json.dumps(
        {
            "sequence": event["sequence"],
            "occurred_at": _iso(event["occurred_at"]),
            "actor": event["actor"],
            "action": event["action"],
            "target": event["target"],
            "details": event["details"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    message = f"{event['previous_hash']}\n{canonical}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: intact, or the first event that breaks the chain and why."""

    events_checked: int
    broken_sequence: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_sequence is None


def verify(session: Session) -> ChainReport:
    """Walk the chain in order; report the first edited, inserted or missing event, or a cut-off tail."""
    key = _key(session)
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    events = session.execute(
        select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=1000)
    ).scalars()
    try:
        for event in events:
            if event.sequence != expected_sequence:
                return ChainReport(
                    checked, expected_sequence, f"event {expected_sequence} is missing (deleted from the log)"
                )
            if event.previous_hash != previous_hash:
                return ChainReport(checked, event.sequence, "does not link to the event before it")
            if not hmac.compare_digest(event.hash, event_hash(key, event)):
                return ChainReport(checked, event.sequence, "its content was changed after it was written")
            previous_hash = event.hash
            expected_sequence += 1
            checked += 1
    finally:
        events.close()
    head = session.execute(select(AuditHead.sequence, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None or head.sequence != checked or head.hash != previous_hash:
        return ChainReport(checked, checked + 1, "events after this point were deleted (the head names more)")
    return ChainReport(checked)


def head(session: Session) -> tuple[int, str]:
    """The chain's last sequence and hash as the head row names them; (0, the genesis hash) before the first
    event. Every change appends to the chain in its own transaction, so the head also marks the state of the
    data a transaction sees."""
    row = session.execute(select(AuditHead.sequence, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    return (0, GENESIS_HASH) if row is None else (row.sequence, row.hash)


def _key(session: Session) -> bytes:
    key = session.info.get(AUDIT_KEY)
    if not key:
        raise RuntimeError("the session has no audit key; open it through cme_tracker.db.Database")
    return str(key).encode()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")
