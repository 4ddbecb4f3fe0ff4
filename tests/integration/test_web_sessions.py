"""Session hardening: revoked on the server at logout, ended when idle, Secure cookies and HSTS over https."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker import create_app
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import Database
from cme_tracker.vocabulary import Role
from tests.conftest import TEST_AUDIT_KEY, CommandLine
from tests.integration.checkin_data import Clock, Day
from tests.integration.web_login import log_in, log_out, make_login


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_copied_before_logout_does_not_work_after_it(client: FlaskClient, session: Session) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    assert client.get("/home").status_code == 200
    copied = _session_cookie(client)
    log_out(client)
    client.set_cookie("session", copied)
    response = client.get("/home")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logging_in_again_after_logout_works(client: FlaskClient, session: Session) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    log_out(client)
    log_in(client, "tanaka")
    assert client.get("/home").status_code == 200


def test_a_session_idle_longer_than_the_timeout_ends(
    client: FlaskClient, session: Session, clock: Clock
) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    assert client.get("/home").status_code == 200
    clock.now += timedelta(minutes=29)
    assert client.get("/home").status_code == 200
    clock.now += timedelta(minutes=29)  # active 29 minutes ago: still in
    assert client.get("/home").status_code == 200
    clock.now += timedelta(minutes=31)
    assert client.get("/home").status_code == 302
    clock.now += timedelta(minutes=1)
    assert client.get("/home").status_code == 302


@pytest.mark.parametrize(
    ("settings", "headers", "secure"),
    [
        ({"PUBLIC_URL": "https://cme.example.jp"}, {}, True),
        ({"PUBLIC_URL": "http://127.0.0.1:5000"}, {}, False),
        ({"PROXY_HOPS": 1}, {"X-Forwarded-Proto": "https"}, True),
        ({"PROXY_HOPS": 1}, {"X-Forwarded-Proto": "http"}, False),
        ({}, {"X-Forwarded-Proto": "https"}, False),  # no trusted proxy: the header is anyone's word
    ],
)
def test_cookies_are_secure_and_hsts_is_sent_over_https(
    db: Database, tmp_path: Path, settings: dict[str, Any], headers: dict[str, str], secure: bool
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-secret",
            "AUDIT_KEY": TEST_AUDIT_KEY,
            **settings,
        }
    )
    response = app.test_client().get("/login", headers=headers)  # the form's CSRF token starts a session
    assert response.status_code == 200
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure
    assert ("Strict-Transport-Security" in response.headers) is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is settings.get("PUBLIC_URL", "").startswith("https://")


def test_a_new_password_ends_every_session_of_the_login(
    client: FlaskClient, session: Session, cli: CommandLine
) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    assert client.get("/home").status_code == 200
    result = cli("users", "set-password", "tanaka", input="a brand new password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/home").status_code == 302
    assert log_in(client, "tanaka").status_code == 200  # the old password no longer works
    assert log_in(client, "tanaka", "a brand new password").headers["Location"] == "/home"
    events = session.scalars(select(AuditEvent.target).where(AuditEvent.action == "user.password")).all()
    assert events == ["user:tanaka"]


def test_set_password_refuses_an_unknown_login_and_a_short_password(
    cli: CommandLine, session: Session
) -> None:
    make_login(session, "tanaka", Role.DESK)
    assert cli("users", "set-password", "nobody", input="a brand new password\n").exit_code == 1
    assert cli("users", "set-password", "tanaka", input="short\n").exit_code == 1


def test_the_api_answers_401_to_a_session_that_ended(
    client: FlaskClient, session: Session, clock: Clock, day: Day
) -> None:
    make_login(session, "tanaka", Role.DESK)
    log_in(client, "tanaka")
    counts = "/api/v1/symposia/2026-05/attendance"
    assert client.get(counts).status_code == 200
    clock.now += timedelta(minutes=31)
    response = client.get(counts)
    assert (response.status_code, response.get_json()["error"]) == (401, "unauthorized")
