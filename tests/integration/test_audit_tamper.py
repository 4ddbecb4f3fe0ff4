"""The tamper cases of the audit chain: each is detected and named, on the database the tests run on.

The sessions here are anchored (a file outside the database, as the app's are), and every change is committed,
so the anchor file moves on as it does in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from cme_tracker.audit import anchor, chain
from cme_tracker.audit.anchor import Mark, head_mac
from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.cli import main
from cme_tracker.db import Database, session_factory
from tests.conftest import TEST_AUDIT_KEY, CommandLine

KEY = TEST_AUDIT_KEY.encode()


@pytest.fixture
def anchored(db: Database, tmp_path: Path) -> Database:
    """The test's database with sessions anchored in a file of the test's own."""
    sessions = session_factory(
        db.sessions.kw["bind"],
        TEST_AUDIT_KEY,
        tmp_path / "audit_anchor.json",
        join_transaction_mode="create_savepoint",
    )
    return Database(engine=db.engine, sessions=sessions)


@pytest.fixture
def log(anchored: Database) -> Iterator[Session]:
    with anchored.sessions() as session:
        yield session


def _append(session: Session, count: int) -> list[int]:
    """Appends ``count`` events, each in a committed transaction of its own, as changes do."""
    sequences = []
    for number in range(count):
        event = chain.record(
            session, actor="tester", action="member.update", target=f"member:{number}", details={"n": number}
        )
        session.commit()
        sequences.append(event.sequence)
    return sequences


def _broken(session: Session) -> chain.ChainReport:
    session.commit()
    report = chain.verify(session)
    assert not report.intact
    return report


def _cut_after(session: Session, kept: int) -> str:
    """Deletes every event after ``kept``; the kept event's hash."""
    session.execute(delete(AuditEvent).where(AuditEvent.sequence > kept))
    return session.scalar(select(AuditEvent.hash).where(AuditEvent.sequence == kept)) or chain.GENESIS_HASH


def test_an_untouched_anchored_chain_is_intact(log: Session) -> None:
    sequences = _append(log, 4)
    report = chain.verify(log)
    assert report.intact
    assert report.events_checked == sequences[-1]


def test_edited_actor(log: Session) -> None:
    sequences = _append(log, 5)
    log.execute(update(AuditEvent).where(AuditEvent.sequence == sequences[2]).values(actor="someone else"))
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (
        sequences[2],
        "its content was changed after it was written",
    )


def test_edited_details(log: Session) -> None:
    sequences = _append(log, 5)
    log.execute(update(AuditEvent).where(AuditEvent.sequence == sequences[1]).values(details={"n": 99}))
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (
        sequences[1],
        "its content was changed after it was written",
    )


def test_edited_time(log: Session) -> None:
    sequences = _append(log, 5)
    event = log.get(AuditEvent, sequences[3])
    assert event is not None
    event.occurred_at = event.occurred_at - timedelta(days=1)
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (
        sequences[3],
        "its content was changed after it was written",
    )


def test_deleted_in_the_middle(log: Session) -> None:
    sequences = _append(log, 5)
    log.execute(delete(AuditEvent).where(AuditEvent.sequence == sequences[2]))
    report = _broken(log)
    assert report.broken_sequence == sequences[2]
    assert report.reason == f"event {sequences[2]} is missing (deleted from the log)"


def test_renumbered_after_a_deletion(log: Session) -> None:
    """An event is deleted and the later ones renumbered down, the head too: no gap, but the links break."""
    sequences = _append(log, 5)
    log.execute(delete(AuditEvent).where(AuditEvent.sequence == sequences[2]))
    for sequence in sequences[3:]:
        log.execute(update(AuditEvent).where(AuditEvent.sequence == sequence).values(sequence=sequence - 1))
    log.execute(update(AuditHead).values(sequence=AuditHead.sequence - 1))
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (sequences[2], "does not link to the event before it")


def test_cut_tail_without_fixing_the_head(log: Session) -> None:
    sequences = _append(log, 5)
    _cut_after(log, sequences[2])
    report = _broken(log)
    assert report.broken_sequence == sequences[3]
    assert report.reason == "events after this point were deleted (the head names more)"


