"""Appending to and verifying the hash-chained audit log.

Each event's hash is an HMAC-SHA256, keyed with a secret kept outside the database, over the previous hash and
the event's canonical JSON. The head row is keyed too, and anchored in a file outside the database
(:mod:`cme_tracker.audit.anchor`): someone with only database access can neither edit nor delete an event
unnoticed, the newest ones included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit import anchor, statements
from cme_tracker.audit.anchor import Mark
from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict

GENESIS_HASH = "0" * 64
AUDIT_KEY = "audit_key"
"""The ``Session.info`` entry holding the chain's HMAC key; set by :class:`cme_tracker.db.Database`."""


@dataclass(frozen=True, slots=True)
class AppendedEvent:
    """An event as :func:`record` wrote it: its values, read without loading the row back."""

    sequence: int
    occurred_at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    previous_hash: str
    hash: str


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AppendedEvent:
    """Append one event in the caller's transaction, so the change and its record commit or vanish together.

    Updating the head row first takes the write lock, which serialises concurrent appends on both databases.
    Statements run on the driver (:mod:`cme_tracker.audit.statements`), because an ORM flush of the event cost
    more than the rest of a check-in; the returned event is a plain value, not a row of the session.
    """
    key = _key(session)
    connection = session.connection()
    sequence, previous_hash = statements.advance_head(connection)
    values: dict[str, Any] = {
        "sequence": sequence,
        "occurred_at": utcnow(),
        "actor": actor,
        "action": action,
        "target": target,
        "details": json.loads(json.dumps(details or {}, default=str)),
        "previous_hash": previous_hash,
    }
    values["hash"] = _digest(key, values)
    mark = Mark(sequence, values["hash"])
    statements.write_event(connection, values, anchor.head_mac(key, mark))
    anchor.note_append(session, mark)
    return AppendedEvent(**values)


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


def verify(session: Session, *, upgrading: bool = False) -> ChainReport:
    """Walk the chain in order; report the first edited, inserted or missing event, a cut-off tail, or a head
    row or anchor file that does not match the chain.

    ``upgrading`` (for :func:`anchor_head` only) accepts what a log written before the head was keyed lacks:
    an empty head ``mac`` and a missing anchor file; every other check still holds.
    """
    key = _key(session)
    anchor.flush()
    path = session.info.get(anchor.ANCHOR)
    anchored = None if path is None else anchor.read(path, key)
    at_genesis = isinstance(anchored, Mark) and anchored.sequence == 0
    anchored_hash: str | None = GENESIS_HASH if at_genesis else None
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
            if isinstance(anchored, Mark) and event.sequence == anchored.sequence:
                anchored_hash = event.hash
    finally:
        events.close()
    return _check_head(
        session, key, Mark(checked, previous_hash), anchored, anchored_hash, path is not None, upgrading
    )


def _check_head(
    session: Session,
    key: bytes,
    last: Mark,
    anchored: Mark | str | None,
    anchored_hash: str | None,
    required: bool,
    upgrading: bool = False,
) -> ChainReport:
    """Compare the walked chain's last event with the head row, then with the anchor outside the database
    when the sessions have one (``required``): the anchor may be at or behind the head, as a commit moves it
    only afterwards, but the chain must extend it."""
    after = last.sequence + 1
    row = session.execute(
        select(AuditHead.sequence, AuditHead.hash, AuditHead.mac).where(AuditHead.id == 1)
    ).one_or_none()
    if row is None:
        return ChainReport(last.sequence, after, "the head row was deleted")
    if row.sequence != last.sequence or row.hash != last.hash:
        return ChainReport(last.sequence, after, "events after this point were deleted (the head names more)")
    fresh = last.sequence == 0 and row.mac is None
    unkeyed_by_upgrade = upgrading and not row.mac
    if (
        not fresh
        and not unkeyed_by_upgrade
        and not hmac.compare_digest(row.mac or "", anchor.head_mac(key, last))
    ):
        return ChainReport(
            last.sequence, after, "the head row was rewritten (it is not keyed with the audit key)"
        )
    if isinstance(anchored, str):
        return ChainReport(last.sequence, after, anchored)
    if anchored is None:
        if required and last.sequence > 0 and not upgrading:
            return ChainReport(last.sequence, after, "the anchor file outside the database is missing")
        return ChainReport(last.sequence)
    if anchored.sequence > last.sequence:
        return ChainReport(
            last.sequence,
            after,
            f"events after this point were deleted (the anchor outside the database names event "
            f"{anchored.sequence})",
        )
    if anchored_hash != anchored.hash:
        return ChainReport(
            last.sequence,
            anchored.sequence,
            "the log was rewritten (the anchor outside the database names another hash)",
        )
    return ChainReport(last.sequence)


class ChainBroken(Conflict):
    """The chain does not verify: nothing is keyed or anchored over it."""

    code = "chain_broken"


@dataclass(frozen=True)
class Anchoring:
    """What :func:`anchor_head` did: the events it verified, what it had to fix, the event it appended."""

    verified: int
    keyed_head: bool
    wrote_anchor: bool
    sequence: int


def anchor_head(session: Session, *, actor: str) -> Anchoring | None:
    """Key the head row and write the anchor of a log from before they existed (migration 0007 leaves an
    existing log's head ``mac`` empty, and the anchor file appears with the first append after it).

    The whole chain is verified first, under the head's lock, and nothing is done over a broken one
    (:class:`ChainBroken`). Then one ``audit.anchor`` event is appended: like every append it keys the head,
    and once committed it advances the anchor. None when the head is keyed and anchored already.
    """
    key = _key(session)
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    report = verify(session, upgrading=True)
    if not report.intact:
        raise ChainBroken(
            f"the audit log is broken at event {report.broken_sequence}: {report.reason}. Nothing was "
            "keyed or anchored: investigate, or restore the database from a backup.",
            details={"broken_sequence": report.broken_sequence, "reason": report.reason},
        )
    if report.events_checked == 0:
        return None
    path = session.info.get(anchor.ANCHOR)
    unkeyed = not session.scalar(select(AuditHead.mac).where(AuditHead.id == 1))
    unanchored = path is not None and anchor.read(path, key) is None
    if not (unkeyed or unanchored):
        return None
    event = record(
        session,
        actor=actor,
        action="audit.anchor",
        details={"verified_events": report.events_checked, "keyed_head": unkeyed, "wrote_anchor": unanchored},
    )
    return Anchoring(report.events_checked, unkeyed, unanchored, event.sequence)


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
