"""The check-in service: scans apply in scan-time order, never twice, within the symposium's day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.api.responses import scan_result_json
from cme_tracker.attendance.checkin.rules import PENDING_OUT, Refusal, ScanRequest, ScanResult
from cme_tracker.attendance.checkin.service import record_scan, void_attendance
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.credits.services import member_credits
from cme_tracker.errors import DomainError
from cme_tracker.members.cards import card_payload, issue_new_card
from cme_tracker.vocabulary import SymposiumStatus
from tests.factories import make_lecture, make_member, make_symposium, tokyo
from tests.integration.checkin_data import DAY, SECRET, Clock, Day, live_attendances, row_counts


@pytest.fixture
def clock(clock: Clock) -> Clock:
    """The scans are taken at 10:00 on the symposium's day, unless a test moves the clock."""
    clock.at("10:00")
    return clock


def scan(session: Session, clock: Clock, **fields: Any) -> ScanResult:
    result = scan_request(session, clock, **fields)
    session.commit()
    return result


def scan_request(
    session: Session,
    clock: Clock,
    *,
    privileged: bool = False,
    operator: str = "token:desk-1",
    before_write: Callable[[Session], None] | None = None,
    **fields: Any,
) -> ScanResult:
    """One scan, received at the clock's time, not committed."""
    values: dict[str, Any] = {"member_no": "001001", "lecture_code": "2026-05-L1", "direction": "in"}
    values.update(fields)
    return record_scan(
        session,
        ScanRequest(**values),
        card_secret=SECRET,
        operator=operator,
        now=clock.now,
        privileged=privileged,
        before_write=before_write,
    )


def refused(session: Session, clock: Clock, **fields: Any) -> DomainError:
    before = row_counts(session)
    with pytest.raises(DomainError) as caught:
        scan(session, clock, **fields)
    session.rollback()
    assert row_counts(session) == before
    return caught.value


def at(hhmm: str, day: date = DAY) -> Any:
    return tokyo(day, hhmm)


def test_first_scan_checks_in_and_writes_scan_and_audit_event(
    session: Session, day: Day, clock: Clock
) -> None:
    result = scan(session, clock, nonce="n-1", desk="east", method="search")
    assert (result.status, result.created) == ("checked_in", True)
    assert result.attendance is not None and result.attendance.check_in_at == clock.now
    attendance = session.get_one(Attendance, result.attendance.id)
    assert (attendance.method, attendance.desk, attendance.recorded_by) == ("search", "east", "token:desk-1")
    recorded = session.scalar(select(Scan).where(Scan.nonce == "n-1"))
    assert (
        recorded is not None and recorded.outcome == "checked_in" and recorded.attendance_id == attendance.id
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.target == f"attendance:{attendance.id}"))
    assert event is not None
    assert (event.action, event.actor) == ("attendance.in", "token:desk-1")
    assert event.details["member_no"] == "001001" and event.details["nonce"] == "n-1"
    assert chain.verify(session).intact


def test_second_scan_of_same_member_is_reported_not_duplicated(
    session: Session, day: Day, clock: Clock
) -> None:
    first = scan(session, clock, nonce="a")
    clock.advance(minutes=3)
    second = scan(session, clock, nonce="b")
    assert (second.status, second.created) == ("already_checked_in", False)
    assert second.attendance == first.attendance
    assert len(live_attendances(session, day.members[0])) == 1
    assert session.scalar(select(Scan.outcome).where(Scan.nonce == "b")) == "already_checked_in"


def test_retried_nonce_answers_like_the_first_time_even_after_a_check_out(
    session: Session, day: Day, clock: Clock
) -> None:
    first = scan(session, clock, nonce="retry-me")
    clock.advance(minutes=20)
    scan(session, clock, direction="out")
    clock.advance(minutes=5)
    before = row_counts(session)
    retried = scan(session, clock, nonce="retry-me")
    assert retried.status == "already_checked_in" and not retried.created
    assert retried.attendance is not None and first.attendance is not None
    assert retried.attendance.id == first.attendance.id
    assert row_counts(session) == before
    assert len(live_attendances(session, day.members[0])) == 1


