"""Walk-ins registered at the desk: a member flagged for review, audited, or nothing at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.desk.walkins import WalkIn, register_walk_in
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.vocabulary import Profession, Role
from tests.factories import make_member, make_symposium
from tests.integration.web_login import csrf_token, log_in, make_login

GUEST = {
    "family_name": "鈴木",
    "given_name": "花子",
    "family_name_kana": "スズキ",
    "given_name_kana": "ハナコ",
    "family_name_romaji": "Suzuki",
    "given_name_romaji": "Hanako",
    "profession": "physician",
    "registry_no": "512345",
}


def _desk(client: FlaskClient, session: Session, role: Role = Role.DESK) -> str:
    make_login(session, "clerk", role, member=make_member(session) if role == Role.MEMBER else None)
    log_in(client, "clerk")
    return csrf_token(client, "/")


def _post(client: FlaskClient, token: str, body: Any) -> Any:
    return client.post("/desk/walk-ins", json=body, headers={"X-CSRFToken": token})


def _walk_ins(session: Session) -> list[Member]:
    return list(session.scalars(select(Member).where(Member.member_no.startswith("W"))))


def _audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_walk_in_becomes_a_member_flagged_for_review_with_an_audit_event(
    client: FlaskClient, session: Session
) -> None:
    token = _desk(client, session)
    response = _post(client, token, {**GUEST, "desk": "Desk A"})
    assert response.status_code == 201
    answer = response.get_json()["member"]
    today = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y%m%d")
    assert answer["member_no"] == f"W{today}-001"
    assert answer["needs_review"] is True
    assert answer["name"] == "鈴木 花子"
    member = session.scalar(select(Member).where(Member.member_no == answer["member_no"]))
    assert member is not None
    assert member.needs_review
    assert member.medical_registry_no == "512345"
    assert member.dental_registry_no is None
    assert member in search_members(session, "すずき はなこ")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.walk_in"))
    assert event is not None
    assert event.actor == "clerk"
    assert event.target == f"member:{answer['member_no']}"
    assert event.details["desk"] == "Desk A"


def test_walk_ins_of_one_day_are_numbered_in_sequence(client: FlaskClient, session: Session) -> None:
    token = _desk(client, session)
    first = _post(client, token, GUEST).get_json()["member"]["member_no"]
    second = _post(client, token, {**GUEST, "registry_no": "512346"}).get_json()["member"]["member_no"]
    assert first.endswith("-001")
    assert second == first.removesuffix("-001") + "-002"


def test_walk_in_number_carries_the_date_where_the_symposium_is_held(session: Session) -> None:
    """At 01:00 in Tokyo on 16 May it is still 15 May in Berlin."""
    symposium = make_symposium(session, "2026-B", timezone="Europe/Berlin")
    guest = WalkIn("Müller", "Anna", "Müller", "Anna", Profession.OTHER)
    now = datetime(2026, 5, 15, 16, 0, tzinfo=UTC)
    member = register_walk_in(session, guest, actor="clerk", symposium=symposium, now=now)
    assert member.member_no == "W20260515-001"


def test_a_latin_name_needs_no_separate_romaji(client: FlaskClient, session: Session) -> None:
    token = _desk(client, session)
    body = {"family_name": "Schmidt", "given_name": "Jörg", "profession": "other"}
    response = _post(client, token, body)
    assert response.status_code == 201
    assert response.get_json()["member"]["name_romaji"] == "SCHMIDT Jörg"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GUEST, "family_name": ""}, "family_name"),
        ({**GUEST, "given_name_romaji": "", "family_name_romaji": ""}, "family_name_romaji"),
        ({**GUEST, "family_name_kana": "suzuki"}, "family_name_kana"),
        ({**GUEST, "profession": "nurse"}, "profession"),
        ({**GUEST, "registry_no": "12-34"}, "registry_no"),
        ({**GUEST, "profession": "other"}, "registry_no"),
        ({**GUEST, "efn": "123456789012345"}, "efn"),
        ({**GUEST, "member_no": "X1"}, "member_no"),
        ({**GUEST, "symposium_code": "2099-99"}, None),
    ],
)
def test_bad_walk_in_input_is_refused_and_writes_nothing(
    client: FlaskClient, session: Session, body: dict[str, Any], field: str | None
) -> None:
    token = _desk(client, session)
    events = _audit_count(session)
    response = _post(client, token, body)
    assert response.status_code in (404, 422)
    error = response.get_json()
    if field is not None:
        assert error["error"] == "invalid"
        assert field in error["details"]
    else:
        assert error["error"] == "unknown_symposium"
    assert _walk_ins(session) == []
    assert _audit_count(session) == events


@pytest.mark.parametrize("body", ["not json", [GUEST], None])
def test_walk_in_body_that_is_not_a_json_object_writes_nothing(
    client: FlaskClient, session: Session, body: Any
) -> None:
    token = _desk(client, session)
    response = client.post(
        "/desk/walk-ins",
        data=body if isinstance(body, str) else None,
        json=body if not isinstance(body, str) else None,
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"
    assert _walk_ins(session) == []


def test_walk_in_with_a_known_registry_number_points_to_the_member(
    client: FlaskClient, session: Session
) -> None:
    known = make_member(session, medical_registry_no="512345")
    token = _desk(client, session)
    events = _audit_count(session)
    response = _post(client, token, GUEST)
    assert response.status_code == 409
    assert response.get_json()["error"] == "member_exists"
    assert response.get_json()["details"] == {"member_no": known.member_no}
    assert _walk_ins(session) == []
    assert _audit_count(session) == events


def test_walk_in_without_the_csrf_token_is_refused(client: FlaskClient, session: Session) -> None:
    _desk(client, session)
    response = client.post("/desk/walk-ins", json=GUEST)
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"
    assert _walk_ins(session) == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUDITOR])
def test_only_desk_staff_and_admins_register_walk_ins(
    client: FlaskClient, session: Session, role: Role
) -> None:
    token = _desk(client, session, role)
    assert _post(client, token, GUEST).status_code == 403
    assert _walk_ins(session) == []
