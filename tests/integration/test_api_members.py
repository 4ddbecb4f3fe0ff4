"""/api/v1/members: the office's member records for admins' scripts (admin token or session): list, add,
read, edit with ETag and If-Match, deactivate, reactivate, merge, history and attendance."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_lecture, make_member, make_symposium, tokyo
from tests.integration.checkin_data import api_token, bearer, logged_in

NEW = {
    "member_no": "A-0001",
    "profession": "dentist",
    "family_name": "Müller",
    "given_name": "Anna",
    "family_name_romaji": "Müller",
    "given_name_romaji": "Anna",
    "dental_registry_no": "765432",
    "efn": "276020000000013",
    "country": "de",
}


@pytest.fixture
def office(session: Session) -> dict[str, str]:
    return bearer(api_token(session, "office-script", Role.ADMIN))


def _version(client: FlaskClient, number: str, headers: dict[str, str]) -> str:
    response = client.get(f"/api/v1/members/{number}", headers=headers)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_adding_a_member_answers_201_with_the_record_and_its_etag(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    response = client.post("/api/v1/members", json=NEW, headers=office)
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    record = response.get_json()
    assert (record["member_no"], record["name"], record["country"]) == ("A-0001", "Anna Müller", "DE")
    assert (record["active"], record["merged_into"], record["version"]) == (True, None, 1)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.create"))
    assert event is not None and event.actor == "token:office-script"
    again = client.post("/api/v1/members", json=NEW, headers=office)
    assert (again.status_code, again.get_json()["error"]) == (409, "member_no_taken")


def test_a_member_the_import_would_refuse_is_a_422_naming_each_field(
    client: FlaskClient, office: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/members", json={**NEW, "efn": "276020000000014", "medical_registry_no": "1"}, headers=office
    )
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert "check digit" in details["efn"][0]
    assert "only physicians" in details["medical_registry_no"][0]
    unknown = client.post("/api/v1/members", json={**NEW, "nickname": "x"}, headers=office)
    assert (unknown.status_code, list(unknown.get_json()["details"])) == (422, ["nickname"])


def test_an_edit_needs_if_match_is_refused_when_stale_and_records_old_and_new_values(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    make_member(session, member_no="E-0001", email="old@example.jp")
    session.commit()
    path = "/api/v1/members/E-0001"
    missing = client.patch(path, json={"email": "new@example.jp"}, headers=office)
    assert (missing.status_code, missing.get_json()["error"]) == (428, "precondition_required")
    etag = _version(client, "E-0001", office)
    saved = client.patch(
        path, json={"email": None, "given_name_romaji": "Tarō"}, headers={**office, "If-Match": etag}
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["ETag"] == '"2"'
    assert (saved.get_json()["email"], saved.get_json()["given_name_romaji"]) == (None, "Tarō")
    stale = client.patch(path, json={"email": "late@example.jp"}, headers={**office, "If-Match": etag})
    assert (stale.status_code, stale.get_json()["error"]) == (412, "version_mismatch")
    assert stale.get_json()["details"] == {"current_version": 2}
    required = client.patch(path, json={"family_name": ""}, headers={**office, "If-Match": '"2"'})
    assert (required.status_code, list(required.get_json()["details"])) == (422, ["family_name"])
    mismatched = client.patch(path, json={"profession": "dentist"}, headers={**office, "If-Match": '"2"'})
    assert "medical_registry_no" in mismatched.get_json()["details"]
    [edit] = session.scalars(select(AuditEvent).where(AuditEvent.action == "member.update")).all()
    assert edit.details["changes"] == {
        "email": {"old": "old@example.jp", "new": None},
        "given_name_romaji": {"old": "Taro", "new": "Tarō"},
    }


def test_deactivate_and_reactivate_need_if_match_and_a_reason(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    make_member(session, member_no="D-0001")
    session.commit()
    path = "/api/v1/members/D-0001"
    no_reason = client.post(f"{path}/deactivate", json={}, headers={**office, "If-Match": '"1"'})
    assert (no_reason.status_code, list(no_reason.get_json()["details"])) == (422, ["reason"])
    done = client.post(
        f"{path}/deactivate", json={"reason": "retired"}, headers={**office, "If-Match": '"1"'}
    )
    assert (done.status_code, done.get_json()["active"], done.headers["ETag"]) == (200, False, '"2"')
    twice = client.post(f"{path}/deactivate", json={"reason": "again"}, headers={**office, "If-Match": '"2"'})
    assert (twice.status_code, twice.get_json()["error"]) == (409, "already_inactive")
    back = client.post(f"{path}/reactivate", json={"reason": "back"}, headers={**office, "If-Match": '"2"'})
    assert (back.status_code, back.get_json()["active"]) == (200, True)
    inactive = client.get("/api/v1/members?active=false", headers=office).get_json()["items"]
    assert "D-0001" not in [item["member_no"] for item in inactive]


def test_the_list_pages_by_number_and_filters_by_name_and_activity(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    for number in ("L-03", "L-01", "L-02"):
        make_member(session, member_no=number, family_name_romaji="Listed")
    make_member(session, member_no="L-04", family_name_romaji="Listed", active=False)
    make_member(session, member_no="L-05", family_name_romaji="Other")
    session.commit()
    first = client.get("/api/v1/members?q=listed&active=true&limit=2", headers=office).get_json()
    assert [item["member_no"] for item in first["items"]] == ["L-01", "L-02"]
    second = client.get(
        f"/api/v1/members?q=listed&active=true&limit=2&cursor={first['next_cursor']}", headers=office
    ).get_json()
    assert ([item["member_no"] for item in second["items"]], second["next_cursor"]) == (["L-03"], None)
    everyone = client.get("/api/v1/members?q=LISTED", headers=office).get_json()["items"]
    assert [item["member_no"] for item in everyone] == ["L-01", "L-02", "L-03", "L-04"]


def test_merging_moves_the_records_keeps_the_pointer_and_refuses_overlapping_open_attendance(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    target = make_member(session, member_no="001001")
    walk_in = make_member(session, member_no="W20260516-001", needs_review=True, medical_registry_no=None)
    other = make_member(session, member_no="W20260516-002", needs_review=True, medical_registry_no=None)
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, target, lecture, "10:00")
    attend(session, other, lecture, "10:05")
    moved = attend(session, walk_in, symposium, "09:00", "12:00")
    session.commit()
    refused = client.post(
        "/api/v1/members/W20260516-002/merge", json={"into": "001001"}, headers={**office, "If-Match": '"1"'}
    )
    assert (refused.status_code, refused.get_json()["error"]) == (409, "open_attendance_overlap")
    assert refused.get_json()["details"] == {"targets": ["2026-05-L1"]}
    missing = client.post("/api/v1/members/W20260516-001/merge", json={"into": "001001"}, headers=office)
    assert missing.status_code == 428
    response = client.post(
        "/api/v1/members/W20260516-001/merge", json={"into": "001001"}, headers={**office, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()
    assert (merged["member"]["merged_into"], merged["member"]["active"]) == ("001001", False)
    assert merged["into"]["member_no"] == "001001"
    assert merged["moved"] == {"attendances": 1, "scans": 0, "certificates": 0, "logins": 0}
    assert response.headers["ETag"] == '"2"'
    session.expire_all()
    assert session.get(Attendance, moved.id).member_id == target.id
    assert session.get(Member, walk_in.id).merged_into_id == target.id
    again = client.post(
        "/api/v1/members/W20260516-001/merge", json={"into": "001001"}, headers={**office, "If-Match": '"2"'}
    )
    assert (again.status_code, again.get_json()["error"]) == (409, "already_merged")
    unknown = client.post(
        "/api/v1/members/W20260516-002/merge", json={"into": "NOPE"}, headers={**office, "If-Match": '"1"'}
    )
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_member")


def test_history_is_newest_first_a_page_at_a_time(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    make_member(session, member_no="H-0001")
    session.commit()
    for version, email in enumerate(("a@example.jp", "b@example.jp", "c@example.jp"), start=1):
        response = client.patch(
            "/api/v1/members/H-0001", json={"email": email}, headers={**office, "If-Match": f'"{version}"'}
        )
        assert response.status_code == 200
    first = client.get("/api/v1/members/H-0001/history?limit=2", headers=office).get_json()
    assert [event["details"]["changes"]["email"]["new"] for event in first["items"]] == [
        "c@example.jp",
        "b@example.jp",
    ]
    rest = client.get(
        f"/api/v1/members/H-0001/history?cursor={first['next_cursor']}", headers=office
    ).get_json()
    assert [event["details"]["changes"]["email"]["new"] for event in rest["items"]] == ["a@example.jp"]
    assert rest["next_cursor"] is None
    unknown = client.get("/api/v1/members/NOPE/history", headers=office)
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_member")


def test_attendance_lists_every_record_voided_ones_too_in_the_symposium_zone(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    member = make_member(session, member_no="T-0001")
    berlin = make_symposium(session, "2026-10-TA", date(2026, 10, 3), timezone="Europe/Berlin")
    lecture = make_lecture(session, berlin, "10:00", "11:00")
    attend(session, member, lecture, "10:00", "11:00")
    attend(session, member, berlin, "09:00", voided_at=tokyo(date(2026, 10, 4), "09:00"), void_reason="typo")
    session.commit()
    items = client.get("/api/v1/members/T-0001/attendance", headers=office).get_json()["items"]
    assert [(item["lecture_code"], item["symposium_code"]) for item in items] == [
        ("2026-10-TA-L1", "2026-10-TA"),
        (None, "2026-10-TA"),
    ]
    assert items[0]["check_in_local"] == "2026-10-03T10:00:00+02:00"
    assert items[0]["timezone"] == "Europe/Berlin"
    assert (items[1]["void_reason"], items[1]["check_out_local"]) == ("typo", None)


def test_search_and_credits_keep_their_routes_beside_member_numbers(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    make_member(session, member_no="S-0001", family_name_romaji="Searched")
    session.commit()
    found = client.get("/api/v1/members/search?q=searched", headers=bearer(api_token(session)))
    assert [member["member_no"] for member in found.get_json()["members"]] == ["S-0001"]
    credits = client.get("/api/v1/members/S-0001/credits?year=2026", headers=office)
    assert (credits.status_code, credits.get_json()["member_no"]) == (200, "S-0001")


ROUTES = (
    ("GET", "/api/v1/members"),
    ("POST", "/api/v1/members"),
    ("GET", "/api/v1/members/R-0001"),
    ("PATCH", "/api/v1/members/R-0001"),
    ("POST", "/api/v1/members/R-0001/deactivate"),
    ("POST", "/api/v1/members/R-0001/reactivate"),
    ("POST", "/api/v1/members/R-0001/merge"),
    ("GET", "/api/v1/members/R-0001/history"),
    ("GET", "/api/v1/members/R-0001/attendance"),
)


@pytest.mark.parametrize("actor", ["desk token", "auditor token", "desk", "auditor", "member"])
def test_only_admins_may_use_the_member_records(client: FlaskClient, session: Session, actor: str) -> None:
    member = make_member(session, member_no="R-0001")
    session.commit()
    if actor.endswith(" token"):
        role = Role(actor.removesuffix(" token"))
        headers = bearer(api_token(session, f"{role}-client", role))
    else:
        headers = logged_in(client, session, actor, Role(actor), member=member if actor == "member" else None)
    for method, path in ROUTES:
        body = {"reason": "x", "into": "R-0001"} if method != "GET" else None
        response = client.open(path, method=method, json=body, headers={**headers, "If-Match": '"1"'})
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden"), (method, path)
    session.refresh(member)
    assert (member.active, member.row_version) == (True, 1)


def test_an_admin_session_may_use_them_too(client: FlaskClient, session: Session) -> None:
    make_member(session, member_no="R-0002")
    session.commit()
    headers = logged_in(client, session, "office", Role.ADMIN)
    response = client.post(
        "/api/v1/members/R-0002/deactivate", json={"reason": "left"}, headers={**headers, "If-Match": '"1"'}
    )
    assert response.status_code == 200
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.deactivate"))
    assert event is not None and event.actor == "user:office"
