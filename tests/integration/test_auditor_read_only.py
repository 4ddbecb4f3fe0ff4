"""Auditors read and never write: every route of the app that accepts a write method refuses them.

The walk covers the whole URL map, so a route added later is checked too. URLs are built from each rule with
a dummy value for every argument: the role check answers before any view looks the value up.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from cme_tracker.accounts.tokens import create_client
from cme_tracker.db import Base
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import PUBLIC, declared_access
from tests.integration.web_login import csrf_token, log_in, make_login

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LOGIN_ROUTES = {"accounts.login", "accounts.logout"}
"""They change who is logged in, not the records; logging out is left to the end of the walk's session."""
EXPORT_REQUEST = "audit_exports.request_export"
"""An auditor's one post: asking for an export queues a job and records the request; no record changes."""
API_PREFIX = "/api/"
COUNTERS = {"rate_limit_windows"}
"""Request counters of the public pages, not records: a public upload may count itself there."""


def _write_routes(app: Flask, *, public: bool = False) -> list[tuple[str, str, str]]:
    """``(method, url, endpoint)`` of every rule that accepts a write method, with dummy arguments; those
    open to everyone (the public verification upload) only when ``public``."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in LOGIN_ROUTES or rule.endpoint == EXPORT_REQUEST:
            continue
        if (declared_access(app.view_functions[rule.endpoint]) == PUBLIC) != public:
            continue
        for method in sorted(set(WRITE_METHODS) & (rule.methods or set())):
            routes.append((method, _url(rule), rule.endpoint))
    return routes


def _url(rule: Rule) -> str:
    built = rule.build(dict.fromkeys(rule.arguments, "1"), append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def _row_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name not in COUNTERS
    }


def test_walk_covers_the_write_routes_of_every_role(app: Flask) -> None:
    endpoints = {endpoint for _, _, endpoint in _write_routes(app)}
    assert {"api.checkins", "admin.new_card", "certificate_admin.revoke"} <= endpoints
    public = {endpoint for _, _, endpoint in _write_routes(app, public=True)}
    assert public == {"verify.upload"}
    assert not any(endpoint.startswith("auditing.") for endpoint in endpoints | public)
    assert EXPORT_REQUEST in app.view_functions


def test_an_auditors_export_request_adds_a_job_and_audit_events_and_changes_no_records(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    before = _row_counts(session)
    response = client.post(
        "/audit/exports",
        data={"csrf_token": csrf_token(client, "/"), "year": "2026", "basis": "calendar", "format": "zip"},
    )
    assert response.status_code == 303
    changed = {table: count for table, count in _row_counts(session).items() if count != before[table]}
    assert set(changed) <= {"jobs", "audit_events", "audit_head"}
    assert changed["jobs"] == before["jobs"] + 1


def test_a_logged_in_auditor_gets_403_from_every_route_that_writes(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    token = csrf_token(client, "/")
    before = _row_counts(session)
    answers = {
        f"{method} {url}": client.open(
            url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token}
        ).status_code
        for method, url, _ in _write_routes(app)
    }
    assert {route: status for route, status in answers.items() if status != 403} == {}
    for method, url, _ in _write_routes(app, public=True):
        client.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
    assert _row_counts(session) == before


def test_an_auditor_api_token_is_refused_by_every_api_route_that_writes(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    _, token = create_client(session, name="auditor-script", role=Role.AUDITOR, actor="test")
    session.commit()
    before = _row_counts(session)
    api_routes = [(method, url) for method, url, _ in _write_routes(app) if url.startswith(API_PREFIX)]
    assert api_routes
    answers = {
        f"{method} {url}": client.open(
            url, method=method, json={}, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        for method, url in api_routes
    }
    assert {route: status for route, status in answers.items() if status not in (401, 403)} == {}
    assert _row_counts(session) == before


def test_reading_every_audit_page_changes_nothing(app: Flask, client: FlaskClient, session: Session) -> None:
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    before = _row_counts(session)
    pages = [
        _url(rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("auditing.") and rule.endpoint != "auditing.export"
    ]
    assert len(pages) >= 5
    for url in pages:
        with client.get(url.replace("/years/1", "/years/2026"), query_string={"verify": "1"}) as response:
            assert response.status_code in (200, 302, 404), url
    assert _row_counts(session) == before
