"""``/api/v1/users`` and ``/api/v1/tokens``: the office's automation manages logins and tokens (admins)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts import throttle
from cme_tracker.accounts.models import User
from cme_tracker.audit.models import AuditEvent
from cme_tracker.vocabulary import Role
from tests.factories import make_member
from tests.integration.checkin_data import Clock, api_token, bearer, logged_in
from tests.integration.web_login import log_in, make_login

STAFF_PASSWORD = "blue heron at dawn 42"


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    """An admin token's header, beside the one admin login ``office``."""
    make_login(session, "office", Role.ADMIN)
    return bearer(api_token(session, "office-sync", Role.ADMIN))


def _etag(client: FlaskClient, login: str, headers: dict[str, str]) -> str:
    response = client.get(f"/api/v1/users/{login}", headers=headers)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_an_admin_token_creates_a_staff_login_that_logs_in_with_its_password(
    client: FlaskClient, app: Flask, session: Session, admin: dict[str, str]
) -> None:
    body = {"login": "sato", "roles": ["desk", "auditor"], "password": STAFF_PASSWORD}
    response = client.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["roles"] == ["auditor", "desk"] and answer["has_password"] is True
    assert STAFF_PASSWORD not in response.get_data(as_text=True)
    assert response.headers["ETag"] == f'"{answer["version"]}"'
    browser = app.test_client()
    assert log_in(browser, "sato", STAFF_PASSWORD).status_code == 302
    event = session.scalar(select(AuditEvent).where(AuditEvent.target == "user:sato"))
    assert event is not None and event.actor == "token:office-sync"


def test_a_member_login_is_created_without_a_password_and_cannot_log_in(
    client: FlaskClient, app: Flask, session: Session, admin: dict[str, str]
) -> None:
    make_member(session, member_no="004711")
    session.commit()
    with_password = {
        "login": "yamada",
        "roles": ["member"],
        "member_no": "004711",
        "password": STAFF_PASSWORD,
    }
    refused = client.post("/api/v1/users", json=with_password, headers=admin)
    assert (refused.status_code, refused.get_json()["error"]) == (422, "password_not_allowed")
    without = {"login": "yamada", "roles": ["member"], "member_no": "004711"}
    created = client.post("/api/v1/users", json=without, headers=admin)
    assert created.status_code == 201
    assert created.get_json()["has_password"] is False and created.get_json()["member_no"] == "004711"
    assert log_in(app.test_client(), "yamada", STAFF_PASSWORD).status_code == 200  # the form again
    staff = client.post("/api/v1/users", json={"login": "ito", "roles": ["desk"]}, headers=admin)
    assert (staff.status_code, staff.get_json()["error"]) == (422, "password_required")


