"""`cme-tracker tokens`: API tokens are shown once, stored hashed, audited, and stop working when revoked."""

from __future__ import annotations

import hashlib
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.tokens import ApiClient
from cme_tracker.audit.models import AuditEvent
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
    assert desk_token not in result.stdout


def test_duplicate_name_and_unknown_client_are_refused_with_exit_1(cli: CommandLine) -> None:
    cli("tokens", "create", "desk-1", "--role", "desk")
    again = cli("tokens", "create", "desk-1", "--role", "desk")
    assert again.exit_code == 1
    assert again.stdout == "" and "desk-1" in again.stderr
    missing = cli("tokens", "revoke", "nobody")
    assert missing.exit_code == 1 and "nobody" in missing.stderr


def test_admin_and_member_roles_and_odd_names_are_usage_errors(cli: CommandLine, session: Session) -> None:
    assert cli("tokens", "create", "root", "--role", "admin").exit_code == 2
    assert cli("tokens", "create", "me", "--role", "member").exit_code == 2
    assert cli("tokens", "create", "desk 1", "--role", "desk").exit_code == 2
    assert cli("tokens", "create", "d" * 51, "--role", "desk").exit_code == 2
    assert session.scalar(select(ApiClient.id)) is None
