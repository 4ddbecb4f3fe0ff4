from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from tests.conftest import CommandLine


def _write_events(session: Session, count: int) -> list[int]:
    """Appends ``count`` events and returns their sequence numbers."""
    return [
        chain.record(
            session, actor="tester", action="member.update", target=f"member:{number}", details={"n": number}
        ).sequence
        for number in range(count)
    ]


def test_intact_chain_verifies(session: Session) -> None:
    before = chain.verify(session).events_checked
    _write_events(session, 5)
    report = chain.verify(session)
    assert report.intact
    assert report.events_checked == before + 5


def test_edited_event_is_named_as_first_broken(session: Session) -> None:
    sequences = _write_events(session, 5)
    session.execute(
        update(AuditEvent).where(AuditEvent.sequence == sequences[2]).values(actor="someone else")
    )
    report = chain.verify(session)
    assert not report.intact
    assert report.broken_sequence == sequences[2]
    assert "changed" in (report.reason or "")


def test_edited_details_are_detected(session: Session) -> None:
    sequences = _write_events(session, 3)
    session.execute(update(AuditEvent).where(AuditEvent.sequence == sequences[1]).values(details={"n": 99}))
    assert chain.verify(session).broken_sequence == sequences[1]


def test_deleted_event_in_the_middle_is_detected(session: Session) -> None:
    sequences = _write_events(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.sequence == sequences[1]))
    report = chain.verify(session)
    assert report.broken_sequence == sequences[1]
    assert "missing" in (report.reason or "")


def test_deleted_tail_is_detected(session: Session) -> None:
    sequences = _write_events(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.sequence >= sequences[3]))
    report = chain.verify(session)
    assert not report.intact
    assert report.broken_sequence == sequences[3]


def test_rewritten_chain_without_the_key_is_detected(session: Session) -> None:
    """Someone with database access rewrites an event and its hash with a key of their own: detected."""
    sequences = _write_events(session, 2)
    event = session.get(AuditEvent, sequences[0])
    assert event is not None
    event.actor = "forger"
    event.hash = chain.event_hash(b"guessed key", event)
    session.flush()
    assert chain.verify(session).broken_sequence == sequences[0]


def test_audit_verify_command_exits_1_with_the_broken_event(cli: CommandLine, session: Session) -> None:
    sequences = _write_events(session, 3)
    session.commit()
    assert cli("audit", "verify").exit_code == 0
    session.execute(
        update(AuditEvent).where(AuditEvent.sequence == sequences[1]).values(action="member.delete")
    )
    session.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"event {sequences[1]}:" in result.stderr