def test_cut_tail_fixing_the_head(log: Session) -> None:
    """The head row is set to the last kept event's sequence and hash (finding 1): its key gives it away."""
    sequences = _append(log, 5)
    kept_hash = _cut_after(log, sequences[2])
    log.execute(update(AuditHead).values(sequence=sequences[2], hash=kept_hash))
    report = _broken(log)
    assert report.broken_sequence == sequences[3]
    assert report.reason == "the head row was rewritten (it is not keyed with the audit key)"


def test_wiped_table(log: Session) -> None:
    """Every event deleted and the head set back to the genesis (finding 1): the anchor outside remembers."""
    sequences = _append(log, 3)
    log.execute(delete(AuditEvent))
    log.execute(update(AuditHead).values(sequence=0, hash=chain.GENESIS_HASH, mac=None))
    report = _broken(log)
    assert (report.events_checked, report.broken_sequence) == (0, 1)
    assert report.reason == (
        f"events after this point were deleted (the anchor outside the database names event {sequences[-1]})"
    )


def test_forged_appended_event(log: Session) -> None:
    """An event appended by hand, linked to the last one and hashed with a guessed key, the head moved on."""
    sequences = _append(log, 3)
    last = log.get(AuditEvent, sequences[-1])
    assert last is not None
    forged = {
        "sequence": last.sequence + 1,
        "occurred_at": last.occurred_at,
        "actor": "forger",
        "action": "member.update",
        "target": "member:1",
        "details": {},
        "previous_hash": last.hash,
    }
    forged_event = AuditEvent(**forged)
    forged["hash"] = chain.event_hash(b"guessed key", forged_event)
    log.execute(insert(AuditEvent).values(forged))
    log.execute(update(AuditHead).values(sequence=last.sequence + 1, hash=forged["hash"]))
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (
        last.sequence + 1,
        "its content was changed after it was written",
    )


def test_deleted_head_row(log: Session) -> None:
    sequences = _append(log, 3)
    log.execute(delete(AuditHead))
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (sequences[-1] + 1, "the head row was deleted")


def test_restored_old_head(log: Session) -> None:
    """The tail cut and the head row restored as it was before (validly keyed, e.g. from a backup): the
    anchor outside the database names the newer events."""
    sequences = _append(log, 2)
    old_head = log.execute(select(AuditHead.sequence, AuditHead.hash, AuditHead.mac)).one()
    later = _append(log, 3)
    _cut_after(log, old_head.sequence)
    log.execute(update(AuditHead).values(sequence=old_head.sequence, hash=old_head.hash, mac=old_head.mac))
    report = _broken(log)
    assert (report.events_checked, report.broken_sequence) == (sequences[-1], sequences[-1] + 1)
    assert report.reason == (
        f"events after this point were deleted (the anchor outside the database names event {later[-1]})"
    )


def test_a_tail_cut_and_rewritten_with_the_key_is_caught_by_the_anchor(log: Session, tmp_path: Path) -> None:
    """Someone holding the audit key too cuts and rewrites the tail and keys the head: the anchor names
    another hash."""
    sequences = _append(log, 3)
    kept = sequences[1]
    kept_hash = _cut_after(log, kept)
    log.execute(
        update(AuditHead).values(sequence=kept, hash=kept_hash, mac=head_mac(KEY, Mark(kept, kept_hash)))
    )
    log.commit()
    replacement = chain.record(log, actor="tester", action="member.update", target="member:x", details={})
    log.rollback()  # the anchor does not move for an append that did not commit
    anchor.flush()
    written = json.loads((tmp_path / "audit_anchor.json").read_text())
    assert written["sequence"] == sequences[-1]
    assert replacement.sequence == sequences[-1]
    chain.record(log, actor="tester", action="member.update", target="member:x", details={})
    log.commit()
    report = _broken(log)
    assert (report.broken_sequence, report.reason) == (
        sequences[-1],
        "the log was rewritten (the anchor outside the database names another hash)",
    )


def test_an_anchor_behind_the_head_is_accepted_when_the_chain_extends_it(
    log: Session, tmp_path: Path
) -> None:
    """Another process may commit after this one but write the anchor first: behind is fine."""
    sequences = _append(log, 2)
    anchor.flush()
    behind = (tmp_path / "audit_anchor.json").read_text()
    _append(log, 2)
    anchor.flush()
    (tmp_path / "audit_anchor.json").write_text(behind)
    assert chain.verify(log).intact
    assert json.loads(behind)["sequence"] == sequences[-1]


