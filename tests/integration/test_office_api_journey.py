"""The office's day through `/api/v1` with one admin token and nothing else: a symposium with three lectures,
a members file fixed after its dry run, a correction, a lecture edited after attendance exists (its impact
first), a duplicate merged, a desk login, a token made and revoked, a policy version previewed and added."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.credits.presets import IMSJ
from cme_tracker.vocabulary import Role
from tests.integration.checkin_data import Clock, api_token, bearer
from tests.integration.test_office_imports import members_csv


@pytest.fixture
def clock(clock: Clock) -> Clock:
    clock.at("18:00", day=date(2026, 11, 22))
    return clock


def _tag(response: object) -> dict[str, str]:
    return {"If-Match": response.headers["ETag"]}  # type: ignore[attr-defined]


def test_an_admin_token_runs_the_office_day_end_to_end(
    client: FlaskClient, session: Session, clock: Clock
) -> None:
    office = bearer(api_token(session, "office-automation", Role.ADMIN))

    symposium = {
        "code": "2026-11",
        "date": "2026-11-21",
        "title_ja": "第6回 学術講演会",
        "title_en": "6th CME",
    }
    assert client.post("/api/v1/symposia", json=symposium, headers=office).status_code == 201
    lectures = [
        {
            "code": "2026-11-L1",
            "starts_at": "10:00",
            "ends_at": "11:00",
            "field": "clinical",
            "title_ja": "心不全",
            "speaker": "山本 一郎",
            "excluded": ["10:30-10:40"],
        },
        {
            "code": "2026-11-L2",
            "starts_at": "11:15",
            "ends_at": "12:15",
            "field": "pharmaceuticals",
            "title_ja": "新薬",
            "speaker": "佐藤 花子",
        },
        {
            "code": "2026-11-L3",
            "starts_at": "13:00",
            "ends_at": "14:30",
            "field": "discourse",
            "title_ja": "医と哲学",
            "speaker": "鈴木 次郎",
        },
    ]
    for lecture in lectures:
        created = client.post("/api/v1/symposia/2026-11/lectures", json=lecture, headers=office)
        assert created.status_code == 201, created.get_json()
    listed = client.get("/api/v1/symposia/2026-11/lectures", headers=office).get_json()["items"]
    assert [item["code"] for item in listed] == ["2026-11-L1", "2026-11-L2", "2026-11-L3"]

    csv = {"Content-Type": "text/csv"}
    rejected = client.post(
        "/api/v1/imports/members", data=members_csv(bad_efn=True), headers={**office, **csv}
    )
    assert rejected.status_code == 422
    [error] = rejected.get_json()["details"]["errors"]
    assert (error["line"], error["column"]) == (4, "efn")
    assert client.get("/api/v1/members?limit=1", headers=office).get_json()["items"] == []
    checked = client.post("/api/v1/imports/members", data=members_csv(), headers={**office, **csv})
    assert checked.status_code == 201, checked.get_json()
    run = checked.get_json()
    confirmed = client.post(f"/api/v1/imports/{run['id']}/confirm", headers={**office, **_tag(checked)})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "imported"

    correction = {
        "member_no": "001001",
        "lecture_code": "2026-11-L2",
        "check_in_at": "2026-11-21T11:15",
        "check_out_at": "2026-11-21T12:15",
        "nonce": "office-fix-1",
    }
    assert client.post("/api/v1/attendances", json=correction, headers=office).status_code == 201
    impact = client.post("/api/v1/lectures/2026-11-L2/impact", json={"ends_at": "12:00"}, headers=office)
    imsj = [change for change in impact.get_json()["credits"] if change["policy"] == "imsj"]
    assert [(change["member_no"], change["before"], change["after"]) for change in imsj] == [
        ("001001", "1", "0.5")
    ]
    current = client.get("/api/v1/lectures/2026-11-L2", headers=office)
    edited = client.patch(
        "/api/v1/lectures/2026-11-L2", json={"ends_at": "12:00"}, headers={**office, **_tag(current)}
    )
    assert edited.status_code == 200 and edited.get_json()["ends_at"] == "12:00"
    stale = client.patch(
        "/api/v1/lectures/2026-11-L2", json={"ends_at": "12:05"}, headers={**office, **_tag(current)}
    )
    assert stale.status_code == 412
    credits = client.get("/api/v1/members/001001/credits?year=2026", headers=office).get_json()
    assert credits["policies"]["imsj"]["by_field"]["pharmaceuticals"] == "0.5"

    duplicate = {
        "member_no": "W-0001",
        "profession": "physician",
        "family_name": "髙橋",
        "given_name": "一郎",
        "family_name_romaji": "Takahashi",
        "given_name_romaji": "Ichiro",
    }
    made = client.post("/api/v1/members", json=duplicate, headers=office)
    assert made.status_code == 201
    merged = client.post(
        "/api/v1/members/W-0001/merge", json={"into": "001001"}, headers={**office, **_tag(made)}
    )
    assert merged.status_code == 200, merged.get_json()

    desk = client.post(
        "/api/v1/users",
        json={"login": "desk-east", "roles": ["desk"], "password": "tokyo desk east 2026"},
        headers=office,
    )
    assert desk.status_code == 201, desk.get_json()
    token = client.post("/api/v1/tokens", json={"name": "desk-east-tablet", "role": "desk"}, headers=office)
    assert token.status_code == 201
    tablet = bearer(token.get_json()["token"])
    assert client.get("/api/v1/symposia/2026-11/attendance", headers=tablet).status_code == 200
    assert client.post("/api/v1/tokens/desk-east-tablet/revoke", headers=office).status_code == 200
    assert client.get("/api/v1/symposia/2026-11/attendance", headers=tablet).status_code == 401

    version = {
        "version": "2026.2",
        "effective_from": "2026-01-01",
        "parameters": {**IMSJ.to_parameters(), "unit_value": "1"},
    }
    preview = client.post("/api/v1/policies/imsj/versions", json={**version, "dry_run": True}, headers=office)
    assert preview.status_code == 200, preview.get_json()
    added = client.post("/api/v1/policies/imsj/versions", json=version, headers=office)
    assert added.status_code == 201, added.get_json()
