"""POST /api/v1/checkins and the undo: what desks (tokens and sessions) and admins are answered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import flask
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit.models import AuditEvent
from cme_tracker.vocabulary import Role, SymposiumStatus
from tests.factories import make_member, tokyo
from tests.integration.checkin_data import (
    Clock,
    Day,
    api_token,
    bearer,
    checkin,
    live_attendances,
    logged_in,
    row_counts,
)


@pytest.fixture
def clock(clock: Clock) -> Clock:
    """The app's clock at 09:42 on the symposium's day, unless a test moves it."""
    clock.at("09:42")
    return clock


@pytest.fixture
def desk(session: Session) -> dict[str, str]:
    return bearer(api_token(session))


def test_check_in_answers_201_with_what_the_desk_shows(
    client: FlaskClient, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/checkins",
        json=checkin(member_no="001002", nonce="n1"),
        headers={**desk, "Accept-Language": "ja"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "checked_in" and body["created"] is True
    assert body["member"] == {
        "member_no": "001002",
        "name": "佐藤 花子",
        "name_romaji": "SATO Hanako",
        "profession": "dentist",
        "profession_label": "歯科医師",
        "needs_review": False,
    }
    assert (body["symposium_code"], body["lecture_code"], body["timezone"]) == (
        "2026-05",
        "2026-05-L1",
        "Asia/Tokyo",
    )
    assert body["attendance"]["check_in_local"] == "2026-05-16T09:42:00+09:00"
    assert datetime.fromisoformat(body["attendance"]["check_in_at"]) == clock.now
    assert body["attendance"]["check_out_at"] is None


def test_repeat_and_retried_nonce_answer_200_already_checked_in_without_a_second_row(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    first = client.post("/api/v1/checkins", json=checkin(nonce="n1"), headers=desk)
    assert first.status_code == 201
    clock.advance(minutes=1)
    repeat = client.post("/api/v1/checkins", json=checkin(nonce="n2"), headers=desk)
    retried = client.post("/api/v1/checkins", json=checkin(nonce="n1"), headers=desk)
    for response in (repeat, retried):
        assert response.status_code == 200
        assert response.get_json()["status"] == "already_checked_in"
        assert response.get_json()["attendance"]["id"] == first.get_json()["attendance"]["id"]
        assert response.get_json()["attendance"]["check_in_local"] == "2026-05-16T09:42:00+09:00"
    assert len(live_attendances(session, day.members[0])) == 1
    assert session.scalar(select(Scan.id).where(Scan.nonce == "n2")) is not None


def test_check_out_answers_201_and_a_second_one_200_already_checked_out(
    client: FlaskClient, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    client.post("/api/v1/checkins", json=checkin(), headers=desk)
    clock.advance(minutes=40)
    out = client.post("/api/v1/checkins", json=checkin(direction="out"), headers=desk)
    assert out.status_code == 201
    assert out.get_json()["status"] == "checked_out"
    assert out.get_json()["attendance"]["check_out_local"] == "2026-05-16T10:22:00+09:00"
    again = client.post("/api/v1/checkins", json=checkin(direction="out"), headers=desk)
    assert (again.status_code, again.get_json()["status"]) == (200, "already_checked_out")


def test_out_with_nothing_open_is_409_not_checked_in_and_kept_for_a_later_offline_in(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    clock.at("10:20")
    out = client.post("/api/v1/checkins", json=checkin(direction="out", nonce="o1"), headers=desk)
    assert out.status_code == 409
    body = out.get_json()
    assert body["error"] == "not_checked_in"
    assert body["details"]["member"]["name"] == "山田 太郎"
    assert session.scalar(select(Scan.outcome).where(Scan.nonce == "o1")) == "not_checked_in"
    offline = checkin(scanned_at="2026-05-16T09:35:00", method="offline", nonce="i1")
    synced = client.post("/api/v1/checkins", json=offline, headers=desk)
    assert synced.status_code == 201
    assert synced.get_json()["attendance"]["check_in_local"] == "2026-05-16T09:35:00+09:00"
    assert synced.get_json()["attendance"]["check_out_local"] == "2026-05-16T10:20:00+09:00"


def test_desk_session_posts_with_the_csrf_header(
    client: FlaskClient, session: Session, day: Day, clock: Clock
) -> None:
    headers = logged_in(client, session, "desk1", Role.DESK)
    refused = client.post("/api/v1/checkins", json=checkin())
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf_failed"
    response = client.post("/api/v1/checkins", json=checkin(), headers=headers)
    assert response.status_code == 201
    (attendance,) = live_attendances(session, day.members[0])
    assert attendance.recorded_by == "user:desk1"
    event = session.scalar(select(AuditEvent).where(AuditEvent.target == f"attendance:{attendance.id}"))
    assert event is not None and event.actor == "user:desk1"


def test_bearer_token_needs_no_csrf_token_even_beside_a_session_cookie(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    logged_in(client, session, "desk1", Role.DESK)
    response = client.post("/api/v1/checkins", json=checkin(), headers=desk)
    assert response.status_code == 201
    (attendance,) = live_attendances(session, day.members[0])
    assert attendance.recorded_by == "token:desk-1"


def test_bearer_request_ignores_the_session_cookie_and_sets_none(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    logged_in(client, session, "admin1", Role.ADMIN)
    refused = client.post("/api/v1/checkins", json=checkin(), headers=bearer("revoked-or-made-up"))
    assert refused.status_code == 401
    response = client.post("/api/v1/checkins", json=checkin(), headers=desk)
    assert response.status_code == 201 and "Set-Cookie" not in response.headers
    assert live_attendances(session, day.members[0])[0].recorded_by == "token:desk-1"


def test_bearer_request_gets_no_cookie_session_to_sign(app: Flask) -> None:
    with app.test_request_context("/api/v1/checkins", method="POST", headers=bearer("some-token")):
        assert app.session_interface.is_null_session(flask.session)
    with app.test_request_context("/api/v1/checkins", method="POST"):
        assert not app.session_interface.is_null_session(flask.session)


def test_admin_session_corrects_attendance_after_the_symposium_was_closed(
    client: FlaskClient, session: Session, day: Day, clock: Clock
) -> None:
    day.symposium.status = SymposiumStatus.CLOSED
    session.commit()
    clock.now = tokyo(date(2026, 6, 2), "09:00")
    correction = checkin(scanned_at="2026-05-16T09:31:00+09:00", method="manual")
    desk = bearer(api_token(session))
    refused = client.post("/api/v1/checkins", json=correction, headers=desk)
    assert (refused.status_code, refused.get_json()["error"]) == (409, "symposium_closed")
    admin = logged_in(client, session, "admin1", Role.ADMIN)
    response = client.post("/api/v1/checkins", json=correction, headers=admin)
    assert response.status_code == 201
    assert response.get_json()["attendance"]["check_in_local"] == "2026-05-16T09:31:00+09:00"


def test_desk_scan_without_a_time_on_another_day_is_not_open(
    client: FlaskClient, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    clock.now = tokyo(date(2026, 5, 17), "09:00")
    response = client.post("/api/v1/checkins", json=checkin(), headers=desk)
    assert (response.status_code, response.get_json()["error"]) == (409, "not_open")
    assert response.get_json()["details"]["member"]["member_no"] == "001001"


def test_desk_undoes_a_scan_within_ten_minutes_with_a_reason(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    attendance_id = client.post("/api/v1/checkins", json=checkin(), headers=desk).get_json()["attendance"][
        "id"
    ]
    clock.advance(minutes=2)
    no_reason = client.post(f"/api/v1/attendances/{attendance_id}/void", json={}, headers=desk)
    assert (no_reason.status_code, no_reason.get_json()["error"]) == (422, "invalid")
    assert "reason" in no_reason.get_json()["details"]
    response = client.post(
        f"/api/v1/attendances/{attendance_id}/void", json={"reason": "scanned the wrong card"}, headers=desk
    )
    assert response.status_code == 200
    assert response.get_json()["void_reason"] == "scanned the wrong card"
    assert response.get_json()["voided_by"] == "token:desk-1"
    assert session.get_one(Attendance, attendance_id).voided_at is not None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.void"))
    assert event is not None and event.actor == "token:desk-1"
    again = client.post(f"/api/v1/attendances/{attendance_id}/void", json={"reason": "x"}, headers=desk)
    assert (again.status_code, again.get_json()["error"]) == (409, "already_voided")


def test_desk_cannot_undo_after_ten_minutes_but_an_admin_can(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    attendance_id = client.post("/api/v1/checkins", json=checkin(), headers=desk).get_json()["attendance"][
        "id"
    ]
    clock.advance(minutes=10, seconds=1)
    before = row_counts(session)
    late = client.post(f"/api/v1/attendances/{attendance_id}/void", json={"reason": "late"}, headers=desk)
    assert (late.status_code, late.get_json()["error"]) == (409, "too_late_to_undo")
    assert row_counts(session) == before
    clock.advance(days=30)
    admin = logged_in(client, session, "admin1", Role.ADMIN)
    response = client.post(
        f"/api/v1/attendances/{attendance_id}/void", json={"reason": "member was abroad"}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["voided_by"] == "user:admin1"


def test_desk_cannot_void_an_imported_attendance_but_an_admin_can_with_a_reason(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    imported = Attendance(
        member_id=day.members[0].id,
        symposium_id=day.symposium.id,
        lecture_id=day.lectures[0].id,
        check_in_at=clock.now - timedelta(minutes=5),
        method="import",
        created_at=clock.now,
    )
    session.add(imported)
    session.commit()
    repeat = client.post("/api/v1/checkins", json=checkin(), headers=desk)  # a repeat scan opens nothing
    assert repeat.get_json()["status"] == "already_checked_in"
    before = row_counts(session)
    refused = client.post(f"/api/v1/attendances/{imported.id}/void", json={"reason": "x"}, headers=desk)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "not_own_scan")
    assert row_counts(session) == before
    session.expire_all()
    assert session.get_one(Attendance, imported.id).voided_at is None
    admin = logged_in(client, session, "admin1", Role.ADMIN)
    no_reason = client.post(f"/api/v1/attendances/{imported.id}/void", json={"reason": " "}, headers=admin)
    assert no_reason.status_code == 422
    response = client.post(
        f"/api/v1/attendances/{imported.id}/void", json={"reason": "imported twice"}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["void_reason"] == "imported twice"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.void"))
    assert event is not None and event.actor == "user:admin1"


def test_desk_cannot_void_another_desk_s_scan(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    other = bearer(api_token(session, name="desk-2"))
    attendance_id = client.post("/api/v1/checkins", json=checkin(), headers=other).get_json()["attendance"][
        "id"
    ]
    before = row_counts(session)
    refused = client.post(f"/api/v1/attendances/{attendance_id}/void", json={"reason": "x"}, headers=desk)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "not_own_scan")
    assert row_counts(session) == before
    own = client.post(f"/api/v1/attendances/{attendance_id}/void", json={"reason": "typo"}, headers=other)
    assert own.status_code == 200


def test_desk_cannot_void_its_scan_at_a_closed_symposium(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    attendance_id = client.post("/api/v1/checkins", json=checkin(), headers=desk).get_json()["attendance"][
        "id"
    ]
    day.symposium.status = SymposiumStatus.CLOSED
    session.commit()
    before = row_counts(session)
    refused = client.post(f"/api/v1/attendances/{attendance_id}/void", json={"reason": "x"}, headers=desk)
    assert (refused.status_code, refused.get_json()["error"]) == (409, "symposium_closed")
    assert row_counts(session) == before


def test_voiding_an_unknown_attendance_is_404(client: FlaskClient, day: Day, desk: dict[str, str]) -> None:
    response = client.post("/api/v1/attendances/999999/void", json={"reason": "x"}, headers=desk)
    assert (response.status_code, response.get_json()["error"]) == (404, "unknown_attendance")


def test_desk_scan_times_may_be_sent_with_an_offset_or_in_the_symposium_zone(
    client: FlaskClient, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    utc = client.post("/api/v1/checkins", json=checkin(scanned_at="2026-05-16T00:35:00Z"), headers=desk)
    assert utc.get_json()["scanned_at_local"] == "2026-05-16T09:35:00+09:00"
    local = client.post(
        "/api/v1/checkins", json=checkin(member_no="001002", scanned_at="2026-05-16T09:36"), headers=desk
    )
    assert local.get_json()["scanned_at_local"] == "2026-05-16T09:36:00+09:00"
    assert timedelta(0) < clock.now - datetime.fromisoformat(local.get_json()["scanned_at"])


def test_a_record_merged_into_another_member_is_refused_with_the_number_to_use(
    client: FlaskClient, session: Session, day: Day, clock: Clock, desk: dict[str, str]
) -> None:
    walk_in = make_member(session, member_no="W-0001", active=False, merged_into_id=day.members[0].id)
    session.commit()
    before = row_counts(session)
    response = client.post("/api/v1/checkins", json=checkin(member_no=walk_in.member_no), headers=desk)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "merged_member" and body["details"] == {"merged_into": day.members[0].member_no}
    assert row_counts(session) == before