def test_attendance_opened_by_another_desk_after_the_reads_makes_the_scan_a_repeat(
    session: Session, day: Day, clock: Clock
) -> None:
    """Reads happen before the write lock (SQLite) or without locks (PostgreSQL): a stale decision to open
    is taken again, and answers with the other desk's attendance."""
    other_desk: list[ScanResult] = []

    def other_desk_first(session: Session) -> None:
        other_desk.append(scan_request(session, clock, nonce="east"))

    result = scan_request(session, clock, nonce="west", before_write=other_desk_first)
    session.commit()
    assert (result.status, result.created) == ("already_checked_in", False)
    assert other_desk[0].attendance is not None and result.attendance == other_desk[0].attendance
    assert len(live_attendances(session, day.members[0])) == 1
    assert session.scalar(select(Scan.outcome).where(Scan.nonce == "west")) == "already_checked_in"
    assert chain.verify(session).intact


def test_nonce_used_by_another_scan_after_the_reads_is_refused_and_nothing_is_written(
    session: Session, day: Day, clock: Clock
) -> None:
    def twin_first(session: Session) -> None:
        scan_request(session, clock, member_no="001002", nonce="twin")

    before = row_counts(session)
    with pytest.raises(DomainError) as caught:
        scan_request(session, clock, nonce="twin", before_write=twin_first)
    session.rollback()
    assert caught.value.code == "nonce_reused"
    assert row_counts(session) == before


def test_check_out_closes_the_open_attendance_and_a_second_one_is_already_checked_out(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("09:40")
    opened = scan(session, clock)
    clock.at("10:20")
    closed = scan(session, clock, direction="out")
    assert (closed.status, closed.created) == ("checked_out", True)
    assert closed.attendance is not None and opened.attendance is not None
    assert closed.attendance.id == opened.attendance.id
    assert closed.attendance.check_out_at == at("10:20")
    clock.at("10:21")
    again = scan(session, clock, direction="out")
    assert (again.status, again.created) == ("already_checked_out", False)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)).all()
    assert actions[-2:] == ["attendance.in", "attendance.out"]


