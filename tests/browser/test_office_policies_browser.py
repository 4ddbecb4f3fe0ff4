"""The credit policy pages in Chromium: an admin reads the presets in words, adds a version of imsj, previews
what it changes in a year, downloads the list and saves the version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from cme_tracker.accounts.services import create_user
from cme_tracker.db import Database
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import PASSWORD


def _year(database: Database) -> None:
    """Symposium 2026-05 with a 60-minute lecture; members present 60, 30 and 20 minutes."""
    with database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
        lecture = make_lecture(session, symposium, "10:00", "11:00", "clinical")
        for member_no, check_in in (("B001", "10:00"), ("B002", "10:30"), ("B003", "10:40")):
            attend(session, make_member(session, member_no=member_no), lecture, check_in, "11:00")
        create_user(
            session, login="office", password=PASSWORD, roles=[Role.ADMIN], member_no=None, actor="test"
        )


def test_an_admin_adds_a_policy_version_after_seeing_its_preview(
    open_page: Callable[[str], Page],
    live_database: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    _year(live_database)
    page = open_page("en")
    page.goto("/login")
    page.fill("#login", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    page.get_by_role("link", name="Credit policies").click()
    imsj = page.locator("#policy-imsj")
    expect(imsj).to_contain_text("0.5 credit per full 30 minutes attended")
    expect(page.locator("#policy-de-cme")).to_contain_text("at most 8 points a day")
    expect(page.get_by_role("note")).to_contain_text("a society officer confirms each one")
    screenshot(page, "policies")

    imsj.get_by_role("link", name="Add a version").click()
    expect(page.get_by_label("Minutes per unit")).to_have_value("30")
    page.get_by_label("Version", exact=True).fill("2026.2")
    page.get_by_label("Effective from").fill("2026-01-01")
    page.get_by_label("Amount per unit (step)").fill("1")
    page.get_by_label("Preview year").fill("2026")
    screenshot(page, "new-version-form")

    page.get_by_role("button", name="Preview").click()
    summary = page.locator("[data-preview-summary]")
    expect(summary).to_contain_text("Members with attendance in the year: 3. Totals that change: 2.")
    lines = page.locator("[data-preview-lines] tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("B001")
    expect(page.locator("#preview")).to_contain_text("1 credit per full 30 minutes attended")
    screenshot(page, "preview")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the list (CSV)").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfmember_no,name,old_total,new_total,difference")
    assert b"B001" in data and b"B002" in data and b"B003" not in data

    page.get_by_role("button", name="Save this version").click()
    expect(page.get_by_role("status")).to_contain_text("imsj 2026.2 is saved, effective from 2026-01-01.")
    expect(page.locator("#policy-imsj tr[data-version='2026.2']")).to_contain_text(
        "1 credit per full 30 minutes attended"
    )
    expect(page.locator("#policy-imsj")).to_contain_text("In force today: version 2026.2.")
    screenshot(page, "saved")
