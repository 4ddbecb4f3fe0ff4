"""The office's program in Chromium: an admin builds a symposium with three lectures, and once attendance
exists, an earlier end of a lecture shows the credits it changes before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from cme_tracker.accounts.services import create_user
from cme_tracker.db import Database
from cme_tracker.program.models import Lecture
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_member
from tests.integration.web_login import PASSWORD

LECTURES = (
    ("2026-11-L1", "10:00", "11:00", "clinical", "心不全の最新治療", "Heart failure today", "10:30-10:40"),
    ("2026-11-L2", "11:15", "12:15", "basic_medicine", "免疫の基礎", "Basics of immunity", ""),
    ("2026-11-L3", "13:30", "14:30", "discourse", "医の倫理", "Medical ethics", ""),
)


def _logged_in(page: Page, database: Database) -> Page:
    with database.unit_of_work() as session:
        create_user(
            session, login="office", password=PASSWORD, roles=[Role.ADMIN], member_no=None, actor="test"
        )
    page.goto("/login")
    page.fill("#login", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page


def _attendance(database: Database) -> None:
    """A member sat all of the second lecture, as the desk would have recorded it."""
    with database.unit_of_work() as session:
        lecture = session.scalar(select(Lecture).where(Lecture.code == "2026-11-L2"))
        assert lecture is not None
        member = make_member(session, member_no="001001", family_name="髙橋", given_name="花子")
        attend(session, member, lecture, "11:15", "12:15")


def test_an_admin_builds_a_symposium_and_previews_an_earlier_end_of_an_attended_lecture(
    open_page: Callable[[str], Page], live_database: Database, screenshot: Callable[[Page, str], Path]
) -> None:
    page = _logged_in(open_page("en"), live_database)
    page.get_by_role("link", name="Program").click()
    page.get_by_role("link", name="New symposium").click()
    page.fill("#code", "2026-11")
    page.fill("#date", "2026-11-21")
    page.fill("#timezone", "Asia/Tokyo")
    page.fill("#title_ja", "第6回 学術講演会")
    page.fill("#title_en", "6th CME Symposium")
    page.fill("#venue", "東京国際フォーラム")
    screenshot(page, "1-new-symposium")
    page.get_by_role("button", name="Create the symposium").click()
    expect(page.locator("h1")).to_contain_text("6th CME Symposium")

    for code, starts, ends, field, title_ja, title_en, excluded in LECTURES:
        page.get_by_role("link", name="Add a lecture").click()
        page.fill("#code", code)
        page.fill("#starts_at", starts)
        page.fill("#ends_at", ends)
        page.select_option("#field", field)
        page.fill("#title_ja", title_ja)
        page.fill("#title_en", title_en)
        page.fill("#speaker", "山本 一郎")
        page.fill("#excluded", excluded)
        if excluded:
            screenshot(page, "2-lecture-with-excluded-interval")
        page.get_by_role("button", name="Add the lecture").click()
        expect(page.locator(f"[data-lecture='{code}']")).to_be_visible()
    rows = page.locator("[data-lectures] tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-lecture='2026-11-L1']")).to_contain_text("10:30-10:40")
    screenshot(page, "3-symposium-with-three-lectures")

    _attendance(live_database)
    with live_database.sessions() as session:
        version = session.scalar(select(Lecture.row_version).where(Lecture.code == "2026-11-L2"))
    page.get_by_role("link", name="Basics of immunity").click()
    page.fill("#ends_at", "12:00")
    screenshot(page, "4-earlier-end")
    page.get_by_role("button", name="Save").click()

    impact = page.locator("[data-impact]")
    expect(impact).to_contain_text("What this change would change")
    credits = page.locator("[data-impact-credits]")
    expect(credits).to_contain_text("001001")
    expect(credits).to_contain_text("髙橋 花子")
    expect(credits.locator("tr", has_text="imsj")).to_contain_text("1 credits")
    expect(credits.locator("tr", has_text="imsj")).to_contain_text("0.5 credits")
    screenshot(page, "5-preview-of-affected-credits")
    with live_database.sessions() as session:
        saved = session.scalar(select(Lecture).where(Lecture.code == "2026-11-L2"))
        assert saved is not None
        assert saved.row_version == version

    page.get_by_role("button", name="Save this change").click()
    expect(page.locator("h1")).to_have_text("Documents that no longer match the program")
    screenshot(page, "6-saved")
    with live_database.sessions() as session:
        saved = session.scalar(select(Lecture).where(Lecture.code == "2026-11-L2"))
        assert saved is not None
        assert saved.row_version == (version or 0) + 1

    page.get_by_role("link", name="日本語").click()
    page.goto("/admin/program/2026-11")
    expect(page.get_by_role("link", name="講演を追加する")).to_be_visible()
    expect(page.locator("[data-lecture='2026-11-L2']")).to_contain_text("11:15–12:00")
    screenshot(page, "7-symposium-in-japanese")
