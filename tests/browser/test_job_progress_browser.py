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


def test_job_page_shows_the_progress_of_the_issuing_run_as_the_worker_makes_it(
    open_page: Callable[[str], Page],
    live_app: Flask,
    live_database: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    with live_database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-09", date(2026, 9, 19))
        lecture = make_lecture(session, symposium, "10:00", "11:00")
        for number in range(3):
            attend(session, make_member(session, member_no=f"B{number:05d}"), lecture, "10:00", "11:00")
        create_user(
            session, login="office", password=PASSWORD, roles=[Role.ADMIN], member_no=None, actor="test"
        )
    page = open_page("en")
    page.goto("/login")
    page.fill("#login", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/admin/certificates/")
    page.get_by_role("button", name="Issue missing certificates").click()
    expect(page.locator("#job-status")).to_have_text("Waiting to start")
    expect(page.locator("[data-job-reload]")).to_be_hidden()
    screenshot(page, "queued")

    settings: Settings = live_app.extensions["cme_settings"]
    ran: list[int] = []
    # A thread of its own, as a worker process would be: Playwright's loop runs in this one, and the signer
    # runs a loop of its own.
    worker = threading.Thread(target=lambda: ran.append(run_queued_jobs(live_database, settings)))
    worker.start()
    worker.join(timeout=60)
    assert ran == [1]

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
    with live_database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-07", date(2026, 7, 18))
        lecture = make_lecture(session, symposium, "10:00", "11:00")
        attend(session, make_member(session, member_no="E00001"), lecture, "10:00", "11:00")
        create_user(
            session, login="auditor", password=PASSWORD, roles=[Role.AUDITOR], member_no=None, actor="test"
        )
    page = open_page("en")
    page.goto("/login")
    page.fill("#login", "auditor")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/audit/years/2026")
    page.get_by_role("button", name="Detail table (CSV)").click()
    expect(page.locator("#job-status")).to_have_text("Waiting to start")
    expect(page.locator("[data-job-succeeded]")).to_be_hidden()

    settings: Settings = live_app.extensions["cme_settings"]
    worker = threading.Thread(target=lambda: run_queued_jobs(live_database, settings))
    worker.start()
    worker.join(timeout=60)

    expect(page.locator("#job-status")).to_have_text("Finished")
    link = page.get_by_role("link", name="Download imsj-credits-2026-calendar.csv")
    expect(link).to_be_visible()
    screenshot(page, "export-finished")
    with page.expect_download() as download:
        link.click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfyear,year_basis,member_no")
    assert b"E00001" in data