def test_member_who_checked_out_and_comes_back_starts_a_new_attendance(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("09:30")
    scan(session, clock)
    clock.at("09:50")
    scan(session, clock, direction="out")
    clock.at("10:00")
    back = scan(session, clock)
    assert back.status == "checked_in"
    spans = [(a.check_in_at, a.check_out_at) for a in live_attendances(session, day.members[0])]
    assert spans == [(at("09:30"), at("09:50")), (at("10:00"), None)]


def test_offline_in_synced_after_a_later_out_is_closed_by_it_and_credits_use_the_scan_times(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("11:50")
    pending = scan(session, clock, lecture_code="2026-05-L2", direction="out", nonce="out-online")
    assert (pending.status, pending.attendance) == (PENDING_OUT, None)
    assert session.scalar(select(Scan.outcome).where(Scan.nonce == "out-online")) == PENDING_OUT
    synced = scan(
        session, clock, lecture_code="2026-05-L2", scanned_at=at("10:50"), method="offline", nonce="in-off"
    )
    assert (synced.status, synced.created) == ("checked_in", True)
    assert synced.attendance is not None
    assert (synced.attendance.check_in_at, synced.attendance.check_out_at) == (at("10:50"), at("11:50"))
    out_scan = session.scalar(select(Scan).where(Scan.nonce == "out-online"))
    assert out_scan is not None and out_scan.outcome == "checked_out"
    assert out_scan.attendance_id == synced.attendance.id
    credits = member_credits(session, day.members[0], 2026)
    (line,) = credits.lines
    assert (line.lecture_code, line.minutes) == ("2026-05-L2", 60)
    assert credits.policies["imsj"].by_field["basic_medicine"] == 1


def test_earlier_offline_in_moves_the_open_check_in_earlier_and_is_audited(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("10:00")
    online = scan(session, clock)
    offline = scan(session, clock, scanned_at=at("09:35"), method="offline")
    assert (offline.status, offline.created) == ("already_checked_in", False)
    assert offline.attendance is not None and online.attendance is not None
    assert offline.attendance.id == online.attendance.id
    (attendance,) = live_attendances(session, day.members[0])
    assert attendance.check_in_at == at("09:35")
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1))
    assert event is not None and event.action == "attendance.in_earlier"
    assert datetime.fromisoformat(event.details["previous_check_in_at"]) == at("10:00")


def test_offline_in_inside_a_closed_presence_is_a_repeat_not_a_new_open_attendance(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("09:30")
    scan(session, clock)
    clock.at("10:00")
    scan(session, clock, direction="out")
    late = scan(session, clock, scanned_at=at("09:45"), method="offline")
    assert late.status == "already_checked_in"
    spans = [(a.check_in_at, a.check_out_at) for a in live_attendances(session, day.members[0])]
    assert spans == [(at("09:30"), at("10:00"))]


def test_offline_out_synced_after_a_later_out_leaves_the_later_one_standing(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("09:30")
    scan(session, clock)
    clock.at("10:10")
    scan(session, clock, direction="out")
    late = scan(session, clock, direction="out", scanned_at=at("09:50"), method="offline")
    assert late.status == "already_checked_out"
    assert [a.check_out_at for a in live_attendances(session, day.members[0])] == [at("10:10")]


def test_whole_day_attendance_is_kept_apart_from_lecture_attendance(
    session: Session, day: Day, clock: Clock
) -> None:
    lecture = scan(session, clock)
    whole_day = scan(session, clock, lecture_code=None, symposium_code="2026-05")
    assert whole_day.status == "checked_in"
    assert whole_day.target.lecture_id is None and whole_day.target.code == "2026-05"
    assert lecture.attendance is not None and whole_day.attendance is not None
    assert lecture.attendance.id != whole_day.attendance.id
    assert scan(session, clock, lecture_code=None, symposium_code="2026-05").status == "already_checked_in"


def test_a_signed_card_checks_its_member_in(session: Session, day: Day, clock: Clock) -> None:
    result = scan(session, clock, member_no=None, card=card_payload(SECRET, day.members[1]))
    assert result.status == "checked_in"
    assert result.member.member_no == "001002"
    assert session.scalar(select(Scan.method).where(Scan.member_id == day.members[1].id)) == "qr"


def test_tampered_forged_and_replaced_cards_are_refused(session: Session, day: Day, clock: Clock) -> None:
    genuine = card_payload(SECRET, day.members[0])
    tampered = genuine.replace("IMSJ-001001-", "IMSJ-001002-")
    assert refused(session, clock, member_no=None, card=tampered).code == "unknown_card"
    assert (
        refused(session, clock, member_no=None, card="IMSJ-001001-1-AAAAAAAAAAAAAAAA").code == "unknown_card"
    )
    assert refused(session, clock, member_no=None, card="hello").code == "unknown_card"
    issue_new_card(session, day.members[0], actor="test")
    session.commit()
    error = refused(session, clock, member_no=None, card=genuine)
    assert (error.code, error.http_status) == ("card_replaced", 404)


def test_unknown_member_lecture_and_symposium_are_404(session: Session, day: Day, clock: Clock) -> None:
    assert refused(session, clock, member_no="999999").code == "unknown_member"
    assert refused(session, clock, lecture_code="2026-05-L9").code == "unknown_lecture"
    assert refused(session, clock, lecture_code=None, symposium_code="2026-09").code == "unknown_symposium"


def test_lecture_of_another_symposium_is_refused(session: Session, day: Day, clock: Clock) -> None:
    error = refused(session, clock, lecture_code="2026-07-L1", symposium_code="2026-05")
    assert (error.code, error.http_status) == ("lecture_not_in_symposium", 422)


def test_scan_on_another_date_is_not_open(session: Session, day: Day, clock: Clock) -> None:
    clock.at("09:00", DAY + timedelta(days=1))
    error = refused(session, clock)
    assert (error.code, error.http_status) == ("not_open", 409)
    assert isinstance(error.details, Refusal) and error.details.member.member_no == "001001"
    clock.at("12:00")
    assert refused(session, clock, scanned_at=at("12:00", DAY - timedelta(days=1))).code == "not_open"


def test_check_in_after_the_lecture_ended_is_refused_but_check_out_is_not(
    session: Session, day: Day, clock: Clock
) -> None:
    clock.at("10:00")
    scan(session, clock)
    clock.at("10:31")
    assert refused(session, clock, member_no="001002").code == "lecture_over"
    assert scan(session, clock, direction="out").status == "checked_out"


def test_closed_symposium_refuses_desk_scans(session: Session, day: Day, clock: Clock) -> None:
    day.symposium.status = SymposiumStatus.CLOSED
    session.commit()
    error = refused(session, clock)
    assert (error.code, error.http_status) == ("symposium_closed", 409)


def test_admin_correction_records_another_date_and_a_closed_symposium(
    session: Session, day: Day, clock: Clock
) -> None:
    day.symposium.status = SymposiumStatus.CLOSED
    session.commit()
    clock.at("09:00", date(2026, 6, 1))
    result = scan(
        session, clock, privileged=True, operator="user:admin", scanned_at=at("09:40"), method="manual"
    )
    assert result.status == "checked_in"
    assert result.attendance is not None and result.attendance.check_in_at == at("09:40")
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1))
    assert event is not None and event.actor == "user:admin"


def test_scan_time_in_the_future_is_refused(session: Session, day: Day, clock: Clock) -> None:
    assert refused(session, clock, scanned_at=clock.now + timedelta(minutes=5)).code == "invalid"


def test_naive_scan_time_is_wall_clock_time_in_the_symposium_zone(session: Session, clock: Clock) -> None:
    berlin = make_symposium(session, "2026-06", date(2026, 6, 20), timezone="Europe/Berlin")
    make_lecture(session, berlin, "10:00", "12:00")
    session.commit()
    clock.now = tokyo(date(2026, 6, 20), "20:00")  # 13:00 in Berlin
    make_member(session, member_no="002001")
    naive = tokyo(date(2026, 6, 20), "10:15").replace(tzinfo=None)
    result = scan(
        session, clock, member_no="002001", lecture_code="2026-06-L1", direction="out", scanned_at=naive
    )
    assert result.scanned_at == tokyo(date(2026, 6, 20), "17:15")
    assert scan_result_json(result, "en")["scanned_at_local"] == "2026-06-20T10:15:00+02:00"


def test_desk_may_void_within_ten_minutes_with_a_reason_and_it_is_audited(
    session: Session, day: Day, clock: Clock
) -> None:
    result = scan(session, clock)
    assert result.attendance is not None
    attendance = session.get_one(Attendance, result.attendance.id)
    with pytest.raises(DomainError) as no_reason:
        void_attendance(
            session,
            attendance,
            reason="  ",
            operator="token:desk-1",
            now=clock.now,
            privileged=False,
        )
    assert no_reason.value.code == "reason_required"
    clock.advance(minutes=9)
    void_attendance(
        session,
        attendance,
        reason="wrong person",
        operator="token:desk-1",
        now=clock.now,
        privileged=False,
    )
    assert (attendance.voided_by, attendance.void_reason) == ("token:desk-1", "wrong person")
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1))
    assert event is not None and (event.action, event.details["reason"]) == (
        "attendance.void",
        "wrong person",
    )
    assert live_attendances(session, day.members[0]) == []
    assert scan(session, clock).status == "checked_in"


