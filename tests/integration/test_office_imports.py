"""The office's Imports page: upload, a dry run listing every problem by line and column, confirm once."""

from __future__ import annotations

import dataclasses
import html
import io
import re
import threading
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import Database
from cme_tracker.errors import DomainError
from cme_tracker.import_runs import services
from cme_tracker.import_runs.models import ImportKind, ImportRun, ImportRunStatus
from cme_tracker.import_runs.services import (
    UPLOADS,
    Upload,
    check_run,
    clean_file_name,
    get_run,
    import_run,
    record_upload,
)
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role
from tests.conftest import migrated_database
from tests.factories import make_member
from tests.integration.web_login import csrf_token, log_in, make_login

DATA = Path(__file__).parent.parent / "data"
ENGLISH = {"Accept-Language": "en"}
BAD_EFN = "123"


def members_csv(*, bad_efn: bool = False) -> bytes:
    """The test members file; with ``bad_efn`` its third member (line 4) has a 3-digit EFN."""
    text = (DATA / "members.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    if bad_efn:
        cells = lines[3].split(",")
        cells[-1] = BAD_EFN
        lines[3] = ",".join(cells)
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def xlsx_of(data: bytes) -> bytes:
    import csv

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def upload(client: FlaskClient, kind: str, name: str, data: bytes) -> TestResponse:
    return client.post(
        "/admin/imports",
        data={
            "csrf_token": csrf_token(client, "/admin/imports"),
            "kind": kind,
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
        headers=ENGLISH,
    )


def confirm(client: FlaskClient, run: ImportRun, version: int | None = None) -> TestResponse:
    return client.post(
        f"/admin/imports/{run.id}/confirm",
        data={"csrf_token": csrf_token(client, "/admin/imports"), "version": str(version or run.row_version)},
        headers=ENGLISH,
    )


def last_run(session: Session) -> ImportRun:
    session.expire_all()
    run = session.scalar(select(ImportRun).order_by(ImportRun.id.desc()).limit(1))
    assert run is not None
    return run


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def page_text(client: FlaskClient, path: str) -> str:
    return html.unescape(client.get(path, headers=ENGLISH).get_data(as_text=True))


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_every_import_route_refuses_other_roles_and_writes_nothing(
    client: FlaskClient, session: Session
) -> None:
    for role in (Role.DESK, Role.AUDITOR, Role.MEMBER):
        other = FlaskClient(client.application, client.response_wrapper, use_cookies=True)
        member = make_member(session) if role is Role.MEMBER else None
        make_login(session, f"someone-{role.value}", role, member=member)
        log_in(other, f"someone-{role.value}")
        token = csrf_token(other, "/")
        assert other.get("/admin/imports").status_code == 403
        assert other.get("/admin/imports/1").status_code == 403
        data = {"csrf_token": token, "kind": "members", "file": (io.BytesIO(members_csv()), "members.csv")}
        assert other.post("/admin/imports", data=data, content_type="multipart/form-data").status_code == 403
        assert other.post("/admin/imports/1/confirm", data={"csrf_token": token}).status_code == 403
    assert count(session, ImportRun) == 0
    assert count(session, Member) == 1  # the member role's own record


def test_anonymous_visitor_is_sent_to_the_login_form(client: FlaskClient) -> None:
    response = client.get("/admin/imports")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_bad_row_is_shown_by_line_and_column_as_the_cli_reports_it_and_nothing_is_imported(
    admin: FlaskClient, session: Session, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = upload(admin, "members", "members.csv", members_csv(bad_efn=True))
    assert response.status_code == 303
    run = last_run(session)
    assert response.headers["Location"] == f"/admin/imports/{run.id}"
    assert run.status is ImportRunStatus.DRY_RUN_FAILED
    assert run.errors == [
        {
            "line": 4,
            "column": "efn",
            "reason": "an EFN has 15 digits, not 3",
            "message": "members.csv:4:efn: an EFN has 15 digits, not 3",
        }
    ]
    page = page_text(admin, f"/admin/imports/{run.id}")
    assert "Problems: 1. Nothing was imported." in page
    assert re.search(r"<td>members\.csv</td>\s*<td[^>]*>4</td>\s*<td[^>]*>efn</td>", page)
    assert "members.csv:4:efn: an EFN has 15 digits, not 3" in page
    assert "Import this file" not in page
    assert count(session, Member) == 0
    # the command line reports the same problem in the same words
    monkeypatch.chdir(tmp_path)
    (tmp_path / "members.csv").write_bytes(members_csv(bad_efn=True))
    result = cli("import", "members", "members.csv", "--dry-run")
    assert result.exit_code == 1
    assert [error["message"] for error in run.errors] == result.stderr.splitlines()[:-1]


def test_a_fixed_file_is_checked_then_imported_on_confirmation(admin: FlaskClient, session: Session) -> None:
    before = count(session, Member)
    upload(admin, "members", "members.csv", members_csv(bad_efn=True))
    response = upload(admin, "members", "会員 2026.csv", members_csv())
    run = last_run(session)
    assert run.status is ImportRunStatus.DRY_RUN_OK
    assert (run.added, run.changed, run.unchanged, run.error_count) == (5, 0, 0, 0)
    assert run.file_name == "会員 2026.csv"
    assert count(session, Member) == before  # a dry run writes no member
    page = page_text(admin, response.headers["Location"])
    assert "Import this file" in page and "What the import would do" in page
    response = confirm(admin, run)
    assert response.status_code == 303
    run = last_run(session)
    assert run.status is ImportRunStatus.IMPORTED
    assert run.imported_by == "user:office" and run.imported_at is not None
    assert count(session, Member) == before + 5
    page = page_text(admin, f"/admin/imports/{run.id}")
    assert "Imported: 会員 2026.csv: 5 added, 0 changed, 0 unchanged" in page
    assert "What the import did" in page
    listing = page_text(admin, "/admin/imports")
    assert "会員 2026.csv" in listing and "members.csv" in listing
    assert "Rejected: nothing imported" in listing and ">Imported<" in listing
    assert [event.details["status"] for event in events(session, "import_run.check")] == [
        "dry_run_failed",
        "dry_run_ok",
    ]
    assert len(events(session, "import_run.upload")) == 2
    assert len(events(session, "import.members")) == 1
    assert chain.verify(session).intact


def test_a_double_confirmation_imports_once(admin: FlaskClient, session: Session) -> None:
    upload(admin, "members", "members.csv", members_csv())
    run = last_run(session)
    version = run.row_version
    confirm(admin, run, version)
    second = confirm(admin, run, version)
    assert second.status_code == 303
    page = page_text(admin, second.headers["Location"])
    assert "This file was already imported; it was not imported again." in page
    assert len(events(session, "import.members")) == 1
    assert len(events(session, "import_run.import")) == 1


def test_a_stale_confirmation_form_is_refused_with_a_message(admin: FlaskClient, session: Session) -> None:
    upload(admin, "members", "members.csv", members_csv())
    run = last_run(session)
    response = confirm(admin, run, run.row_version + 5)
    assert "The import was changed meanwhile" in page_text(admin, response.headers["Location"])
    assert last_run(session).status is ImportRunStatus.DRY_RUN_OK


def test_a_failed_dry_run_cannot_be_confirmed(admin: FlaskClient, session: Session) -> None:
    upload(admin, "members", "members.csv", members_csv(bad_efn=True))
    run = last_run(session)
    response = confirm(admin, run)
    assert "did not pass its check" in page_text(admin, response.headers["Location"])
    assert last_run(session).status is ImportRunStatus.DRY_RUN_FAILED
    assert events(session, "import.members") == []


def test_program_and_attendance_files_import_after_the_members(admin: FlaskClient, session: Session) -> None:
    for kind in ("members", "program", "attendance"):
        upload(admin, kind, f"{kind}.csv", (DATA / f"{kind}.csv").read_bytes())
        run = last_run(session)
        assert run.status is ImportRunStatus.DRY_RUN_OK, run.errors
        confirm(admin, run)
        assert last_run(session).status is ImportRunStatus.IMPORTED
    program = session.scalar(select(ImportRun).where(ImportRun.kind == ImportKind.PROGRAM))
    assert program is not None and program.symposium_counts is not None
    assert program.symposium_counts["added"] == count(session, Symposium) > 0
    assert program.added == count(session, Lecture)
    page = page_text(admin, f"/admin/imports/{program.id}")
    assert "Symposia" in page and "Lectures" in page
    assert last_run(session).added == count(session, Attendance) > 0


def test_an_xlsx_file_is_checked_and_imported_like_its_csv(admin: FlaskClient, session: Session) -> None:
    upload(admin, "members", "members.xlsx", xlsx_of(members_csv(bad_efn=True)))
    run = last_run(session)
    assert [error["message"] for error in run.errors] == ["members.xlsx:4:efn: an EFN has 15 digits, not 3"]
    upload(admin, "members", "members.xlsx", xlsx_of(members_csv()))
    run = last_run(session)
    assert run.status is ImportRunStatus.DRY_RUN_OK and run.added == 5
    confirm(admin, run)
    assert last_run(session).status is ImportRunStatus.IMPORTED


def test_records_changed_since_the_dry_run_are_reported_at_the_import_and_nothing_is_written(
    admin: FlaskClient, session: Session
) -> None:
    upload(admin, "members", "members.csv", (DATA / "members.csv").read_bytes())
    confirm(admin, last_run(session))
    upload(admin, "program", "program.csv", (DATA / "program.csv").read_bytes())
    confirm(admin, last_run(session))
    upload(admin, "attendance", "attendance.csv", (DATA / "attendance.csv").read_bytes())
    run = last_run(session)
    assert run.status is ImportRunStatus.DRY_RUN_OK
    lecture = session.scalar(select(Lecture).where(Lecture.code == "2026-05-L2"))
    assert lecture is not None
    lecture.code = "2026-05-LX"  # the program changes before the attendance is confirmed
    session.commit()
    response = confirm(admin, run)
    run = last_run(session)
    assert run.status is ImportRunStatus.FAILED
    assert any(
        error["column"] == "lecture_code" and "no lecture 2026-05-L2" in error["reason"]
        for error in run.errors
    )
    assert count(session, Attendance) == 0
    page = page_text(admin, response.headers["Location"])
    assert "The records changed since the dry run" in page
    assert "Import failed: nothing imported" in page


def test_the_uploaded_file_is_kept_privately_under_a_random_name(
    admin: FlaskClient, session: Session, app: Flask
) -> None:
    upload(admin, "members", "../../secret/members.csv", members_csv())
    run = last_run(session)
    assert run.file_name == "members.csv"
    stored = Path(app.instance_path) / UPLOADS / run.stored_name
    assert stored.read_bytes() == members_csv()
    assert run.stored_name != run.file_name and re.fullmatch(r"[0-9a-f]{32}\.csv", run.stored_name)
    assert stored.stat().st_mode & 0o077 == 0
    assert run.size == len(members_csv())


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("members.csv", b"", "the file is empty"),
        ("members.csv", b"\x00\xff\xfe" * 50, "not UTF-8"),
        ("members.csv", "会員番号\n".encode("cp932"), "Shift_JIS"),
        ("members.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
        ("members.xls", b"\xd0\xcf\x11\xe0", "old Excel .xls"),
        ("members.pdf", b"%PDF-1.7", "unknown file type"),
        ("\x01\x7f", b"member_no\n1\n", "required column is missing"),
    ],
)
def test_a_hostile_or_wrong_file_is_rejected_with_a_reason_never_a_server_error(
    admin: FlaskClient, session: Session, name: str, data: bytes, reason: str
) -> None:
    response = upload(admin, "members", name, data)
    assert response.status_code == 303
    run = last_run(session)
    assert run.status is ImportRunStatus.DRY_RUN_FAILED
    assert any(reason in error["reason"] for error in run.errors), run.errors
    assert admin.get(response.headers["Location"]).status_code == 200


def test_an_upload_without_a_file_or_kind_shows_the_form_again(admin: FlaskClient, session: Session) -> None:
    response = admin.post(
        "/admin/imports", data={"csrf_token": csrf_token(admin, "/admin/imports")}, headers=ENGLISH
    )
    assert response.status_code == 400
    text = html.unescape(response.get_data(as_text=True))
    assert "Choose the kind of file." in text and "Choose the file to upload." in text
    assert count(session, ImportRun) == 0


def test_file_names_are_cleaned_of_folders_and_control_characters() -> None:
    assert clean_file_name("C:\\Users\\office\\会員.csv", ImportKind.MEMBERS) == "会員.csv"
    assert clean_file_name("a\x00b\nc.csv", ImportKind.MEMBERS) == "abc.csv"
    assert clean_file_name("..", ImportKind.PROGRAM) == "program.csv"
    assert clean_file_name("x:y*?.xlsx", ImportKind.MEMBERS) == "x_y__.xlsx"
    long = clean_file_name("a" * 300 + ".xlsx", ImportKind.MEMBERS)
    assert len(long) == 120 and long.endswith(".xlsx")


def test_a_large_file_is_checked_and_imported_by_jobs_on_the_job_page(
    admin: FlaskClient, session: Session, app: Flask, db: Database
) -> None:
    settings = dataclasses.replace(app.extensions["cme_settings"], import_job_bytes=100)
    app.extensions["cme_settings"] = settings
    app.config["JOB_LAUNCHER"] = lambda launched: run_queued_jobs(db, launched, JOB_KINDS)
    response = upload(admin, "members", "members.csv", members_csv())
    run = last_run(session)
    assert response.headers["Location"] == f"/admin/jobs/{run.job_id}"
    assert run.status is ImportRunStatus.DRY_RUN_OK and run.added == 5
    job_page = page_text(admin, response.headers["Location"])
    assert "Checking an import file" in job_page
    assert f'href="/admin/imports/{run.id}"' in job_page and "Back to the import" in job_page
    response = confirm(admin, run)
    run = last_run(session)
    assert response.headers["Location"] == f"/admin/jobs/{run.job_id}"
    assert run.status is ImportRunStatus.IMPORTED
    assert "Importing a file" in page_text(admin, response.headers["Location"])
    jobs = session.scalars(select(Job).order_by(Job.id)).all()
    assert [(job.kind, job.status) for job in jobs] == [
        ("check_import", JobStatus.SUCCEEDED),
        ("run_import", JobStatus.SUCCEEDED),
    ]
    assert count(session, Member) == 5


def test_a_queued_run_is_not_confirmed_before_its_check_ends(
    admin: FlaskClient, session: Session, app: Flask
) -> None:
    app.extensions["cme_settings"] = dataclasses.replace(app.extensions["cme_settings"], import_job_bytes=100)
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    upload(admin, "members", "members.csv", members_csv())
    run = last_run(session)
    assert run.status is ImportRunStatus.CHECKING
    page = page_text(admin, f"/admin/imports/{run.id}")
    assert "Being checked" in page and "Follow the job" in page
    response = confirm(admin, run)
    assert "being checked or imported right now" in page_text(admin, response.headers["Location"])
    assert count(session, Member) == 0


def test_two_confirmations_at_the_same_moment_import_once(fresh_database_url: str, tmp_path: Path) -> None:
    """Two requests racing on a committed database of their own: the run's row lock lets one import."""
    database = migrated_database(fresh_database_url)
    folder = tmp_path / "instance"
    with database.write_unit() as session:
        run = record_upload(
            session, folder, Upload(ImportKind.MEMBERS, "members.csv", members_csv()), actor="user:office"
        )
        check_run(session, folder, run, actor="user:office")
        run_id, version = run.id, run.row_version
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm_once() -> None:
        start.wait()
        try:
            with database.write_unit() as session:
                found = get_run(session, run_id, lock=True)
                import_run(session, folder, found, actor="user:office", expected_version=version)
            outcomes.append("imported")
        except DomainError as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=confirm_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_imported", "imported"]
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 5
        assert len(events(session, "import.members")) == 1
    database.engine.dispose()


def test_a_body_over_the_request_limit_is_refused_and_records_nothing(
    admin: FlaskClient, session: Session, app: Flask
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 2000
    data = members_csv() * 10
    assert upload(admin, "members", "members.csv", data).status_code == 413
    assert count(session, ImportRun) == 0


def test_a_job_that_stops_records_its_run_as_failed(
    admin: FlaskClient, session: Session, app: Flask, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(services.IMPORTERS, "members", broken)
    app.extensions["cme_settings"] = dataclasses.replace(app.extensions["cme_settings"], import_job_bytes=100)
    app.config["JOB_LAUNCHER"] = lambda launched: run_queued_jobs(db, launched, JOB_KINDS)
    upload(admin, "members", "members.csv", members_csv())
    run = last_run(session)
    assert run.status is ImportRunStatus.DRY_RUN_FAILED
    assert run.errors[0]["reason"] == "the job stopped: RuntimeError"
    job = session.get(Job, run.job_id)
    assert job is not None and job.status is JobStatus.FAILED
