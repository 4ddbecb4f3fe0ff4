"""The office's API: policies (list, new version and its dry run, preview, enable and disable with If-Match),
a symposium's attendances and an admin's correction, jobs and card sheets; admins and admin tokens only."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.presets import IMSJ
from cme_tracker.credits.services import member_credits
from cme_tracker.db import Database
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role, YearBasis
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.checkin_data import Clock, Day, api_token, bearer, logged_in

NEW_IMSJ = {
    "version": "2026.2",
    "effective_from": "2026-01-01",
    "parameters": {**IMSJ.to_parameters(), "unit_value": "1"},
}


@pytest.fixture
def clock(clock: Clock) -> Clock:
    clock.at("18:00")
    return clock


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return bearer(api_token(session, "office-script", Role.ADMIN))


@pytest.fixture
def app(app: Flask, db: Database) -> Flask:
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    return app


def _year(session: Session) -> None:
    symposium = make_symposium(session, "2026-03", date(2026, 3, 14))
    lecture = make_lecture(session, symposium, "10:00", "11:00", "clinical")
    for number, check_in in (("A01", "10:00"), ("A02", "10:30"), ("A03", "10:40")):
        attend(session, make_member(session, member_no=number), lecture, check_in, "11:00")
    session.commit()


def test_the_policies_list_every_version_with_its_parameters(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    response = client.get("/api/v1/policies", headers=admin)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["code"] for item in items] == ["imsj", "jma", "jda", "de-cme"]
    imsj = items[0]
    assert imsj["society_own"] is True and items[1]["society_own"] is False
    version = imsj["versions"][0]
    assert (version["version"], version["enabled"], version["in_force"], version["row_version"]) == (
        "2026.1",
        True,
        True,
        1,
    )
    assert version["parameters"]["minutes_per_unit"] == 30
    assert items[3]["versions"][0]["parameters"]["caps"]["per_day"] == "8"


def test_a_dry_run_previews_the_year_and_saves_nothing(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    _year(session)
    response = client.post(
        "/api/v1/policies/imsj/versions?limit=1", json={**NEW_IMSJ, "dry_run": True}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert (preview["year"], preview["current_version"], preview["members_computed"], preview["changed"]) == (
        2026,
        "2026.1",
        3,
        2,
    )
    assert (preview["increase"], preview["decrease"], preview["net"]) == ("1.5", "0", "1.5")
    assert preview["distribution"] == [{"difference": "0.5", "members": 1}, {"difference": "1", "members": 1}]
    assert [item["member_no"] for item in preview["items"]] == ["A01"]
    assert preview["items"][0] == {
        "member_no": "A01",
        "name": "山田 太郎",
        "old_total": "1",
        "new_total": "2",
        "difference": "1",
    }
    following = client.post(
        f"/api/v1/policies/imsj/versions?limit=1&cursor={preview['next_cursor']}",
        json={**NEW_IMSJ, "dry_run": True},
        headers=admin,
    ).get_json()
    assert [item["member_no"] for item in following["items"]] == ["A02"]
    assert following["next_cursor"] is None
    assert len(session.scalars(select(CreditPolicyVersion)).all()) == 4


def test_a_new_version_is_saved_audited_and_used_for_the_years_it_is_in_force(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    _year(session)
    response = client.post("/api/v1/policies/imsj/versions", json=NEW_IMSJ, headers=admin)
    assert response.status_code == 201, response.get_json()
    assert response.headers["ETag"] == '"1"'
    assert response.get_json()["parameters"]["unit_value"] == "1"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.add_version")).one()
    assert (event.actor, event.target) == ("token:office-script", "policy:imsj:2026.2")
    a01 = session.scalars(select(Member).where(Member.member_no == "A01")).one()
    credits = member_credits(session, a01, 2026, YearBasis.CALENDAR).policies["imsj"]
    assert (credits.version, str(credits.total)) == ("2026.2", "2")
    assert member_credits(session, a01, 2025, YearBasis.CALENDAR).policies["imsj"].version == "2026.1"

    again = client.post("/api/v1/policies/imsj/versions", json=NEW_IMSJ, headers=admin)
    assert (again.status_code, again.get_json()["error"]) == (409, "version_exists")


def test_parameters_the_rules_refuse_are_named(client: FlaskClient, admin: dict[str, str]) -> None:
    bad = {**NEW_IMSJ, "parameters": {**NEW_IMSJ["parameters"], "minutes_per_unit": 0}}
    response = client.post("/api/v1/policies/imsj/versions", json=bad, headers=admin)
    assert (response.status_code, response.get_json()["error"]) == (422, "invalid_policy")
    assert "minutes_per_unit must be positive" in response.get_json()["message"]
    huge = {**NEW_IMSJ, "parameters": {**NEW_IMSJ["parameters"], "unit_value": "1e999999"}}
    assert client.post("/api/v1/policies/imsj/versions", json=huge, headers=admin).status_code == 422
    unknown = client.post("/api/v1/policies/nope/versions", json=NEW_IMSJ, headers=admin)
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_policy")


def test_a_stored_version_can_be_previewed(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    _year(session)
    client.post("/api/v1/policies/imsj/versions", json={**NEW_IMSJ, "enabled": False}, headers=admin)
    response = client.post("/api/v1/policies/imsj/versions/2026.2/preview?year=2026", headers=admin)
    assert response.status_code == 200
    assert (response.get_json()["candidate_version"], response.get_json()["changed"]) == ("2026.2", 2)
    missing = client.post("/api/v1/policies/imsj/versions/9/preview?year=2026", headers=admin)
    assert (missing.status_code, missing.get_json()["error"]) == (404, "unknown_policy_version")


def test_disabling_needs_the_current_etag(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    path = "/api/v1/policies/jda/versions/2026.1/disable"
    assert client.post(path, headers=admin).status_code == 428
    response = client.post(path, headers={**admin, "If-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["enabled"] is False
    stale = client.post("/api/v1/policies/jda/versions/2026.1/enable", headers={**admin, "If-Match": '"1"'})
    assert (stale.status_code, stale.get_json()["error"]) == (412, "version_mismatch")
    assert stale.get_json()["details"] == {"current_version": 2}
    enabled = client.post("/api/v1/policies/jda/versions/2026.1/enable", headers={**admin, "If-Match": '"2"'})
    assert enabled.get_json()["enabled"] is True
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target == "policy:jda:2026.1")
        .order_by(AuditEvent.sequence)
    ).all()
    assert actions[-2:] == ["policy.disable", "policy.enable"]


def test_a_symposiums_attendances_are_listed_a_page_at_a_time_with_filters(
    client: FlaskClient, session: Session, day: Day, admin: dict[str, str]
) -> None:
    first, second = day.lectures[:2]
    one, two, _ = day.members
    attend(session, one, first, "09:30", "10:30")
    attend(session, two, first, "09:40")
    voided = attend(session, one, second, "10:45", "11:00")
    voided.voided_at, voided.voided_by, voided.void_reason = voided.check_in_at, "desk", "wrong member"
    attend(session, two, day.symposium, "09:00")
    session.commit()
    page = client.get("/api/v1/symposia/2026-05/attendances?limit=2", headers=admin).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/symposia/2026-05/attendances?cursor={page['next_cursor']}", headers=admin)
    assert len(rest.get_json()["items"]) == 2
    item = page["items"][0]
    assert (item["member_no"], item["lecture_code"], item["check_in_local"]) == (
        "001001",
        "2026-05-L1",
        "2026-05-16T09:30:00+09:00",
    )

    def codes(query: str) -> list[tuple[str, str | None]]:
        found = client.get(f"/api/v1/symposia/2026-05/attendances?{query}", headers=admin).get_json()["items"]
        return [(item["member_no"], item["lecture_code"]) for item in found]

    assert codes("lecture_code=2026-05-L1") == [("001001", "2026-05-L1"), ("001002", "2026-05-L1")]
    assert codes("member_no=001002") == [("001002", "2026-05-L1"), ("001002", None)]
    assert codes("voided=true") == [("001001", "2026-05-L2")]
    assert codes("whole_day=true") == [("001002", None)]
    missing = client.get("/api/v1/symposia/1999-01/attendances", headers=admin)
    assert (missing.status_code, missing.get_json()["error"]) == (404, "unknown_symposium")


def test_an_admin_correction_records_an_audited_attendance_on_any_date(
    client: FlaskClient, session: Session, day: Day, admin: dict[str, str], clock: Clock
) -> None:
    clock.at("12:00", day=date(2026, 6, 1))
    body: dict[str, Any] = {
        "member_no": "001003",
        "lecture_code": "2026-05-L2",
        "check_in_at": "2026-05-16T10:50",
        "check_out_at": "2026-05-16T12:15",
        "nonce": "fix-1",
    }
    response = client.post("/api/v1/attendances", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    attendance = response.get_json()["attendance"]
    assert (attendance["check_in_local"], attendance["check_out_local"], attendance["method"]) == (
        "2026-05-16T10:50:00+09:00",
        "2026-05-16T12:15:00+09:00",
        "manual",
    )
    retried = client.post("/api/v1/attendances", json=body, headers=admin)
    assert retried.status_code == 200
    assert retried.get_json()["attendance"]["id"] == attendance["id"]
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target == f"attendance:{attendance['id']}")
        .order_by(AuditEvent.sequence)
    ).all()
    assert [(event.action, event.actor) for event in events] == [
        ("attendance.in", "token:office-script"),
        ("attendance.out", "token:office-script"),
    ]
    backwards = client.post(
        "/api/v1/attendances",
        json={**body, "nonce": "fix-2", "check_out_at": "2026-05-16T10:00"},
        headers=admin,
    )
    assert (backwards.status_code, backwards.get_json()["details"]) == (
        422,
        {"check_out_at": ["before check_in_at"]},
    )
    unknown = client.post(
        "/api/v1/attendances", json={**body, "member_no": "999", "nonce": "x"}, headers=admin
    )
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_member")


def test_card_sheets_are_queued_and_followed_through_the_jobs_api(
    client: FlaskClient, db: Database, session: Session, admin: dict[str, str], app: Flask
) -> None:
    for number in ("C1", "C2"):
        make_member(session, member_no=number)
    session.commit()
    refused = client.post("/api/v1/card-sheets", json={"member_nos": ["C1", "C9"]}, headers=admin)
    assert (refused.status_code, refused.get_json()["details"]) == (
        422,
        {"unknown": ["C9"], "inactive": []},
    )
    response = client.post("/api/v1/card-sheets", json={"member_nos": ["C2", "C1"]}, headers=admin)
    assert response.status_code == 202
    queued = response.get_json()
    assert (queued["kind"], queued["status"], queued["parameters"]["member_nos"]) == (
        "cards.sheet",
        "queued",
        ["C2", "C1"],
    )
    assert response.headers["Location"] == f"/api/v1/jobs/{queued['id']}"
    assert (
        client.post("/api/v1/card-sheets", json={"member_nos": ["C2", "C1"]}, headers=admin).get_json()["id"]
        == queued["id"]
    )

    with app.app_context():
        from cme_tracker.web.session import settings

        run_queued_jobs(db, settings(), JOB_KINDS)
    finished = client.get(f"/api/v1/jobs/{queued['id']}", headers=admin).get_json()
    assert (finished["status"], finished["done"], finished["total"]) == ("succeeded", 2, 2)
    assert finished["page_url"] == f"/admin/jobs/{queued['id']}"

    client.post("/api/v1/card-sheets", json={"scope": "all"}, headers=admin)
    listed = client.get("/api/v1/jobs?kind=cards.sheet&limit=1", headers=admin).get_json()
    assert [item["id"] for item in listed["items"]] == [queued["id"]] and listed["next_cursor"]
    waiting = client.get("/api/v1/jobs?status=queued", headers=admin).get_json()["items"]
    assert [item["parameters"]["scope"] for item in waiting] == ["all"]
    assert (
        session.scalars(select(Job).where(Job.status == JobStatus.QUEUED)).one().parameters["scope"] == "all"
    )
    missing = client.get("/api/v1/jobs/999999", headers=admin)
    assert (missing.status_code, missing.get_json()["error"]) == (404, "unknown_job")


OFFICE_ROUTES = (
    ("GET", "/api/v1/policies"),
    ("POST", "/api/v1/policies/imsj/versions"),
    ("POST", "/api/v1/policies/imsj/versions/2026.1/preview"),
    ("POST", "/api/v1/policies/imsj/versions/2026.1/enable"),
    ("POST", "/api/v1/policies/imsj/versions/2026.1/disable"),
    ("GET", "/api/v1/symposia/2026-05/attendances"),
    ("POST", "/api/v1/attendances"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/1"),
    ("POST", "/api/v1/card-sheets"),
)


@pytest.mark.parametrize("actor", ["desk", "auditor", "member", "auditor token", "desk token"])
def test_the_office_api_refuses_every_other_role_and_writes_nothing(
    client: FlaskClient, session: Session, day: Day, actor: str
) -> None:
    if actor.endswith(" token"):
        headers = bearer(api_token(session, "someone", Role(actor.removesuffix(" token"))))
    else:
        member = day.members[0] if actor == "member" else None
        headers = logged_in(client, session, "someone", Role(actor), member=member)
    events = len(session.scalars(select(AuditEvent)).all())
    for method, path in OFFICE_ROUTES:
        body = {**NEW_IMSJ, "member_nos": ["001001"]} if method == "POST" else None
        response = client.open(path, method=method, json=body, headers={**headers, "If-Match": '"1"'})
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden"), path
    session.expire_all()
    assert len(session.scalars(select(AuditEvent)).all()) == events
    assert session.scalars(select(Job)).all() == []
