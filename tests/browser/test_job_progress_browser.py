"""Job pages in Chromium: their script follows the worker to the end, no reload, and offers what it made."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from cme_tracker import create_app
from cme_tracker.accounts.services import create_user
from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.vocabulary import Role
from tests.browser.live_server import SECRET_KEY
from tests.conftest import TEST_AUDIT_KEY
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import PASSWORD


@pytest.fixture
def live_app(live_database: Database, tmp_path: Path) -> Flask:
    """The live app, with a launcher that starts nothing: the test runs the worker when it wants."""
    return create_app(
        {
            "DATABASE": live_database,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": SECRET_KEY,
            "AUDIT_KEY": TEST_AUDIT_KEY,
            "JOB_LAUNCHER": lambda _settings: None,
        }
    )


def _attended_lecture(database: Database, symposium_code: str, held_on: date, member_nos: list[str]) -> None:
    """A lecture of the symposium, sat in full by these members."""
    with database.unit_of_work() as session:
        symposium = make_symposium(session, symposium_code, held_on)
        lecture = make_lecture(session, symposium, "10:00", "11:00")
        for member_no in member_nos:
            attend(session, make_member(session, member_no=member_no), lecture, "10:00", "11:00")


def _run_worker(app: Flask, database: Database) -> int:
    """The queued jobs run as a worker would run them; how many ran.

    A thread of its own, as a worker process would be: Playwright's loop runs in this one, and the signer
    runs a loop of its own.
    """
    settings: Settings = app.extensions["cme_settings"]
    ran: list[int] = []
    worker = threading.Thread(target=lambda: ran.append(run_queued_jobs(database, settings, JOB_KINDS)))
    worker.start()
    worker.join(timeout=60)
    return ran[0] if ran else 0


def _logged_in(page: Page, database: Database, login: str, role: Role) -> Page:
    with database.unit_of_work() as session:
        create_user(session, login=login, password=PASSWORD, roles=[role], member_no=None, actor="test")
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_job_page_shows_the_progress_of_the_issuing_run_as_the_worker_makes_it(
    open_page: Callable[[str], Page],
    live_app: Flask,
    live_database: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    _attended_lecture(live_database, "2026-09", date(2026, 9, 19), [f"B{number:05d}" for number in range(3)])
    page = _logged_in(open_page("en"), live_database, "office", Role.ADMIN)
    page.goto("/admin/certificates/")
    page.get_by_role("button", name="Issue missing certificates").click()
    expect(page.locator("#job-status")).to_have_text("Waiting to start")
    expect(page.locator("[data-job-reload]")).to_be_hidden()
    screenshot(page, "queued")

    assert _run_worker(live_app, live_database) == 1

    expect(page.locator("#job-status")).to_have_text("Finished")
    expect(page.locator("[data-job-field=summary]")).to_have_text("3 issued")
    expect(page.locator(".job-progress progress")).to_have_js_property("value", 3)
    expect(page.locator("[data-job-field=done]")).to_have_text("3")
    screenshot(page, "finished")


def test_an_auditors_export_page_offers_the_file_once_the_worker_has_written_it(
    open_page: Callable[[str], Page],
    live_app: Flask,
    live_database: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    _attended_lecture(live_database, "2026-07", date(2026, 7, 18), ["E00001"])
    page = _logged_in(open_page("en"), live_database, "auditor", Role.AUDITOR)
    page.goto("/audit/years/2026")
    page.get_by_role("button", name="Detail table (CSV)").click()
    expect(page.locator("#job-status")).to_have_text("Waiting to start")
    expect(page.locator("[data-job-succeeded]")).to_be_hidden()

    assert _run_worker(live_app, live_database) == 1

    expect(page.locator("#job-status")).to_have_text("Finished")
    link = page.get_by_role("link", name="Download imsj-credits-2026-calendar.csv")
    expect(link).to_be_visible()
    screenshot(page, "export-finished")
    with page.expect_download() as download:
        link.click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfyear,year_basis,member_no")
    assert b"E00001" in data