def test_a_forged_anchor_file_is_named(log: Session, tmp_path: Path) -> None:
    _append(log, 2)
    anchor.flush()
    (tmp_path / "audit_anchor.json").write_text(
        json.dumps({"sequence": 1, "hash": "0" * 64, "mac": "0" * 64})
    )
    assert _broken(log).reason == "the anchor file outside the database is not keyed with the audit key"


def test_audit_verify_names_a_wiped_table(anchored: Database, log: Session) -> None:
    _append(log, 2)
    cli = CommandLine(anchored)
    assert cli("audit", "verify").exit_code == 0
    log.execute(delete(AuditEvent))
    log.execute(update(AuditHead).values(sequence=0, hash=chain.GENESIS_HASH, mac=None))
    log.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "audit log broken at event 1: events after this point were deleted" in result.stderr


# Upgrading: `cme-tracker audit anchor` ---------------------------------------------------------------------


def _as_before_the_upgrade(session: Session, path: Path) -> None:
    """What migration 0007 leaves of a log written before the head was keyed: an empty mac, no anchor."""
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(mac=None))
    session.commit()
    anchor.flush()
    path.unlink()


def test_audit_anchor_keys_an_upgraded_head_writes_the_anchor_and_verify_then_reports_intact(
    anchored: Database, log: Session, tmp_path: Path
) -> None:
    sequences = _append(log, 3)
    path = tmp_path / "audit_anchor.json"
    _as_before_the_upgrade(log, path)
    assert _broken(log).reason == "the head row was rewritten (it is not keyed with the audit key)"

    result = CliRunner().invoke(main, ["audit", "anchor"], obj=anchored)

    assert result.exit_code == 0, result.output
    assert result.output == (
        f"verified {sequences[-1]} events; keyed the head and wrote the anchor at event {sequences[-1] + 1} "
        "(audit.anchor)\n"
    )
    log.expire_all()
    newest = log.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1)).one()
    assert (newest.actor, newest.action) == ("cme-tracker audit anchor", "audit.anchor")
    assert newest.details == {"verified_events": sequences[-1], "keyed_head": True, "wrote_anchor": True}
    assert json.loads(path.read_text())["sequence"] == newest.sequence
    verified = CliRunner().invoke(main, ["audit", "verify"], obj=anchored)
    assert (verified.exit_code, verified.output) == (0, f"audit log intact: {newest.sequence} events\n")
    again = CliRunner().invoke(main, ["audit", "anchor"], obj=anchored)
    assert (again.exit_code, again.output) == (0, "audit log already keyed and anchored: nothing to do\n")


def test_audit_anchor_refuses_a_broken_chain_and_writes_nothing(
    anchored: Database, log: Session, tmp_path: Path
) -> None:
    sequences = _append(log, 4)
    _as_before_the_upgrade(log, tmp_path / "audit_anchor.json")
    log.execute(update(AuditEvent).where(AuditEvent.sequence == sequences[1]).values(actor="someone else"))
    log.commit()

    result = CliRunner().invoke(main, ["audit", "anchor"], obj=anchored)

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: the audit log is broken at event {sequences[1]}: its content was changed after it was"
    )
    log.expire_all()
    assert log.scalar(select(func.max(AuditEvent.sequence))) == sequences[-1]
    assert log.scalar(select(AuditHead.mac)) is None
    assert not (tmp_path / "audit_anchor.json").exists()


def test_audit_anchor_does_not_key_a_cut_tail_whose_head_was_emptied_by_hand(
    log: Session, anchored: Database
) -> None:
    sequences = _append(log, 5)
    kept_hash = _cut_after(log, sequences[2])
    log.execute(update(AuditHead).values(sequence=sequences[2], hash=kept_hash, mac=None))
    log.commit()

    result = CliRunner().invoke(main, ["audit", "anchor"], obj=anchored)

    assert result.exit_code == 1
    assert f"names event {sequences[-1]}" in result.stderr
    log.expire_all()
    assert log.scalar(select(AuditHead.mac)) is None
