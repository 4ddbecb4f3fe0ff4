"""Logging in and out through the web form: CSRF, generic errors, audit records, redirects by role."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.throttle import LoginFailures
from cme_tracker.audit.models import AuditEvent
from cme_tracker.vocabulary import Role
from tests.factories import make_member
from tests.integration.web_login import PASSWORD, csrf_token, log_in, log_out, make_login


def _events(session: Session, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.sequence)
    return list(session.scalars(query))


def _without_csrf_token(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_member_logging_in_lands_on_their_credits_page(client: FlaskClient, session: Session) -> None:
    make_login(session, "yamada", Role.MEMBER, member=make_member(session))
    response = log_in(client, "yamada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/credits"


@pytest.mark.parametrize("roles", [(Role.DESK,), (Role.AUDITOR,), (Role.ADMIN,), (Role.DESK, Role.MEMBER)])
def test_staff_logging_in_land_on_the_overview(
    client: FlaskClient, session: Session, roles: tuple[Role, ...]
) -> None:
    member = make_member(session) if Role.MEMBER in roles else None
    make_login(session, "staff", *roles, member=member)
    response = log_in(client, "staff")
    assert response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200


def test_overview_lists_only_the_tasks_of_the_users_roles(client: FlaskClient, session: Session) -> None:
    make_login(session, "desk1", Role.DESK)
    log_in(client, "desk1")
    page = client.get("/home", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Check members in and out" in page
    assert "Read a member&#39;s credits" not in page
    assert "Create logins" not in page


def test_every_link_on_the_overview_leads_to_a_page_the_user_may_open(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "everyone", *Role, member=make_member(session))
    log_in(client, "everyone")
    page = client.get("/home").get_data(as_text=True)
    links = set(re.findall(r'<a [^>]*href="(/[^"]*)"', page)) - {"/"}
    assert "/me/credits" in links
    for link in links:
        with client.get(link) as response:
            assert response.status_code in {200, 302}, link


def test_wrong_password_and_unknown_login_get_the_same_generic_answer(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "tanaka", Role.DESK)
    client.set_cookie("lang", "en")
    wrong_password = log_in(client, "tanaka", "not the password")
    unknown_login = log_in(client, "nobody", "not the password")
    assert wrong_password.status_code == unknown_login.status_code == 200
    assert "The login ID or password is incorrect." in wrong_password.get_data(as_text=True)
    assert _without_csrf_token(wrong_password.get_data(as_text=True)).replace("tanaka", "nobody") == (
        _without_csrf_token(unknown_login.get_data(as_text=True))
    )
    assert client.get("/home").status_code == 302


def test_successful_logins_are_written_to_the_audit_log_and_failures_are_not(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "tanaka", Role.AUDITOR)
    log_in(client, "tanaka", "not the password")
    log_in(client, "ghost", "not the password")
    log_in(client, "tanaka")
    assert _events(session, "login.failed") == []  # counted by the login throttle instead
    succeeded = _events(session, "login.succeeded")
    assert [(event.actor, event.target) for event in succeeded] == [("tanaka", "user:tanaka")]
    assert "not the password" not in str([event.details for event in succeeded])


def test_login_post_without_csrf_token_is_refused_and_not_attempted(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "tanaka", Role.DESK)
    response = client.post("/login", data={"login": "tanaka", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/home").status_code == 302
    assert _events(session, "login.succeeded") == []


def test_logout_needs_a_post_with_csrf_token(client: FlaskClient, session: Session) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/home").status_code == 200
    response = log_out(client)
    assert response.headers["Location"] == "/login"
    assert client.get("/home").status_code == 302
    assert [event.actor for event in _events(session, "logout")] == ["tanaka"]


def test_login_starts_a_new_session_so_a_planted_one_is_useless(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "tanaka", Role.DESK)
    token_before = csrf_token(client)
    with client.session_transaction() as cookie_session:
        cookie_session["planted"] = "by an attacker"
    log_in(client, "tanaka")
    with client.session_transaction() as cookie_session:
        assert "planted" not in cookie_session
    assert client.post("/logout", data={"csrf_token": token_before}).status_code == 400


def test_anonymous_visitor_is_sent_to_login_and_brought_back_afterwards(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "yamada", Role.MEMBER, member=make_member(session))
    response = client.get("/me/credits?year=2026")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/me/credits?year%3D2026"
    login_response = log_in(client, "yamada", query="?next=" + quote("/me/credits?year=2026"))
    assert login_response.headers["Location"] == "/me/credits?year=2026"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_parameter_never_leads_to_another_site(
    client: FlaskClient, session: Session, target: str
) -> None:
    make_login(session, "tanaka", Role.AUDITOR)
    response = log_in(client, "tanaka", query="?next=" + quote(target, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


def test_inactive_user_cannot_log_in(client: FlaskClient, session: Session) -> None:
    user = make_login(session, "retired", Role.DESK)
    user.active = False
    session.commit()
    response = log_in(client, "retired")
    assert response.status_code == 200
    assert "ログインIDまたはパスワードが正しくありません。" in response.get_data(as_text=True)
    assert session.get_one(LoginFailures, "login:retired").failures == 1


def test_front_page_sends_visitors_to_login_and_users_to_their_landing_page(
    client: FlaskClient, session: Session
) -> None:
    assert client.get("/").headers["Location"] == "/login"
    make_login(session, "tanaka", Role.AUDITOR)
    log_in(client, "tanaka")
    assert client.get("/").headers["Location"] == "/home"
    assert client.get("/login").headers["Location"] == "/home"


def test_empty_login_form_ties_each_error_to_its_field_and_records_no_attempt(
    client: FlaskClient, session: Session
) -> None:
    response = client.post("/login", data={"login": "", "password": "", "csrf_token": csrf_token(client)})
    page = response.get_data(as_text=True)
    login_input = re.search(r'<input[^>]*id="login"[^>]*>', page)
    assert login_input is not None
    assert 'aria-describedby="login-errors"' in login_input.group(0)
    assert 'aria-invalid="true"' in login_input.group(0)
    assert 'id="login-errors">このフィールドは必須です。' in page
    assert 'id="password-errors"' in page
    assert session.scalars(select(LoginFailures)).all() == []
