"""Errors become pages in the site's layout, or JSON under /api/; a failed request changes nothing."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.errors import Conflict
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import public, roles_required
from cme_tracker.web.session import db_session
from tests.integration.web_login import csrf_token, log_in, make_login


def _write_then_refuse() -> str:
    chain.record(db_session(), actor="test", action="half.done")
    raise Conflict("the symposium is closed", code="symposium_closed", details={"symposium": "2026-05"})


def _crash() -> str:
    raise RuntimeError("a bug")


def _audited() -> str:
    return "ok"


@pytest.fixture
def app_with_probes(app: Flask) -> Flask:
    """The app plus a few routes that fail on purpose, as pages and as API endpoints."""
    probes = Blueprint("probes", __name__)
    for prefix in ("", "/api/v1/probe"):
        refuse, crash = public(_write_then_refuse), public(_crash)
        audited = roles_required(Role.AUDITOR)(_audited)
        probes.add_url_rule(f"{prefix}/refuse", f"refuse{prefix}", refuse, methods=["POST"])
        probes.add_url_rule(f"{prefix}/crash", f"crash{prefix}", crash)
        probes.add_url_rule(f"{prefix}/audited", f"audited{prefix}", audited, methods=["GET", "POST"])
    app.register_blueprint(probes)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def probe_client(app_with_probes: Flask) -> FlaskClient:
    return app_with_probes.test_client()


def test_unknown_page_is_a_404_page_in_the_site_layout(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert "国際医学会" in page


def test_wrong_method_is_a_405_page_that_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.delete("/login", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert "Method not allowed" in response.get_data(as_text=True)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_api_paths_answer_errors_as_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json
    body = response.get_json()
    assert body["error"] == "not_found"
    assert body["message"]
    assert "details" in body


def test_anonymous_api_call_gets_401_json_instead_of_the_login_page(probe_client: FlaskClient) -> None:
    response = probe_client.get("/api/v1/probe/audited")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_call_with_the_wrong_role_gets_403_json(probe_client: FlaskClient, session: Session) -> None:
    make_login(session, "desk1", Role.DESK)
    log_in(probe_client, "desk1")
    response = probe_client.get("/api/v1/probe/audited")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_page_with_the_wrong_role_gets_the_403_page(probe_client: FlaskClient, session: Session) -> None:
    make_login(session, "desk1", Role.DESK)
    log_in(probe_client, "desk1")
    response = probe_client.get("/audited", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "Access denied" in response.get_data(as_text=True)


def test_domain_error_in_a_page_shows_its_message_with_its_status(probe_client: FlaskClient) -> None:
    response = probe_client.post("/refuse", data={"csrf_token": csrf_token(probe_client)})
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "the symposium is closed" in response.get_data(as_text=True)


def test_domain_error_in_the_api_is_json_with_code_message_and_details(
    probe_client: FlaskClient, session: Session
) -> None:
    make_login(session, "auditor1", Role.AUDITOR)
    log_in(probe_client, "auditor1")
    token = csrf_token(probe_client, "/home")
    response = probe_client.post("/api/v1/probe/refuse", data={"csrf_token": token})
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "symposium_closed",
        "message": "the symposium is closed",
        "details": {"symposium": "2026-05"},
    }


def test_request_that_fails_leaves_the_database_as_it_was(
    probe_client: FlaskClient, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    probe_client.post("/refuse", data={"csrf_token": csrf_token(probe_client)})
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert session.scalar(select(func.count()).where(AuditEvent.action == "half.done")) == 0


def test_failed_csrf_check_is_a_clear_400_page(client: FlaskClient) -> None:
    response = client.post("/login", data={"login": "x", "password": "y"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Form expired" in page
    assert "Reload the page" in page


def test_failed_csrf_check_on_the_api_is_json(probe_client: FlaskClient, session: Session) -> None:
    make_login(session, "auditor1", Role.AUDITOR)
    log_in(probe_client, "auditor1")
    response = probe_client.post("/api/v1/probe/audited")
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"


def test_unexpected_exception_is_a_500_page_without_details(probe_client: FlaskClient) -> None:
    response = probe_client.get("/crash", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "a bug" not in page


def test_unexpected_exception_in_the_api_is_a_500_json(probe_client: FlaskClient) -> None:
    response = probe_client.get("/api/v1/probe/crash")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"
    assert "a bug" not in response.get_data(as_text=True)


def test_error_pages_are_translated(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "ja"})
    assert "ページが見つかりません" in response.get_data(as_text=True)
