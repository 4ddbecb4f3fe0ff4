"""``/api/v1/imports``: upload and dry run, every problem in a 422, confirm once with If-Match, the runs."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import Database
from cme_tracker.import_runs.models import ImportRun
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.integration.checkin_data import api_token, bearer, logged_in
from tests.integration.test_office_imports import members_csv, xlsx_of

DATA = Path(__file__).parent.parent / "data"
CSV = {"Content-Type": "text/csv"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def office(session: Session) -> dict[str, str]:
    return bearer(api_token(session, "office-script", Role.ADMIN))


def members(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Member)) or 0


def test_a_file_with_a_bad_row_answers_422_listing_it_and_imports_nothing(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/imports/members", data=members_csv(bad_efn=True), headers={**office, **CSV}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "import_rejected"
    assert body["message"] == "members.csv: rejected with 1 error; nothing was imported"
    assert body["details"]["errors"] == [
        {
            "line": 4,
            "column": "efn",
            "reason": "an EFN has 15 digits, not 3",
            "message": "members.csv:4:efn: an EFN has 15 digits, not 3",
        }
    ]
    run = client.get(f"/api/v1/imports/{body['details']['run_id']}", headers=office).get_json()
    assert run["status"] == "dry_run_failed" and run["uploaded_by"] == "token:office-script"
    assert members(session) == 0


def test_a_dry_run_counts_the_rows_and_a_confirmation_imports_them_once(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    response = client.post("/api/v1/imports/members", data=members_csv(), headers={**office, **CSV})
    assert response.status_code == 201
    run = response.get_json()
    assert run["status"] == "dry_run_ok"
    assert run["rows"] == {"added": 5, "changed": 0, "unchanged": 0}
    assert run["symposia"] is None and run["errors"] == []
    assert members(session) == 0
    etag = response.headers["ETag"]
    assert etag == f'"{run["version"]}"'
    path = f"/api/v1/imports/{run['id']}/confirm"
    assert client.post(path, headers=office).status_code == 428
    confirmed = client.post(path, headers={**office, "If-Match": etag})
    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "imported"
    assert members(session) == 5
    again = client.post(path, headers={**office, "If-Match": confirmed.headers["ETag"]})
    assert again.status_code == 409 and again.get_json()["error"] == "already_imported"
    stale = client.post(path, headers={**office, "If-Match": etag})
    assert stale.status_code == 409
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "import.members")).all()) == 1


def test_a_stale_if_match_is_refused(client: FlaskClient, session: Session, office: dict[str, str]) -> None:
    run = client.post("/api/v1/imports/members", data=members_csv(), headers={**office, **CSV}).get_json()
    response = client.post(f"/api/v1/imports/{run['id']}/confirm", headers={**office, "If-Match": '"99"'})
    assert response.status_code == 412
    assert response.get_json()["details"] == {"current_version": run["version"]}
    assert members(session) == 0


def test_a_failed_dry_run_cannot_be_confirmed(client: FlaskClient, office: dict[str, str]) -> None:
    body = client.post(
        "/api/v1/imports/members", data=members_csv(bad_efn=True), headers={**office, **CSV}
    ).get_json()
    run = client.get(f"/api/v1/imports/{body['details']['run_id']}", headers=office)
    response = client.post(
        f"/api/v1/imports/{body['details']['run_id']}/confirm",
        headers={**office, "If-Match": run.headers["ETag"]},
    )
    assert response.status_code == 409 and response.get_json()["error"] == "not_confirmable"


def test_dry_run_false_imports_at_once(client: FlaskClient, session: Session, office: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/imports/members?dry_run=false", data=members_csv(), headers={**office, **CSV}
    )
    assert response.status_code == 201 and response.get_json()["status"] == "imported"
    assert members(session) == 5


def test_xlsx_and_multipart_bodies_are_read(
    client: FlaskClient, session: Session, office: dict[str, str]
) -> None:
    xlsx = client.post(
        "/api/v1/imports/members", data=xlsx_of(members_csv()), headers={**office, "Content-Type": XLSX}
    )
    assert xlsx.status_code == 201
    assert xlsx.get_json()["file_name"] == "members.xlsx" and xlsx.get_json()["rows"]["added"] == 5
    multipart = client.post(
        "/api/v1/imports/program",
        data={"file": (io.BytesIO((DATA / "program.csv").read_bytes()), "2026 program.csv")},
        content_type="multipart/form-data",
        headers=office,
    )
    assert multipart.status_code == 201
    run = multipart.get_json()
    assert run["file_name"] == "2026 program.csv" and run["kind"] == "program"
    assert run["symposia"]["added"] >= 1
    named = client.post(
        "/api/v1/imports/members?file_name=list.xlsx",
        data=xlsx_of(members_csv()),
        headers={**office, "Content-Type": "application/octet-stream"},
    )
    assert named.status_code == 201 and named.get_json()["file_name"] == "list.xlsx"


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        ("/api/v1/imports/nurses", {"data": b"x", "headers": CSV}, 404, "unknown_import_kind"),
        ("/api/v1/imports/members", {"data": b"", "headers": CSV}, 422, "invalid"),
        (
            "/api/v1/imports/members",
            {"data": b"a,b", "headers": {"Content-Type": "image/png"}},
            422,
            "invalid",
        ),
        ("/api/v1/imports/members?dry_run=maybe", {"data": b"a", "headers": CSV}, 422, "invalid"),
        (
            "/api/v1/imports/members",
            {"data": {"other": (io.BytesIO(b"x"), "a.csv")}, "content_type": "multipart/form-data"},
            422,
            "invalid",
        ),
        ("/api/v1/imports/999/confirm", {"headers": {"If-Match": '"1"'}}, 404, "unknown_import_run"),
    ],
)
def test_requests_without_a_usable_file_are_refused_and_record_nothing(
    client: FlaskClient,
    session: Session,
    office: dict[str, str],
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = {**office, **kwargs.pop("headers", {})}
    response = client.post(path, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"] == code
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_the_runs_are_listed_a_page_at_a_time(client: FlaskClient, office: dict[str, str]) -> None:
    for _ in range(3):
        client.post("/api/v1/imports/members", data=members_csv(), headers={**office, **CSV})
    first = client.get("/api/v1/imports?limit=2", headers=office).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(f"/api/v1/imports?limit=2&cursor={first['next_cursor']}", headers=office).get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [run["id"] for run in first["items"] + second["items"]]
    assert ids == sorted(ids)
    assert client.get("/api/v1/imports/999", headers=office).status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.DESK])
def test_other_tokens_are_refused(client: FlaskClient, session: Session, role: Role) -> None:
    token = bearer(api_token(session, f"script-{role.value}", role))
    assert (
        client.post("/api/v1/imports/members", data=members_csv(), headers={**token, **CSV}).status_code
        == 403
    )
    assert client.get("/api/v1/imports", headers=token).status_code == 403
    assert client.get("/api/v1/imports/1", headers=token).status_code == 403
    assert client.post("/api/v1/imports/1/confirm", headers={**token, "If-Match": '"1"'}).status_code == 403
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.DESK, Role.MEMBER])
def test_other_logins_are_refused(client: FlaskClient, session: Session, role: Role) -> None:
    from tests.factories import make_member

    csrf = logged_in(client, session, f"login-{role.value}", role, member=make_member(session))
    response = client.post("/api/v1/imports/members", data=members_csv(), headers={**csrf, **CSV})
    assert response.status_code == 403
    assert client.get("/api/v1/imports", headers=csrf).status_code == 403
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_an_admin_session_uploads_with_its_csrf_token(client: FlaskClient, session: Session) -> None:
    csrf = logged_in(client, session, "office", Role.ADMIN)
    assert client.post("/api/v1/imports/members", data=members_csv(), headers=CSV).status_code == 400
    response = client.post("/api/v1/imports/members", data=members_csv(), headers={**csrf, **CSV})
    assert response.status_code == 201
    assert response.get_json()["uploaded_by"] == "user:office"


def test_a_large_file_is_queued_as_a_job_and_answered_202(
    client: FlaskClient, session: Session, office: dict[str, str], app: Flask, db: Database
) -> None:
    app.extensions["cme_settings"] = dataclasses.replace(app.extensions["cme_settings"], import_job_bytes=100)
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    response = client.post("/api/v1/imports/members", data=members_csv(), headers={**office, **CSV})
    assert response.status_code == 202
    run = response.get_json()
    assert run["status"] == "checking" and run["job_id"] is not None
    run_queued_jobs(db, app.extensions["cme_settings"], JOB_KINDS)
    checked = client.get(f"/api/v1/imports/{run['id']}", headers=office)
    assert checked.get_json()["status"] == "dry_run_ok"
    confirmed = client.post(
        f"/api/v1/imports/{run['id']}/confirm", headers={**office, "If-Match": checked.headers["ETag"]}
    )
    assert confirmed.status_code == 202 and confirmed.get_json()["status"] == "importing"
    run_queued_jobs(db, app.extensions["cme_settings"], JOB_KINDS)
    assert client.get(f"/api/v1/imports/{run['id']}", headers=office).get_json()["status"] == "imported"
    assert members(session) == 5
