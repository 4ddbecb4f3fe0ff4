"""The office in Chromium: an administrator finds a walk-in, merges them into the member they really are, and
sees the walk-in's attendance on that member's page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from cme_tracker.accounts.services import create_user
from cme_tracker.attendance.models import Attendance
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import PASSWORD


def _walk_in_and_member(database: Database) -> None:
    with database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
        first = make_lecture(session, symposium, "10:00", "11:00")
        second = make_lecture(session, symposium, "11:15", "12:15")
        member = make_member(
            session,
            member_no="001001",
            family_name="山田",
            given_name="太郎",
            family_name_romaji="Yamada",
            given_name_romaji="Taro",
            medical_registry_no="123456",
        )
        make_member(session, member_no="001002", medical_registry_no="654321")  # a namesake
        walk_in = make_member(
            session,
            member_no="W20260516-001",
            family_name="山田",
            given_name="太郎",
            family_name_romaji="Yamada",
            given_name_romaji="Taro",
            medical_registry_no=None,
            needs_review=True,
        )
        attend(session, member, first, "10:00", "11:00")
        attend(session, walk_in, second, "11:15", "12:15")
        create_user(
            session, login="office", password=PASSWORD, roles=[Role.ADMIN], member_no=None, actor="test"
        )


def test_admin_merges_a_walk_in_into_the_member_they_really_are(
    open_page: Callable[[str], Page], live_database: Database, screenshot: Callable[[Page, str], Path]
) -> None:
    _walk_in_and_member(live_database)
    page = open_page("en-GB")
    page.goto("/login")
    page.fill("#login", "office")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    page.goto("/admin/walk-ins")
    expect(page.get_by_role("link", name="W20260516-001")).to_be_visible()
    screenshot(page, "1-walk-ins")
    page.get_by_role("link", name="W20260516-001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("山田 太郎")
    screenshot(page, "2-walk-in-page")

    page.get_by_role("link", name="Merge into another member…").click()
    page.fill("#q", "山田 太郎")
    page.get_by_role("button", name="Search").click()
    candidates = page.locator("#candidates")
    expect(candidates).to_contain_text("Medical 123456")
    expect(candidates).to_contain_text("Medical 654321")
    expect(candidates).to_contain_text("2026-05")
    screenshot(page, "3-target-search")

    candidates.get_by_role("row").filter(has_text="123456").get_by_role(
        "link", name="Merge into this member"
    ).click()
    comparison = page.locator("#merge-comparison")
    expect(comparison).to_contain_text("W20260516-001")
    expect(comparison).to_contain_text("001001")
    expect(comparison.locator('[data-count="attendances"]').first).to_have_text("1")
    screenshot(page, "4-confirmation")

    page.get_by_role("button", name="Merge W20260516-001 into 001001").click()
    expect(page.get_by_role("status")).to_contain_text("W20260516-001 is merged into 001001")
    expect(page.locator("#attendance")).to_contain_text("2026-05-L2")
    expect(page.locator("#history")).to_contain_text("Another member merged into this one")
    screenshot(page, "5-merged-member")

    page.goto("/admin/members/W20260516-001")
    expect(page.get_by_role("note").first).to_contain_text("This record was merged into 001001")
    screenshot(page, "6-merged-walk-in")

    with live_database.unit_of_work() as session:
        walk_in = session.scalar(select(Member).where(Member.member_no == "W20260516-001"))
        member = session.scalar(select(Member).where(Member.member_no == "001001"))
        assert walk_in is not None and member is not None
        assert (walk_in.merged_into_id, walk_in.active, walk_in.needs_review) == (member.id, False, False)
        owners = set(session.scalars(select(Attendance.member_id)))
        assert owners == {member.id}