def test_desk_may_not_void_after_ten_minutes_but_an_admin_may(
    session: Session, day: Day, clock: Clock
) -> None:
    result = scan(session, clock)
    assert result.attendance is not None
    attendance = session.get_one(Attendance, result.attendance.id)
    clock.advance(minutes=11)
    with pytest.raises(DomainError) as late:
        void_attendance(
            session,
            attendance,
            reason="typo",
            operator="token:desk-1",
            now=clock.now,
            privileged=False,
        )
    assert late.value.code == "too_late_to_undo"
    assert attendance.voided_at is None
    void_attendance(
        session, attendance, reason="duplicate import", operator="user:admin", now=clock.now, privileged=True
    )
    assert attendance.voided_at is not None
    with pytest.raises(DomainError) as twice:
        void_attendance(
            session, attendance, reason="again", operator="user:admin", now=clock.now, privileged=True
        )
    assert twice.value.code == "already_voided"


def test_scan_audit_events_chain_with_the_audit_log_s_own_appends(
    session: Session, day: Day, clock: Clock
) -> None:
    chain.record(session, actor="test", action="before", details={"when": clock.now})
    scan(session, clock, nonce="in")
    chain.record(session, actor="test", action="between")
    clock.advance(minutes=30)
    scan(session, clock, direction="out", nonce="out")
    scan(
        session,
        clock,
        scanned_at=at("09:31"),
        lecture_code="2026-05-L1",
        member_no="001002",
        method="offline",
    )
    chain.record(session, actor="test", action="after")
    session.commit()
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)).all()
    assert actions[-6:] == ["before", "attendance.in", "between", "attendance.out", "attendance.in", "after"]
    report = chain.verify(session)
    assert report.intact, report.reason
    assert report.events_checked == len(actions)
