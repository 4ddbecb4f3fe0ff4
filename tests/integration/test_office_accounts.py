"""The office's pages for logins and API tokens: create, edit, disable, unlock; tokens shown once, revoked."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.accounts import throttle
from cme_tracker.accounts.models import User
from cme_tracker.accounts.tokens import ApiClient
from cme_tracker.audit.models import AuditEvent
from cme_tracker.vocabulary import Role
from cme_tracker.web.i18n import LANG_COOKIE
from tests.factories import make_member
from tests.integration.checkin_data import Clock, api_token, bearer
from tests.integration.web_login import csrf_token, log_in, make_login

STAFF_PASSWORD = "blue heron at dawn 42"
COUNTS = "/api/v1/symposia/1999-01/attendance"
"""Open to desk and auditor tokens: 404 (no such symposium) once the token is accepted."""
_VERSION = re.compile(r'name="row_version"[^>]*value="(\d+)"')


@pytest.fixture
def app_client(app: Flask) -> FlaskClient:
    """Another browser on the same app: the login the office edits."""
    other = app.test_client()
    other.set_cookie(LANG_COOKIE, "en")
    return other


@pytest.fixture
def office(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    client.set_cookie(LANG_COOKIE, "en")
    log_in(client, "office")
    return client


def _user(session: Session, login: str) -> User:
    session.expire_all()
    user = session.scalar(select(User).where(User.login == login))
    assert user is not None
    return user


def _post(client: FlaskClient, path: str, data: dict[str, object], page: str | None = None) -> TestResponse:
    token = csrf_token(client, page or "/admin/users/new")
    return client.post(path, data={**data, "csrf_token": token})


def _version_on_page(client: FlaskClient, login: str) -> int:
    match = _VERSION.search(client.get(f"/admin/users/{login}").get_data(as_text=True))
    assert match is not None
    return int(match.group(1))


def test_an_admin_creates_a_staff_login_that_logs_in_with_the_initial_password(
    office: FlaskClient, app_client: FlaskClient, session: Session
) -> None:
    response = _post(
        office,
        "/admin/users/new",
        {"login": "sato", "roles": ["desk"], "password": STAFF_PASSWORD, "password_again": STAFF_PASSWORD},
    )
    assert response.status_code == 303
    user = _user(session, "sato")
    assert user.roles == {Role.DESK} and user.has_password
    assert STAFF_PASSWORD not in str(session.scalars(select(AuditEvent.details)).all())
    assert log_in(app_client, "sato", STAFF_PASSWORD).status_code == 302
    assert app_client.get("/desk/").status_code == 200


def test_a_weak_or_mistyped_initial_password_is_refused_on_the_form(
    office: FlaskClient, session: Session
) -> None:
    weak = _post(
        office,
        "/admin/users/new",
        {"login": "sato", "roles": ["desk"], "password": "short", "password_again": "short"},
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.get_data(as_text=True)
    typo = _post(
        office,
        "/admin/users/new",
        {
            "login": "sato",
            "roles": ["desk"],
            "password": STAFF_PASSWORD,
            "password_again": STAFF_PASSWORD + "x",
        },
    )
    assert typo.status_code == 422
    assert "The two passwords differ." in typo.get_data(as_text=True)
    assert session.scalar(select(User.id).where(User.login == "sato")) is None


def test_a_member_login_gets_no_password_from_the_office_and_cannot_log_in(
    office: FlaskClient, app_client: FlaskClient, session: Session
) -> None:
    make_member(session, member_no="004711")
    session.commit()
    page = html.unescape(office.get("/admin/users/new").get_data(as_text=True))
    assert "never sees nor sets a member's password" in page and "invitation mail" in page
    refused = _post(
        office,
        "/admin/users/new",
        {"login": "yamada", "roles": ["member"], "member_no": "004711", "password": STAFF_PASSWORD},
    )
    assert refused.status_code == 422
    assert "never sets a member's password" in html.unescape(refused.get_data(as_text=True))
    created = _post(
        office, "/admin/users/new", {"login": "yamada", "roles": ["member"], "member_no": "004711"}
    )
    assert created.status_code == 303
    user = _user(session, "yamada")
    assert user.password_hash is None and user.member is not None and user.member.member_no == "004711"
    assert "No password yet" in office.get("/admin/users").get_data(as_text=True)
    failed = log_in(app_client, "yamada", "")
    assert failed.status_code == 200
    assert log_in(app_client, "yamada", STAFF_PASSWORD).status_code == 200  # the form again: not logged in
    assert app_client.get("/me/credits").status_code == 302


def test_the_users_list_shows_roles_member_state_last_login_and_lock(
    office: FlaskClient, session: Session, clock: Clock
) -> None:
    member = make_member(session, member_no="004712")
    make_login(session, "kato", Role.MEMBER, member=member)
    make_login(session, "ito", Role.AUDITOR)
    for _ in range(throttle.ACCOUNT_FAILURES):
        throttle.record_failure(session, "ito", "192.0.2.1", clock.now)
    session.commit()
    page = office.get("/admin/users").get_data(as_text=True)
    for text in ("kato", "004712", "Member", "ito", "Auditor", "office", "Administrator", "Locked until"):
        assert text in page
    assert office.get("/admin/users/ito").get_data(as_text=True).count("Unlock the login") == 1
    unlocked = _post(office, "/admin/users/ito/unlock", {}, page="/admin/users/ito")
    assert unlocked.status_code == 303
    assert throttle.locked_logins(session, ["ito"], clock.now) == {}
    assert "Not locked" in office.get("/admin/users/ito").get_data(as_text=True)


def test_roles_are_edited_against_the_version_the_page_showed(office: FlaskClient, session: Session) -> None:
    make_login(session, "sato", Role.DESK)
    version = _version_on_page(office, "sato")
    saved = _post(
        office,
        "/admin/users/sato/roles",
        {"roles": ["desk", "auditor"], "row_version": version},
        "/admin/users/sato",
    )
    assert saved.status_code == 303
    assert _user(session, "sato").roles == {Role.DESK, Role.AUDITOR}
    assert _user(session, "sato").row_version == version + 1
    stale = _post(
        office, "/admin/users/sato/roles", {"roles": ["admin"], "row_version": version}, "/admin/users/sato"
    )
    assert stale.status_code == 303
    page = office.get("/admin/users/sato").get_data(as_text=True)
    assert "someone else changed this login meanwhile" in page
    assert _user(session, "sato").roles == {Role.DESK, Role.AUDITOR}


def test_the_member_role_needs_a_linked_member_and_a_member_is_linked_and_unlinked(
    office: FlaskClient, session: Session
) -> None:
    make_member(session, member_no="004713")
    make_login(session, "sato", Role.DESK)
    version = _version_on_page(office, "sato")
    _post(
        office, "/admin/users/sato/roles", {"roles": ["member"], "row_version": version}, "/admin/users/sato"
    )
    assert "needs the number of its member" in office.get("/admin/users/sato").get_data(as_text=True)
    _post(
        office,
        "/admin/users/sato/member",
        {"member_no": "004713", "row_version": version},
        "/admin/users/sato",
    )
    user = _user(session, "sato")
    assert user.member is not None and user.member.member_no == "004713"
    _post(
        office,
        "/admin/users/sato/member",
        {"unlink": "yes", "row_version": user.row_version},
        "/admin/users/sato",
    )
    assert _user(session, "sato").member is None


def test_disabling_a_login_ends_its_open_session_and_enabling_lets_it_in_again(
    office: FlaskClient, app_client: FlaskClient, session: Session
) -> None:
    make_login(session, "sato", Role.DESK)
    log_in(app_client, "sato")
    assert app_client.get("/desk/").status_code == 200
    version = _version_on_page(office, "sato")
    _post(office, "/admin/users/sato/active", {"active": "no", "row_version": version}, "/admin/users/sato")
    user = _user(session, "sato")
    assert not user.active
    assert app_client.get("/desk/").status_code == 302  # back to the login form
    assert log_in(app_client, "sato").status_code == 200
    _post(
        office,
        "/admin/users/sato/active",
        {"active": "yes", "row_version": user.row_version},
        "/admin/users/sato",
    )
    assert _user(session, "sato").active
    assert log_in(app_client, "sato").status_code == 302
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target == "user:sato")).all()
    assert "user.disable" in actions and "user.enable" in actions


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted_on_the_pages(
    office: FlaskClient, session: Session
) -> None:
    version = _version_on_page(office, "office")
    _post(
        office, "/admin/users/office/active", {"active": "no", "row_version": version}, "/admin/users/office"
    )
    assert "last active administrator" in office.get("/admin/users/office").get_data(as_text=True)
    _post(
        office,
        "/admin/users/office/roles",
        {"roles": ["desk"], "row_version": version},
        "/admin/users/office",
    )
    assert "last active administrator" in office.get("/admin/users/office").get_data(as_text=True)
    user = _user(session, "office")
    assert user.active and user.roles == {Role.ADMIN} and user.row_version == version


def test_an_admin_may_disable_themself_while_another_admin_is_active(
    office: FlaskClient, session: Session
) -> None:
    make_login(session, "chief", Role.ADMIN)
    version = _version_on_page(office, "office")
    _post(
        office, "/admin/users/office/active", {"active": "no", "row_version": version}, "/admin/users/office"
    )
    assert not _user(session, "office").active
    assert office.get("/admin/users").status_code == 302  # their own session ended


def test_a_new_token_is_shown_once_uncached_and_works_until_revoked(
    office: FlaskClient, app_client: FlaskClient, session: Session
) -> None:
    form = office.get("/admin/tokens").get_data(as_text=True)
    assert re.search(r'name="valid_through"[^>]*value="\d{4}-\d\d-\d\d"', form)  # pre-filled: 90 days
    created = _post(
        office, "/admin/tokens", {"name": "desk-east", "role": "desk", "valid_through": ""}, "/admin/tokens"
    )
    assert created.status_code == 200
    assert "no-store" in created.headers["Cache-Control"]
    match = re.search(r'id="token-value">([A-Za-z0-9_-]{43,})<', created.get_data(as_text=True))
    assert match is not None
    token = match.group(1)
    with office.session_transaction() as cookie:
        assert token not in str(dict(cookie))
    listed = office.get("/admin/tokens").get_data(as_text=True)
    assert "desk-east" in listed and token not in listed and "Does not expire" in listed
    assert app_client.get(COUNTS, headers=bearer(token)).status_code == 404
    assert "Revoke the token" in office.get("/admin/tokens/desk-east/revoke").get_data(as_text=True)
    revoked = _post(office, "/admin/tokens/desk-east/revoke", {}, "/admin/tokens/desk-east/revoke")
    assert revoked.status_code == 303
    assert app_client.get(COUNTS, headers=bearer(token)).status_code == 401
    assert session.scalar(select(AuditEvent.sequence).where(AuditEvent.action == "token.revoke")) is not None


def test_an_admin_token_made_on_the_page_expires_on_the_day_given(
    office: FlaskClient, session: Session
) -> None:
    _post(
        office,
        "/admin/tokens",
        {"name": "office-sync", "role": "admin", "valid_through": "2099-03-31"},
        "/admin/tokens",
    )
    client = session.scalar(select(ApiClient).where(ApiClient.name == "office-sync"))
    assert client is not None and client.role == "admin" and client.expires_at is not None
    assert "2099-03-31" in office.get("/admin/tokens").get_data(as_text=True)
    taken = _post(office, "/admin/tokens", {"name": "office-sync", "role": "desk"}, "/admin/tokens")
    assert taken.status_code == 422
    assert "An API token with this name exists." in taken.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_the_office_pages_refuse_every_role_but_admin(
    client: FlaskClient, session: Session, role: Role
) -> None:
    member = make_member(session) if role is Role.MEMBER else None
    make_login(session, "someone", role, member=member)
    log_in(client, "someone")
    for path in ("/admin/users", "/admin/users/new", "/admin/users/someone", "/admin/tokens"):
        assert client.get(path).status_code == 403, path
    posted = client.post("/admin/users/someone/active", data={"csrf_token": csrf_token(client, "/")})
    assert posted.status_code == 403


def test_the_office_pages_send_an_anonymous_visitor_to_the_login_form(client: FlaskClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_overview_links_the_users_and_tokens_pages(office: FlaskClient) -> None:
    page = office.get("/home").get_data(as_text=True)
    assert 'href="/admin/users"' in page and 'href="/admin/tokens"' in page


def test_pages_are_in_japanese_for_a_japanese_browser(office: FlaskClient) -> None:
    office.set_cookie(LANG_COOKIE, "ja")
    assert "ユーザー" in office.get("/admin/users").get_data(as_text=True)
    assert "APIトークン" in office.get("/admin/tokens").get_data(as_text=True)


def test_a_bearer_token_of_any_role_cannot_reach_the_office_pages(
    client: FlaskClient, session: Session
) -> None:
    token = api_token(session, "office-sync", Role.ADMIN)
    response = client.get("/admin/users", headers=bearer(token))
    assert response.status_code == 302  # pages know no tokens: the login form
