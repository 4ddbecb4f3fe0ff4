"""Issue 12, findings 3 and 9: each hostile request that gave a 500 (or was read whole) is refused with a 4xx.

The hostile-input suite (test_hostile_input.py) sends these to every URL rule; here each finding has its own
test with its exact status, code and message, and the limit's setting is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker import create_app
from cme_tracker.config import DEFAULT_MAX_REQUEST_BYTES, Settings
from cme_tracker.db import Database
from cme_tracker.vocabulary import Role
from tests.conftest import TEST_AUDIT_KEY
from tests.integration.checkin_data import Day, api_token, bearer, row_counts
from tests.integration.web_login import csrf_token, log_in, make_login

NESTED = "[" * 1000 + "]" * 1000


def _refused(response: Any, code: str = "refused_input") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == code


def test_json_nested_1000_deep_is_refused(client: FlaskClient, session: Session, day: Day) -> None:
    token = api_token(session, "desk-1", Role.DESK)
    before = row_counts(session)
    response = client.post("/api/v1/checkins", data=NESTED, headers=bearer(token))
    _refused(response)
    assert "32" in response.get_json()["message"]
    wrapped = '{"member_no": ' + NESTED + "}"
    _refused(client.post("/api/v1/checkins", data=wrapped, headers=bearer(token)))
    assert row_counts(session) == before


def test_json_nested_past_the_limit_is_refused_below_the_recursion_limit(
    client: FlaskClient, session: Session, day: Day
) -> None:
    token = api_token(session, "desk-1", Role.DESK)
    body = '{"member_no": ' + "[" * 40 + "]" * 40 + "}"
    _refused(client.post("/api/v1/checkins", data=body, headers=bearer(token)))


@pytest.mark.parametrize("text", ["\\ud800", "a\\u0000b", "\\udfff"])
def test_lone_surrogate_or_nul_in_a_json_string_or_key_is_refused(
    client: FlaskClient, session: Session, day: Day, text: str
) -> None:
    token = api_token(session, "desk-1", Role.DESK)
    before = row_counts(session)
    for body in (
        f'{{"member_no": "{text}", "lecture_code": "2026-05-L2", "direction": "in"}}',
        f'{{"{text}": 1, "member_no": "001001", "lecture_code": "2026-05-L2", "direction": "in"}}',
    ):
        response = client.post(
            "/api/v1/checkins", data=body, headers={**bearer(token), "Content-Type": "application/json"}
        )
        _refused(response)
        assert "NUL" in response.get_json()["message"]
    assert row_counts(session) == before


@pytest.mark.parametrize("path", ["/verify/A%00B.json", "/verify/A%00B", "/api/v1/symposia/A%00B/attendance"])
def test_nul_byte_in_a_path_is_refused(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 400
    assert "NUL" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/verify/A.json?c=x%00y", "/login?next=%00", "/api/v1/members/search?q=%00"]
)
def test_nul_byte_in_a_query_is_refused(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 400
    assert "NUL" in page.get_data(as_text=True)


def test_nul_byte_in_the_login_form_is_refused_and_writes_nothing(
    client: FlaskClient, session: Session
) -> None:
    make_login(session, "clerk", Role.DESK)
    before = row_counts(session)
    data = {"login": "cl\x00erk", "password": "x", "csrf_token": csrf_token(client)}
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert row_counts(session) == before


def test_walk_in_with_a_lone_surrogate_is_refused(client: FlaskClient, session: Session) -> None:
    make_login(session, "clerk", Role.DESK)
    log_in(client, "clerk")
    token = csrf_token(client, "/")
    before = row_counts(session)
    body = '{"family_name": "\\ud800", "given_name": "x", "profession": "physician"}'
    response = client.post(
        "/desk/walk-ins", data=body, headers={"X-CSRFToken": token, "Content-Type": "application/json"}
    )
    _refused(response)
    assert row_counts(session) == before


@pytest.mark.parametrize("name", ["before", "after"])
def test_huge_integer_in_the_audit_log_query_is_a_bad_request(
    client: FlaskClient, session: Session, name: str
) -> None:
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    response = client.get(f"/audit/log?{name}=999999999999999999999")
    assert response.status_code == 400
    assert client.get(f"/audit/log?{name}=2147483648").status_code == 400
    assert client.get(f"/audit/log?{name}=2147483647").status_code == 200


def test_huge_integer_in_a_path_is_not_found(client: FlaskClient, session: Session) -> None:
    token = api_token(session, "desk-1", Role.DESK)
    response = client.post("/api/v1/attendances/99999999999999999999/void", headers=bearer(token))
    assert response.status_code == 404
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    assert client.get("/audit/exports/99999999999999999999").status_code == 404
    assert client.get("/audit/years/99999999999999999999").status_code == 404
    assert client.get("/audit/exports/2147483648").status_code == 404
    assert client.get("/audit/exports/2147483647").status_code == 404  # in range: looked up, not found


def test_a_body_over_the_default_limit_gets_413_without_being_read(client: FlaskClient) -> None:
    body = b"x" * (DEFAULT_MAX_REQUEST_BYTES + 1)
    page = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413
    assert "16,777,216" in page.get_data(as_text=True)
    answer = client.post("/api/v1/checkins", data=body, content_type="application/json")
    assert answer.status_code == 413
    assert answer.get_json()["error"] == "too_large"


def test_the_limit_is_configurable(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_MAX_REQUEST_BYTES", "1000")
    assert Settings.from_environment({"INSTANCE_PATH": tmp_path}).max_request_bytes == 1000
    app: Flask = create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-secret",
            "AUDIT_KEY": TEST_AUDIT_KEY,
        }
    )
    client = app.test_client()
    assert client.post("/login", data={"login": "x" * 2000}).status_code == 413
    assert client.post("/login", data={"login": "x" * 10}).status_code == 400  # the CSRF check, as before


def test_the_default_limit_is_16_mb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CME_MAX_REQUEST_BYTES", raising=False)
    assert Settings.from_environment({"INSTANCE_PATH": tmp_path}).max_request_bytes == 16 * 1024 * 1024


def test_ordinary_json_still_passes(client: FlaskClient, session: Session, day: Day) -> None:
    token = api_token(session, "desk-1", Role.DESK)
    body: dict[str, Any] = {"member_no": "001001", "lecture_code": "2026-05-L9", "direction": "in"}
    response = client.post("/api/v1/checkins", json=body, headers=bearer(token))
    assert response.status_code == 404  # unknown lecture: the body reached the service


def test_a_multipart_part_whose_name_cannot_be_read_is_no_server_error(client: FlaskClient) -> None:
    """Found by schemathesis: werkzeug names a part called "\\r" None, which broke the NUL check and CSRF."""
    for path in ("/login", "/api/v1/checkins"):
        response = client.post(path, data={"\r": "null"}, content_type="multipart/form-data")
        assert response.status_code == 400, path
