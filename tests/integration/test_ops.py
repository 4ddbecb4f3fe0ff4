"""/healthz, /readyz and /metrics: what a load balancer and a monitoring system ask of each web process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker import create_app
from cme_tracker.config import AUDIT_KEY_FILE
from cme_tracker.db import Database
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.migrate import upgrade
from tests.conftest import TEST_AUDIT_KEY, DatabaseFactory
from tests.integration.checkin_data import Clock, Day, api_token, bearer, checkin

METRICS_TOKEN = "metrics-token-for-tests"


def _with_keys(instance: Path) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / AUDIT_KEY_FILE).write_text(TEST_AUDIT_KEY + "\n", encoding="ascii")
    load_signing_identity(instance)


def _app(database: Database, instance: Path) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE": database,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "test",
            "AUDIT_KEY": TEST_AUDIT_KEY,
            "METRICS_TOKEN": METRICS_TOKEN,
        }
    )


def _metric(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of a Prometheus text exposition; 0 when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" ([0-9.e+-]+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_healthz_answers_without_asking_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_is_200_when_every_check_passes(db: Database, tmp_path: Path) -> None:
    _with_keys(tmp_path / "instance")
    response = _app(db, tmp_path / "instance").test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "instance_folder": "ok", "keys": "ok"},
    }


def test_readyz_names_a_missing_key(db: Database, tmp_path: Path) -> None:
    _with_keys(tmp_path / "instance")
    (tmp_path / "instance" / AUDIT_KEY_FILE).unlink()
    response = _app(db, tmp_path / "instance").test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready" and "the audit key" in body["checks"]["keys"]
    assert body["checks"]["database"] == "ok"


def test_readyz_names_migrations_that_are_behind(database_factory: DatabaseFactory, tmp_path: Path) -> None:
    database = Database.connect(database_factory.create("behind"), TEST_AUDIT_KEY)
    try:
        upgrade(database.engine, "0007")
        _with_keys(tmp_path / "instance")
        response = _app(database, tmp_path / "instance").test_client().get("/readyz")
    finally:
        database.engine.dispose()
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert (
        "the database is at 0007" in checks["migrations"] and "cme-tracker db upgrade" in checks["migrations"]
    )


def test_readyz_names_a_database_that_does_not_answer(tmp_path: Path) -> None:
    database = Database.connect("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", TEST_AUDIT_KEY)
    _with_keys(tmp_path / "instance")
    response = _app(database, tmp_path / "instance").test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "the database does not answer"
    assert checks["migrations"] == "the database does not answer" and checks["keys"] == "ok"


@pytest.fixture
def clock(clock: Clock) -> Clock:
    clock.at("09:42")
    return clock


def test_metrics_count_a_check_in_and_the_request_by_its_route(
    client: FlaskClient, session: Session, day: Day, clock: Clock
) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    desk = bearer(api_token(session))
    assert client.post("/api/v1/checkins", json=checkin(member_no="001002"), headers=desk).status_code == 201
    assert client.post("/api/v1/checkins", json=checkin(member_no="999999"), headers=desk).status_code == 404
    after = client.get("/metrics").get_data(as_text=True)
    for outcome in ("checked_in", "unknown_member"):
        assert (
            _metric(after, "cme_checkins_total", outcome=outcome)
            == _metric(before, "cme_checkins_total", outcome=outcome) + 1
        )
    route = {"method": "POST", "route": "/api/v1/checkins", "status": "201"}
    assert _metric(after, "cme_http_requests_total", **route) >= 1
    assert _metric(after, "cme_http_request_duration_seconds_count", route="/api/v1/checkins") >= 2
    assert "cme_jobs{" not in after or "queued" in after


def test_metrics_are_refused_to_other_addresses_unless_they_bring_the_token(
    db: Database, tmp_path: Path
) -> None:
    client = _app(db, tmp_path / "instance").test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    wrong = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 403
    allowed = client.get(
        "/metrics", environ_base=outside, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert allowed.status_code == 200 and allowed.mimetype == "text/plain"
    assert "# TYPE cme_documents gauge" in allowed.get_data(as_text=True)


def test_unknown_paths_are_counted_under_one_label(client: FlaskClient) -> None:
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    text = client.get("/metrics").get_data(as_text=True)
    assert "/no/such/page" not in text
    assert _metric(text, "cme_http_requests_total", method="GET", route="unmatched", status="404") >= 2
