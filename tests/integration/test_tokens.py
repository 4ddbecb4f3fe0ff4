"""`cme-tracker tokens`: API tokens are shown once, stored hashed, audited, and stop working when revoked or
expired; admin tokens expire by default."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.tokens import ApiClient
from cme_tracker.audit.models import AuditEvent
from cme_tracker.society import SOCIETY_ZONE, society_today
from tests.conftest import CommandLine
from tests.integration.checkin_data import bearer

COUNTS = "/api/v1/symposia/1999-01/attendance"
"""An endpoint desk and auditor clients may read: 404 (no such symposium) once the token is accepted."""


def test_create_prints_the_token_alone_and_stores_only_its_sha256(cli: CommandLine, session: Session) -> None:
    result = cli("tokens", "create", "desk-east", "--role", "desk")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
    client = session.scalar(select(ApiClient).where(ApiClient.name == "desk-east"))
    assert client is not None and client.role == "desk" and client.revoked_at is None
    assert client.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "token.create"))
    assert event is not None and event.target == "api_client:desk-east" and token not in str(event.details)


def test_created_token_authenticates_and_revoked_token_gets_401(
    cli: CommandLine, client: FlaskClient, session: Session
) -> None:
    token = cli("tokens", "create", "auditor-script", "--role", "auditor").stdout.strip()
    assert client.get(COUNTS, headers=bearer(token)).status_code == 404
    revoked = cli("tokens", "revoke", "auditor-script")
    assert revoked.exit_code == 0 and "auditor-script" in revoked.stdout
    response = client.get(COUNTS, headers=bearer(token))
    assert (response.status_code, response.get_json()["error"]) == (401, "unauthorized")
    assert session.scalar(select(AuditEvent.sequence).where(AuditEvent.action == "token.revoke")) is not None


def test_list_shows_names_roles_and_states_but_never_a_token(cli: CommandLine) -> None:
    desk_token = cli("tokens", "create", "desk-west", "--role", "desk").stdout.strip()
    cli("tokens", "create", "auditor-1", "--role", "auditor")
    cli("tokens", "revoke", "auditor-1")
    result = cli("tokens", "list")
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(line[0], line[1]) for line in lines] == [("auditor-1", "auditor"), ("desk-west", "desk")]
    assert lines[0][3].startswith("revoked") and lines[1][3] == "active"
    assert lines[1][4] == "never used"
    assert desk_token not in result.stdout


def test_duplicate_name_and_unknown_client_are_refused_with_exit_1(cli: CommandLine) -> None:
    cli("tokens", "create", "desk-1", "--role", "desk")
    again = cli("tokens", "create", "desk-1", "--role", "desk")
    assert again.exit_code == 1
    assert again.stdout == "" and "desk-1" in again.stderr
    missing = cli("tokens", "revoke", "nobody")
    assert missing.exit_code == 1 and "nobody" in missing.stderr


def test_member_role_and_odd_names_are_usage_errors(cli: CommandLine, session: Session) -> None:
    assert cli("tokens", "create", "me", "--role", "member").exit_code == 2
    assert cli("tokens", "create", "desk 1", "--role", "desk").exit_code == 2
    assert cli("tokens", "create", "d" * 51, "--role", "desk").exit_code == 2
    assert session.scalar(select(ApiClient.id)) is None


def test_an_admin_token_expires_after_90_days_unless_a_date_is_given(
    cli: CommandLine, session: Session
) -> None:
    assert cli("tokens", "create", "office-sync", "--role", "admin").exit_code == 0
    assert (
        cli("tokens", "create", "office-report", "--role", "admin", "--expires", "2099-03-31").exit_code == 0
    )
    clients = {client.name: client for client in session.scalars(select(ApiClient))}
    default_end = clients["office-sync"].expires_at
    assert default_end is not None
    assert (default_end.astimezone(SOCIETY_ZONE).date() - society_today()) == timedelta(days=91)
    named_end = clients["office-report"].expires_at
    assert named_end is not None and named_end.astimezone(SOCIETY_ZONE).date() == date(2099, 4, 1)
    listed = cli("tokens", "list").stdout
    assert "office-report\tadmin" in listed and "active through 2099-03-31" in listed
    assert cli("tokens", "create", "late", "--role", "desk", "--expires", "2000-01-01").exit_code == 1


def test_an_admin_token_reaches_admin_routes_and_an_expired_one_gets_401(
    cli: CommandLine, client: FlaskClient, session: Session
) -> None:
    token = cli("tokens", "create", "office", "--role", "admin").stdout.strip()
    void = client.post("/api/v1/attendances/999999/void", json={"reason": "test"}, headers=bearer(token))
    assert (void.status_code, void.get_json()["error"]) == (404, "unknown_attendance")
    office = session.scalar(select(ApiClient).where(ApiClient.name == "office"))
    assert office is not None
    office.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    refused = client.get(COUNTS, headers=bearer(token))
    assert (refused.status_code, refused.get_json()["error"]) == (401, "unauthorized")


def test_the_last_use_of_a_token_is_noted_at_most_once_an_hour(
    cli: CommandLine, client: FlaskClient, session: Session
) -> None:
    token = cli("tokens", "create", "desk-north", "--role", "desk").stdout.strip()
    client.get(COUNTS, headers=bearer(token))
    desk = session.scalar(select(ApiClient).where(ApiClient.name == "desk-north"))
    assert desk is not None
    session.refresh(desk)
    first = desk.last_used_at
    assert first is not None and datetime.now(UTC) - first < timedelta(minutes=1)
    client.get(COUNTS, headers=bearer(token))
    session.refresh(desk)
    assert desk.last_used_at == first
    assert "never used" not in cli("tokens", "list").stdout
