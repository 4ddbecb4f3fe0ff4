"""The signed audit chain checkpoint the XLSX, JSON and ZIP exports carry, and checking it against the log.

The checkpoint names the chain's head when the export was made: if events are later cut off the tail of the
log, the signed sequence and hash no longer match it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.chain import head as chain_head
from cme_tracker.audit.chain import verify
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import utcnow
from cme_tracker.documents.identity import SigningIdentity
from cme_tracker.exports.sinks import SignedCheckpoint

CHECKPOINT_KIND = "cme-tracker audit checkpoint"


def audit_checkpoint(
    session: Session, identity: SigningIdentity, *, year: int, basis: str
) -> SignedCheckpoint:
    """The chain's head (sequence and hash) and the time, as JSON signed by the society key."""
    sequence, head_hash = chain_head(session)
    document = {
        "kind": CHECKPOINT_KIND,
        "sequence": sequence,
        "hash": head_hash,
        "time": utcnow().isoformat(timespec="seconds"),
        "export": {"year": year, "year_basis": basis},
    }
    data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    # deferred: pyHanko is heavy, loaded only when an export is signed, not by every web worker
    from cme_tracker.documents.signing import sign_detached

    return SignedCheckpoint(sequence, data, sign_detached(data, identity))


def check_checkpoint(session: Session, document: bytes) -> str | None:
    """Why the database's audit log does not extend the checkpoint, or None when it does.

    The chain must be intact and still hold the checkpoint's event with the same hash; the checkpoint's own
    signature is checked with ``openssl cms -verify`` (see the README).
    """
    try:
        checkpoint: dict[str, Any] = json.loads(document)
        sequence, expected = int(checkpoint["sequence"]), str(checkpoint["hash"])
    except (ValueError, KeyError, TypeError):
        return "not an audit checkpoint"
    if checkpoint.get("kind") != CHECKPOINT_KIND:
        return "not an audit checkpoint"
    report = verify(session)
    if not report.intact:
        return f"the audit log is broken at event {report.broken_sequence}: {report.reason}"
    if sequence == 0:
        return None
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.sequence == sequence))
    if found is None:
        return f"event {sequence} is missing: the log was cut after the export"
    if found != expected:
        return f"event {sequence} has another hash than at the export: the log was rewritten"
    return None
