"""The program under /api/v1: admins (session or admin token) read and edit symposia and lectures with
versions, preview an edit's effect on credits, and nobody else gets in. Every answer is checked against the
OpenAPI document by the test client."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.checkin_data import api_token, bearer, logged_in

SYMPOSIUM = {
    "code": "2026-11",
    "date": "2026-11-21",
    "title_ja": "第6回 学術講演会",
    "title_en": "6th CME Symposium",
    "venue": "東京",
}
LECTURE = {
    "code": "2026-11-L1",
    "starts_at": "10:00",
    "ends_at": "11:00",
    "field": "clinical",
    "title_ja": "心不全",
    "speaker": "山本 一郎",
    "excluded": ["10:30-10:40"],
}


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return bearer(api_token(session, "office-script", Role.ADMIN))


def _symposium_with_attendance(session: Session) -> Lecture:
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, make_member(session, member_no="001001"), lecture, "10:00", "11:00")
    session.commit()
    return lecture


def _etag(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def test_an_admin_token_creates_a_symposium_and_its_lectures(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/symposia", json=SYMPOSIUM, headers=admin)
    assert created.status_code == 201, created.json
    assert created.headers["ETag"] == '"1"'
    assert created.json is not None
    assert (created.json["timezone"], created.json["kind"], created.json["status"]) == (
        "Asia/Tokyo",
        "regular",
        "scheduled",
    )
    lecture = client.post("/api/v1/symposia/2026-11/lectures", json=LECTURE, headers=admin)
    assert lecture.status_code == 201, lecture.json
    assert lecture.json is not None
    assert lecture.json["excluded"] == ["10:30-10:40"]
    assert lecture.json["position"] == 1
    listed = client.get("/api/v1/symposia/2026-11/lectures", headers=admin)
    assert listed.json is not None
    assert [item["code"] for item in listed.json["items"]] == ["2026-11-L1"]
    page = client.get("/api/v1/symposia?limit=1", headers=admin)
    assert page.json is not None
    assert page.json["items"][0]["lecture_count"] == 1
    actors = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.action.in_(["symposium.create", "lecture.create"]))
    ).all()
    assert actors == ["token:office-script", "token:office-script"]


def test_invalid_program_values_are_refused_with_the_importers_reasons(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    refused = client.post(
        "/api/v1/symposia", json=SYMPOSIUM | {"timezone": "Tokyo", "code": "Nov"}, headers=admin
    )
    assert refused.status_code == 422
    assert refused.json is not None
    assert set(refused.json["details"]) == {"timezone", "code"}
    client.post("/api/v1/symposia", json=SYMPOSIUM, headers=admin)
    outside = client.post(
        "/api/v1/symposia/2026-11/lectures", json=LECTURE | {"excluded": ["11:30-11:40"]}, headers=admin
    )
    assert outside.status_code == 422
    assert outside.json is not None
    assert "outside the lecture" in outside.json["details"]["excluded"][0]
    unknown = client.post("/api/v1/symposia/2026-11/lectures", json=LECTURE | {"room": "A"}, headers=admin)
    assert unknown.status_code == 422


def test_two_edits_of_one_lecture_with_the_same_version_one_wins_the_other_gets_412(
    app: Any, session: Session, admin: dict[str, str]
) -> None:
    lecture = _symposium_with_attendance(session)
    first, second = app.test_client(), app.test_client()
    etag = first.get(f"/api/v1/lectures/{lecture.code}", headers=admin).headers["ETag"]
    assert second.get(f"/api/v1/lectures/{lecture.code}", headers=admin).headers["ETag"] == etag
    won = first.patch(
        f"/api/v1/lectures/{lecture.code}", json={"title_en": "Mine"}, headers=admin | {"If-Match": etag}
    )
    lost = second.patch(
        f"/api/v1/lectures/{lecture.code}", json={"title_en": "Theirs"}, headers=admin | {"If-Match": etag}
    )
    assert won.status_code == 200
    assert won.headers["ETag"] == '"2"'
    assert lost.status_code == 412
    assert lost.json is not None
    assert lost.json["error"] == "version_mismatch"
    assert lost.json["details"] == {"current_version": 2}
    session.expire_all()
    assert session.scalar(select(Lecture.title_en).where(Lecture.code == lecture.code)) == "Mine"


def test_an_edit_without_if_match_is_refused_with_428(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    lecture = _symposium_with_attendance(session)
    answer = client.patch(f"/api/v1/lectures/{lecture.code}", json={"title_en": "x"}, headers=admin)
    assert answer.status_code == 428


def test_a_lecture_with_attendance_cannot_be_deleted(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    lecture = _symposium_with_attendance(session)
    refused = client.delete(f"/api/v1/lectures/{lecture.code}", headers=admin | _etag(1))
    assert refused.status_code == 409
    assert refused.json is not None
    assert refused.json["error"] == "lecture_in_use"
    assert refused.json["details"]["attendances"] == 1
    assert session.scalar(select(func.count()).select_from(Lecture)) == 1


def test_a_lecture_without_attendance_is_deleted(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    make_lecture(session, symposium, "10:00", "11:00")
    session.commit()
    answer = client.delete("/api/v1/lectures/2026-05-L1", headers=admin | _etag(1))
    assert answer.status_code == 200
    assert client.get("/api/v1/lectures/2026-05-L1", headers=admin).status_code == 404


def test_the_impact_of_an_earlier_end_names_the_member_and_amounts_and_writes_nothing(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    lecture = _symposium_with_attendance(session)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    answer = client.post(f"/api/v1/lectures/{lecture.code}/impact", json={"ends_at": "10:45"}, headers=admin)
    assert answer.status_code == 200, answer.json
    assert answer.json is not None
    imsj = [change for change in answer.json["credits"] if change["policy"] == "imsj"]
    assert [(change["member_no"], change["before"], change["after"]) for change in imsj] == [
        ("001001", "1", "0.5")
    ]
    session.expire_all()
    assert session.scalar(select(Lecture.row_version).where(Lecture.code == lecture.code)) == 1
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_symposium_is_closed_and_opened_with_its_version(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    make_symposium(session, "2026-05", date(2026, 5, 16))
    session.commit()
    closed = client.post("/api/v1/symposia/2026-05/close", headers=admin | _etag(1))
    assert closed.status_code == 200
    assert closed.json is not None
    assert closed.json["status"] == "closed"
    assert client.post("/api/v1/symposia/2026-05/open", headers=admin | _etag(1)).status_code == 412
    again = client.post("/api/v1/symposia/2026-05/close", headers=admin | _etag(2))
    assert again.status_code == 409
    opened = client.post("/api/v1/symposia/2026-05/open", headers=admin | _etag(2))
    assert opened.status_code == 200
    patched = client.patch(
        "/api/v1/symposia/2026-05",
        json={"venue": "大阪"},
        headers=admin | {"If-Match": opened.headers["ETag"]},
    )
    assert patched.status_code == 200
    assert patched.json is not None
    assert patched.json["venue"] == "大阪"
    assert session.scalar(select(Symposium.row_version).where(Symposium.code == "2026-05")) == 4


def test_a_lecture_is_moved_by_its_position(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    make_lecture(session, symposium, "10:00", "11:00")
    make_lecture(session, symposium, "11:00", "12:00")
    session.commit()
    moved = client.patch("/api/v1/lectures/2026-05-L2", json={"position": 1}, headers=admin | _etag(1))
    assert moved.status_code == 200
    listed = client.get("/api/v1/symposia/2026-05/lectures", headers=admin)
    assert listed.json is not None
    assert [item["code"] for item in listed.json["items"]] == ["2026-05-L2", "2026-05-L1"]


def test_the_reissue_of_a_symposium_without_documents_says_there_is_nothing(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    lecture = _symposium_with_attendance(session)
    answer = client.post(f"/api/v1/lectures/{lecture.code}/reissue", headers=admin)
    assert answer.status_code == 422
    assert answer.json is not None
    assert answer.json["error"] == "nothing_to_reissue"


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR])
def test_desk_and_auditor_tokens_are_refused(client: FlaskClient, session: Session, role: Role) -> None:
    lecture = _symposium_with_attendance(session)
    token = bearer(api_token(session, f"{role.value}-script", role))
    assert client.get("/api/v1/symposia", headers=token).status_code == 403
    assert client.post("/api/v1/symposia", json=SYMPOSIUM, headers=token).status_code == 403
    assert (
        client.patch(f"/api/v1/lectures/{lecture.code}", json={"title_en": "x"}, headers=token | _etag(1))
    ).status_code == 403
    assert client.post(f"/api/v1/lectures/{lecture.code}/impact", json={}, headers=token).status_code == 403


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_desk_auditor_and_member_logins_are_refused(
    client: FlaskClient, session: Session, role: Role
) -> None:
    lecture = _symposium_with_attendance(session)
    member = make_member(session) if role == Role.MEMBER else None
    csrf = logged_in(client, session, f"{role.value}-person", role, member=member)
    assert client.get("/api/v1/symposia/2026-05", headers=csrf).status_code == 403
    assert client.delete(f"/api/v1/lectures/{lecture.code}", headers=csrf | _etag(1)).status_code == 403


def test_without_credentials_the_program_api_answers_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/symposia").status_code == 401
    assert client.post("/api/v1/symposia", json=SYMPOSIUM).status_code == 401


def test_an_admin_login_edits_with_its_csrf_token(client: FlaskClient, session: Session) -> None:
    csrf = logged_in(client, session, "office", Role.ADMIN)
    created = client.post("/api/v1/symposia", json=SYMPOSIUM, headers=csrf)
    assert created.status_code == 201
    (actor,) = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "symposium.create")).all()
    assert actor == "user:office"
