"""Logging in through the real login form, CSRF token and all, for the web tests."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import create_user
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role

PASSWORD = "correct horse battery staple"
_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page's form carries, as a browser would send it back."""
    match = _CSRF_FIELD.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    assert match is not None, f"{path} has no CSRF token"
    return match.group(1)


def make_login(session: Session, login: str, *roles: Role, member: Member | None = None) -> User:
    user = create_user(
        session,
        login=login,
        password=PASSWORD,
        roles=list(roles),
        member_no=member.member_no if member is not None else None,
        actor="test",
    )
    session.commit()
    return user


def log_in(client: FlaskClient, login: str, password: str = PASSWORD, query: str = "") -> TestResponse:
    """Post the login form; ``query`` follows /login as after a redirect (``?next=...``)."""
    return client.post(
        f"/login{query}", data={"login": login, "password": password, "csrf_token": csrf_token(client)}
    )


def log_out(client: FlaskClient) -> TestResponse:
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
