from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent


def _write_events(session: Session, count: int) -> None:
    for number in range(count):
        chain.record(
            session, actor="tester", action="member.update", target=f"member:{number}", details={"n": number}
        )


def test_intact_chain_verifies(session: Session) -> None:
    _write_events(session, 5)
    report = chain.verify(session)
    assert report.intact
    assert report.events_checked == 5


def test_edited_event_is_named_as_first_broken(session: Session) -> None:
    _write_events(session, 5)
    session.execute(update(AuditEvent).where(AuditEvent.sequence == 3).values(actor="someone else"))
    report = chain.verify(session)
    assert not report.intact
    assert report.broken_sequence == 3
    assert "changed" in (report.reason or "")


def test_edited_details_are_detected(session: Session) -> None:
    _write_events(session, 3)
    session.execute(update(AuditEvent).where(AuditEvent.sequence == 2).values(details={"n": 99}))
    assert chain.verify(session).broken_sequence == 2


def test_deleted_event_in_the_middle_is_detected(session: Session) -> None:
    _write_events(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.sequence == 2))
    report = chain.verify(session)
    assert report.broken_sequence == 2
    assert "missing" in (report.reason or "")


def test_deleted_tail_is_detected(session: Session) -> None:
    _write_events(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.sequence >= 4))
    report = chain.verify(session)
    assert not report.intact
    assert report.broken_sequence == 4


def test_rewritten_chain_without_the_key_is_detected(session: Session) -> None:
    """Someone with database access recomputes a plain SHA-256 chain: the HMAC key they lack gives them away."""
    _write_events(session, 2)
    event = session.get(AuditEvent, 1)
    assert event is not None
    event.actor = "forger"
    event.hash = chain.event_hash(b"guessed key", event)
    session.flush()
    assert chain.verify(session).broken_sequence == 1


def test_audit_verify_command_exits_1_with_the_broken_event(cli, session: Session) -> None:  # type: ignore[no-untyped-def]
    _write_events(session, 3)
    session.commit()
    assert cli("audit", "verify").exit_code == 0
    session.execute(update(AuditEvent).where(AuditEvent.sequence == 2).values(action="member.delete"))
    session.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "event 2" in result.stderr