def test_the_users_list_comes_a_page_at_a_time_by_login(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    make_login(session, "ito", Role.AUDITOR)
    make_login(session, "kato", Role.DESK)
    first = client.get("/api/v1/users?limit=2", headers=admin).get_json()
    assert [item["login"] for item in first["items"]] == ["ito", "kato"]
    second = client.get(f"/api/v1/users?limit=2&cursor={first['next_cursor']}", headers=admin).get_json()
    assert [item["login"] for item in second["items"]] == ["office"] and second["next_cursor"] is None


def test_roles_are_patched_against_the_etag_and_a_stale_or_missing_one_is_refused(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    make_login(session, "sato", Role.DESK)
    etag = _etag(client, "sato", admin)
    missing = client.patch("/api/v1/users/sato", json={"roles": ["auditor"]}, headers=admin)
    assert (missing.status_code, missing.get_json()["error"]) == (428, "precondition_required")
    saved = client.patch(
        "/api/v1/users/sato", json={"roles": ["auditor"]}, headers={**admin, "If-Match": etag}
    )
    assert saved.status_code == 200 and saved.get_json()["roles"] == ["auditor"]
    assert saved.headers["ETag"] != etag
    stale = client.patch("/api/v1/users/sato", json={"roles": ["admin"]}, headers={**admin, "If-Match": etag})
    assert (stale.status_code, stale.get_json()["error"]) == (412, "version_mismatch")
    assert stale.get_json()["details"]["current_version"] == saved.get_json()["version"]
    session.expire_all()
    user = session.scalar(select(User).where(User.login == "sato"))
    assert user is not None and user.roles == {Role.AUDITOR}


def test_a_member_is_linked_and_unlinked_and_the_member_role_needs_one(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    make_member(session, member_no="004712")
    make_login(session, "sato", Role.DESK)
    needs = client.patch(
        "/api/v1/users/sato",
        json={"roles": ["member"]},
        headers={**admin, "If-Match": _etag(client, "sato", admin)},
    )
    assert (needs.status_code, needs.get_json()["error"]) == (422, "member_required")
    both = {"roles": ["desk", "member"], "member_no": "004712"}
    linked = client.patch(
        "/api/v1/users/sato", json=both, headers={**admin, "If-Match": _etag(client, "sato", admin)}
    )
    assert linked.status_code == 200 and linked.get_json()["member_no"] == "004712"
    unlink = {"roles": ["desk"], "unlink_member": True}
    unlinked = client.patch(
        "/api/v1/users/sato", json=unlink, headers={**admin, "If-Match": linked.headers["ETag"]}
    )
    assert unlinked.status_code == 200 and unlinked.get_json()["member_no"] is None
    empty = client.patch(
        "/api/v1/users/sato", json={}, headers={**admin, "If-Match": unlinked.headers["ETag"]}
    )
    assert (empty.status_code, empty.get_json()["error"]) == (422, "invalid")


def test_the_last_active_admin_is_neither_disabled_nor_demoted_by_the_api(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    etag = _etag(client, "office", admin)
    for change in ({"active": False}, {"roles": ["desk"]}):
        refused = client.patch("/api/v1/users/office", json=change, headers={**admin, "If-Match": etag})
        assert (refused.status_code, refused.get_json()["error"]) == (409, "last_admin")
    make_login(session, "chief", Role.ADMIN)
    allowed = client.patch(
        "/api/v1/users/office", json={"roles": ["desk"]}, headers={**admin, "If-Match": etag}
    )
    assert allowed.status_code == 200


def test_disabling_a_login_by_the_api_ends_its_session(
    client: FlaskClient, app: Flask, session: Session, admin: dict[str, str]
) -> None:
    browser = app.test_client()
    headers = logged_in(browser, session, "sato", Role.DESK)
    assert browser.get("/api/v1/symposia/1999-01/attendance", headers=headers).status_code == 404
    etag = _etag(client, "sato", admin)
    disabled = client.patch("/api/v1/users/sato", json={"active": False}, headers={**admin, "If-Match": etag})
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert browser.get("/api/v1/symposia/1999-01/attendance", headers=headers).status_code == 401


def test_unlock_lifts_the_lock_of_failed_logins(
    client: FlaskClient, session: Session, admin: dict[str, str], clock: Clock
) -> None:
    make_login(session, "sato", Role.DESK)
    for _ in range(throttle.ACCOUNT_FAILURES):
        throttle.record_failure(session, "sato", "192.0.2.7", clock.now)
    session.commit()
    assert client.get("/api/v1/users/sato", headers=admin).get_json()["locked_until"] is not None
    unlocked = client.post("/api/v1/users/sato/unlock", headers=admin)
    assert unlocked.status_code == 200 and unlocked.get_json()["locked_until"] is None
    missing = client.post("/api/v1/users/nobody/unlock", headers=admin)
    assert (missing.status_code, missing.get_json()["error"]) == (404, "unknown_login")


def test_a_token_created_by_the_api_is_answered_once_works_and_is_refused_once_revoked(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/tokens", json={"name": "report", "role": "admin"}, headers=admin)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    answer = created.get_json()
    token = answer["token"]
    assert answer["role"] == "admin" and answer["valid_through"] is not None and answer["expired"] is False
    assert client.get("/api/v1/users", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/tokens", headers=admin)
    assert {item["name"] for item in listed.get_json()["items"]} == {"office-sync", "report"}
    assert token not in listed.get_data(as_text=True)
    revoked = client.post("/api/v1/tokens/report/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] is not None
    refused = client.get("/api/v1/users", headers=bearer(token))
    assert (refused.status_code, refused.get_json()["error"]) == (401, "unauthorized")
    again = client.post("/api/v1/tokens", json={"name": "report", "role": "desk"}, headers=admin)
    assert (again.status_code, again.get_json()["error"]) == (409, "name_taken")
    odd = client.post("/api/v1/tokens", json={"name": "a b", "role": "desk"}, headers=admin)
    assert (odd.status_code, odd.get_json()["error"]) == (422, "invalid_name")


def test_an_admin_session_uses_the_api_with_its_csrf_token(client: FlaskClient, session: Session) -> None:
    headers = logged_in(client, session, "chief", Role.ADMIN)
    body = {"login": "sato", "roles": ["desk"], "password": STAFF_PASSWORD}
    assert client.post("/api/v1/users", json=body).status_code == 400  # no CSRF header
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 201
    assert client.get("/api/v1/tokens", headers=headers).status_code == 200


ROUTES = (
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/office"),
    ("patch", "/api/v1/users/office"),
    ("post", "/api/v1/users/office/unlock"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("post", "/api/v1/tokens/x/revoke"),
)


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR])
def test_desk_and_auditor_tokens_are_refused_with_403(
    client: FlaskClient, session: Session, role: Role
) -> None:
    make_login(session, "office", Role.ADMIN)
    headers = bearer(api_token(session, f"{role.value}-client", role))
    for method, path in ROUTES:
        response = client.open(path, method=method, json={}, headers=headers)
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden"), path


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_logins_other_than_admin_are_refused_with_403(
    client: FlaskClient, session: Session, role: Role
) -> None:
    make_login(session, "office", Role.ADMIN)
    member = make_member(session) if role is Role.MEMBER else None
    headers = logged_in(client, session, "someone", role, member=member)
    for method, path in ROUTES:
        response = client.open(path, method=method, json={}, headers=headers)
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden"), path


def test_without_a_session_or_token_every_route_answers_401(client: FlaskClient, session: Session) -> None:
    make_login(session, "office", Role.ADMIN)
    for method, path in ROUTES:
        response = client.open(path, method=method, json={})
        assert (response.status_code, response.get_json()["error"]) == (401, "unauthorized"), path
