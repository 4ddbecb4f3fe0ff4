"""Who may call what under /api/v1, the OpenAPI document, and the read endpoints: search, counts, credits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.credits.schemas import member_credits_json
from cme_tracker.credits.services import member_credits_by_number
from cme_tracker.vocabulary import Role, YearBasis
from tests.factories import attend, make_member
from tests.integration.checkin_data import (
    Clock,
    Day,
    api_token,
    bearer,
    checkin,
    logged_in,
)

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def clock(clock: Clock) -> Clock:
    """The app's clock at 11:00 on the symposium's day, unless a test moves it."""
    clock.at("11:00")
    return clock


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_of_the_app_is_in_the_openapi_document(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    api_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    assert len(api_rules) >= 6
    for rule in api_rules:
        path = openapi_path(rule.rule)
        assert path in document["paths"], f"{rule.rule} is missing from the OpenAPI document"
        for method in (rule.methods or set()) & HTTP_METHODS:
            operation = document["paths"][path].get(method.lower())
            assert operation is not None, f"{method} {rule.rule} is missing from the OpenAPI document"
            assert operation["operationId"] == rule.endpoint
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    routed = {
        (openapi_path(rule.rule), method.lower())
        for rule in api_rules
        for method in (rule.methods or set()) & HTTP_METHODS
    }
    assert documented == routed


def test_openapi_document_names_the_roles_and_resolves_every_reference(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    checkins = document["paths"]["/api/v1/checkins"]["post"]
    assert checkins["x-roles"] == ["admin", "desk"]
    assert checkins["x-api-client-roles"] == ["admin", "desk"]
    credits = document["paths"]["/api/v1/members/{member_no}/credits"]["get"]
    assert credits["x-api-client-roles"] == ["admin", "auditor"]
    references = set(re.findall(r'"\$ref": "#/components/schemas/([A-Za-z]+)"', json.dumps(document)))
    assert references and references <= set(document["components"]["schemas"])
    for operation in (op for ops in document["paths"].values() for op in ops.values()):
        assert operation["responses"], operation["operationId"]


ACTORS = ("desk token", "auditor token", "desk", "admin", "auditor", "member")
ROUTES: dict[str, tuple[str, str, set[str]]] = {
    "check in": ("POST", "/api/v1/checkins", {"desk token", "desk", "admin"}),
    "void": ("POST", "/api/v1/attendances/999999/void", {"desk token", "desk", "admin"}),
    "counts": (
        "GET",
        "/api/v1/symposia/2026-05/attendance",
        {"desk token", "auditor token", "desk", "admin", "auditor"},
    ),
    "search": ("GET", "/api/v1/members/search?q=yamada", {"desk token", "desk", "admin"}),
    "own credits": (
        "GET",
        "/api/v1/members/001002/credits?year=2026",
        {"auditor token", "admin", "auditor", "member"},
    ),
    "credits of another member": (
        "GET",
        "/api/v1/members/001001/credits?year=2026",
        {"auditor token", "admin", "auditor"},
    ),
}


def as_actor(client: FlaskClient, session: Session, day: Day, actor: str) -> dict[str, str]:
    if actor.endswith(" token"):
        role = Role(actor.removesuffix(" token"))
        return bearer(api_token(session, f"{role}-client", role))
    member = day.members[1] if actor == "member" else None
    return logged_in(client, session, actor, Role(actor), member=member)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_each_api_route_admits_exactly_its_roles(
    client: FlaskClient,
    session: Session,
    day: Day,
    clock: Clock,
    route: tuple[str, str, set[str]],
    actor: str,
) -> None:
    method, path, admitted = route
    headers = as_actor(client, session, day, actor)
    response = client.open(path, method=method, json={} if method == "POST" else None, headers=headers)
    if actor in admitted:
        assert response.status_code not in (401, 403), response.get_json()
    else:
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden")


@pytest.mark.parametrize("path", [path for _, path, _ in ROUTES.values()])
def test_anonymous_api_calls_get_401(client: FlaskClient, day: Day, path: str) -> None:
    response = client.open(path, method="POST" if "void" in path or "checkins" in path else "GET", json={})
    assert (response.status_code, response.get_json()["error"]) == (401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("query", ["やまだ", "ﾔﾏﾀﾞ", "ヤマダ タロウ", "YAMADA", "山田太郎", "001001"])
def test_member_search_finds_by_kana_romaji_kanji_or_number(
    client: FlaskClient, session: Session, day: Day, query: str
) -> None:
    make_member(
        session,
        member_no="001004",
        family_name="山本",
        family_name_kana="ヤマモト",
        family_name_romaji="Yamamoto",
    )
    session.commit()
    response = client.get(
        "/api/v1/members/search", query_string={"q": query}, headers=bearer(api_token(session))
    )
    assert response.status_code == 200
    found = response.get_json()["members"]
    assert [member["member_no"] for member in found] == ["001001"]
    assert found[0]["family_name_kana"] == "ヤマダ"
    assert found[0]["name_romaji"] == "YAMADA Taro"
    assert found[0]["profession"] == "physician"


def test_member_search_with_an_empty_query_finds_nobody_and_refuses_a_huge_limit(
    client: FlaskClient, session: Session, day: Day
) -> None:
    headers = bearer(api_token(session))
    assert client.get("/api/v1/members/search?q=", headers=headers).get_json() == {"members": []}
    response = client.get("/api/v1/members/search?q=ya&limit=10000", headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (422, "invalid")
    assert "limit" in response.get_json()["details"]


def test_counts_show_checked_in_and_inside_now_per_lecture_and_for_the_day(
    client: FlaskClient, session: Session, day: Day, clock: Clock
) -> None:
    desk = bearer(api_token(session))
    attend(session, day.members[0], day.lectures[0], "09:30", "10:30")
    attend(session, day.members[0], day.lectures[1], "10:45")
    attend(session, day.members[1], day.lectures[1], "10:40", "10:50")
    attend(session, day.members[1], day.lectures[1], "10:55")
    attend(session, day.members[2], day.lectures[1], "10:50", voided_at=clock.now, void_reason="x")
    attend(session, day.members[0], day.symposium, "09:00")
    attend(session, day.members[1], day.symposium, "09:10", "10:00")
    session.commit()
    client.post(
        "/api/v1/checkins",
        json=checkin(member_no="001003", lecture_code=None, symposium_code="2026-05"),
        headers=desk,
    )
    response = client.get("/api/v1/symposia/2026-05/attendance", headers=desk)
    assert response.status_code == 200
    counts = response.get_json()
    assert counts["day"] == {"checked_in": 3, "inside_now": 2}
    lectures = {lecture["lecture_code"]: lecture for lecture in counts["lectures"]}
    assert list(lectures) == ["2026-05-L1", "2026-05-L2", "2026-05-L3", "2026-05-L4"]
    assert (lectures["2026-05-L1"]["checked_in"], lectures["2026-05-L1"]["inside_now"]) == (1, 0)
    assert (lectures["2026-05-L2"]["checked_in"], lectures["2026-05-L2"]["inside_now"]) == (2, 2)
    assert (lectures["2026-05-L3"]["checked_in"], lectures["2026-05-L3"]["inside_now"]) == (0, 0)
    assert lectures["2026-05-L2"]["starts_at"] == "2026-05-16T10:45:00+09:00"
    clock.at("12:30")
    later = client.get("/api/v1/symposia/2026-05/attendance", headers=desk).get_json()
    assert [lecture["inside_now"] for lecture in later["lectures"]] == [0, 0, 0, 0]
    assert later["day"]["inside_now"] == 2
    unknown = client.get("/api/v1/symposia/1999-01/attendance", headers=desk)
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_symposium")


@pytest.mark.parametrize("basis", list(YearBasis))
def test_credits_are_the_shape_of_credits_show_json(
    client: FlaskClient, session: Session, day: Day, basis: YearBasis
) -> None:
    attend(session, day.members[0], day.lectures[0], "09:30", "10:30")
    attend(session, day.members[0], day.lectures[2], "13:00", "13:45")
    session.commit()
    headers = bearer(api_token(session, "auditor-script", Role.AUDITOR))
    response = client.get(f"/api/v1/members/001001/credits?year=2026&basis={basis}", headers=headers)
    assert response.status_code == 200
    expected: dict[str, Any] = member_credits_json(member_credits_by_number(session, "001001", 2026, basis))
    assert response.get_json() == expected
    assert response.get_json()["policies"]["imsj"]["total"] == "1.5"


def test_credits_refuse_a_bad_year_and_an_unknown_member(
    client: FlaskClient, session: Session, day: Day
) -> None:
    headers = bearer(api_token(session, "auditor-script", Role.AUDITOR))
    for query in ("", "?year=twenty", "?year=1800", "?year=2026&basis=lunar"):
        response = client.get(f"/api/v1/members/001001/credits{query}", headers=headers)
        assert (response.status_code, response.get_json()["error"]) == (422, "invalid"), query
    unknown = client.get("/api/v1/members/999999/credits?year=2026", headers=headers)
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "unknown_member")
