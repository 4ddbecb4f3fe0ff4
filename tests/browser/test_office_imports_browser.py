"""The office's Imports page in Chromium: a members file with a bad row is refused by line and column, and
the fixed file is imported on confirmation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from cme_tracker.accounts.services import create_user
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.integration.test_office_imports import members_csv
from tests.integration.web_login import PASSWORD


def _members(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Member)) or 0


def _upload(page: Page, path: Path) -> None:
    page.goto("/admin/imports")
    page.get_by_label("Members", exact=True).check()
    page.get_by_label("File (CSV in UTF-8, or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()


def test_admin_sees_the_bad_row_by_line_and_column_fixes_the_file_and_imports_it(
    open_page: Callable[[str], Page],
    live_database: Database,
    screenshot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    with live_database.unit_of_work() as session:
        create_user(
            session, login="office", password=PASSWORD, roles=[Role.ADMIN], member_no=None, actor="test"
        )
    page = open_page("en")
    page.goto("/login")
    page.fill("#login", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Imports", level=1)).to_be_visible()
    screenshot(page, "1-imports-page")

    bad = tmp_path / "bad" / "members.csv"
    bad.parent.mkdir()
    bad.write_bytes(members_csv(bad_efn=True))
    _upload(page, bad)
    expect(page.locator("[data-run-status]")).to_have_text("Rejected: nothing imported")
    problem = page.locator("table.import-problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td")).to_have_text(["members.csv", "4", "efn", "an EFN has 15 digits, not 3"])
    expect(page.get_by_role("button", name="Import this file")).to_have_count(0)
    screenshot(page, "2-bad-row-by-line-and-column")
    assert _members(live_database) == 0

    good = tmp_path / "members.csv"
    good.write_bytes(members_csv())
    _upload(page, good)
    expect(page.locator("[data-run-status]")).to_have_text("Checked: ready to import")
    expect(page.locator("[data-counts=rows] td")).to_have_text(["5", "0", "0"])
    screenshot(page, "3-fixed-file-checked")
    assert _members(live_database) == 0

    page.get_by_role("button", name="Import this file").click()
    expect(page.locator("[data-run-status]")).to_have_text("Imported")
    expect(page.get_by_text("Imported: members.csv: 5 added, 0 changed, 0 unchanged")).to_be_visible()
    screenshot(page, "4-imported")
    assert _members(live_database) == 5

    page.get_by_role("link", name="Back to the imports").click()
    rows = page.locator("table.data-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Imported")
    expect(rows.nth(1)).to_contain_text("Rejected: nothing imported")
    screenshot(page, "5-earlier-runs")
