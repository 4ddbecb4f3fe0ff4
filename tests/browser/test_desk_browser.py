"""The attendance desk in Chromium, as a clerk uses it at 9:50: scan, search by kana, undo, and go offline.

The offline part stops the server itself (no request reaches it, not even the page's), reloads the tab, then
starts the server again and checks the database: every offline scan recorded exactly once, at its scan time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.services import create_user
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.db import Database, utcnow
from cme_tracker.members.cards import card_payload
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.browser.live_server import SECRET_KEY, LiveServer, requires_chromium
from tests.factories import make_lecture, make_member, make_symposium
from tests.integration.web_login import PASSWORD

pytestmark = requires_chromium

Screenshot = Callable[[Page, str], Path]
SYNC_TIMEOUT_MS = 25_000
"""Enough for the desk's retry backoff (at most 10 s) and its counts poll (5 s) once the server is back."""


@dataclass(frozen=True)
class Person:
    member_no: str
    name: str
    card: str


@dataclass(frozen=True)
class World:
    lecture_code: str
    people: dict[str, Person]


def _zone_inside_the_day(now: datetime) -> ZoneInfo:
    """Tokyo, unless it is near midnight there; then Berlin, 7–8 hours behind: the lecture stays open."""
    for name in ("Asia/Tokyo", "Europe/Berlin"):
        zone = ZoneInfo(name)
        if time(0, 30) <= now.astimezone(zone).time() <= time(22, 30):
            return zone
    raise AssertionError("unreachable: Tokyo and Berlin are never both near midnight")


PEOPLE = {
    # key: member number, family and given name in kanji, in katakana, in romaji
    "A": ("B001", "青木", "一郎", "アオキ", "イチロウ", "Aoki", "Ichiro"),
    "B": ("B002", "石田", "次郎", "イシダ", "ジロウ", "Ishida", "Jiro"),
    "C": ("B003", "上野", "三郎", "ウエノ", "サブロウ", "Ueno", "Saburo"),
    "D": ("B004", "佐藤", "花子", "サトウ", "ハナコ", "Sato", "Hanako"),
    "E": ("B005", "遠藤", "五郎", "エンドウ", "ゴロウ", "Endo", "Goro"),
    "F": ("B006", "福田", "六子", "フクダ", "ムツコ", "Fukuda", "Mutsuko"),
}
DENTIST = "D"


def _person(session: Session, key: str) -> Person:
    number, family, given, family_kana, given_kana, family_romaji, given_romaji = PEOPLE[key]
    profession = {"profession": "dentist", "medical_registry_no": None} if key == DENTIST else {}
    member = make_member(
        session,
        member_no=number,
        family_name=family,
        given_name=given,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        family_name_romaji=family_romaji,
        given_name_romaji=given_romaji,
        **profession,
    )
    return Person(member.member_no, member.name, card_payload(SECRET_KEY, member))


@pytest.fixture
def world(live_database: Database) -> World:
    """A symposium held today with a lecture open all day, six members and a desk login."""
    zone = _zone_inside_the_day(utcnow())
    today = utcnow().astimezone(zone).date()
    with live_database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-D1", today, timezone=zone.key, title_en="Desk day")
        lecture = make_lecture(session, symposium, "00:00", "23:59", title_en="All-day lecture")
        make_lecture(session, symposium, "12:00", "13:00", "basic_medicine", title_en="Noon lecture")
        people = {key: _person(session, key) for key in PEOPLE}
        create_user(session, login="desk", password=PASSWORD, roles=[Role.DESK], member_no=None, actor="test")
    return World(lecture.code, people)


def _attendances(database: Database, person: Person) -> list[Attendance]:
    with database.sessions() as session:
        member = session.scalar(select(Member).where(Member.member_no == person.member_no))
        assert member is not None
        return list(session.scalars(select(Attendance).where(Attendance.member_id == member.id)))


def _scan(page: Page, text: str) -> None:
    """What a USB barcode scanner does: type into the focused field, then Enter."""
    expect(page.locator("#desk-input")).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _expect_result(page: Page, tone: str, headline: str, name: str | None = None) -> None:
    result = page.locator("#desk-result")
    expect(result).to_have_attribute("data-tone", tone)
    expect(page.locator("#desk-result-headline")).to_contain_text(headline)
    if name is not None:
        expect(page.locator("#desk-result-name")).to_have_text(name)


def _expect_checked_in_count(page: Page, lecture_code: str, count: int) -> None:
    cell = page.locator(f'#desk-counts-body tr[data-code="{lecture_code}"] .desk-count-checked-in')
    expect(cell).to_have_text(str(count), timeout=SYNC_TIMEOUT_MS)


def _open_desk(open_page: Callable[[str], Page], locale: str, lecture_code: str) -> Page:
    """Logs the desk clerk in, opens the desk on the lecture, and waits until it can also work offline."""
    page = open_page(locale)
    page.goto("/login")
    page.fill("#login", "desk")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/desk/")
    expect(page.locator("#desk")).to_have_attribute("data-ready", "true")
    page.select_option("#desk-target", lecture_code)
    expect(page.locator("#desk")).to_have_attribute("data-offline-ready", "true")
    return page


def test_desk_scans_searches_undoes_and_syncs_offline_scans_exactly_once(
    open_page: Callable[[str], Page],
    live_server: LiveServer,
    live_database: Database,
    world: World,
    screenshot: Screenshot,
) -> None:
    people = world.people
    page = _open_desk(open_page, "en-GB", world.lecture_code)
    screenshot(page, "01-ready")

    for key in "ABC":
        _scan(page, people[key].card)
        _expect_result(page, "ok", "Checked in", people[key].name)
    expect(page.locator("#desk-result-romaji")).to_have_text("UENO Saburo")
    _expect_checked_in_count(page, world.lecture_code, 3)
    screenshot(page, "02-three-checked-in")

    _scan(page, people["A"].card)
    _expect_result(page, "repeat", "Already checked in at", people["A"].name)
    screenshot(page, "03-already-checked-in")

    page.keyboard.type("さとう")
    options = page.locator("#desk-results [role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("佐藤 花子")
    screenshot(page, "04-kana-search")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    _expect_result(page, "ok", "Checked in", people["D"].name)
    expect(page.locator("#desk-result-meta")).to_contain_text("Dentist")
    _expect_checked_in_count(page, world.lecture_code, 4)

    page.locator("#desk-recent li", has_text=people["C"].name).get_by_role("button", name="Undo").click()
    page.fill("#desk-undo-reason", "Wrong person")
    page.click("#desk-undo-confirm")
    _expect_result(page, "repeat", "Scan undone", people["C"].name)
    _expect_checked_in_count(page, world.lecture_code, 3)
    screenshot(page, "05-undone")
    [undone] = _attendances(live_database, people["C"])
    assert undone.voided_at is not None
    assert undone.void_reason == "Wrong person"

    went_offline = utcnow()
    live_server.stop()
    _scan(page, people["E"].card)
    _expect_result(page, "queued", "Saved on this device")
    expect(page.locator("#desk-offline")).to_be_visible()
    _scan(page, people["F"].member_no)
    _expect_result(page, "queued", "Saved on this device")
    expect(page.locator("#desk")).to_have_attribute("data-waiting", "2")
    expect(page.locator("#desk-offline-waiting")).to_have_text("2 waiting to be sent")
    screenshot(page, "06-offline-two-waiting")

    page.reload()
    expect(page.locator("#desk")).to_have_attribute("data-ready", "true")
    expect(page.locator("#desk-offline")).to_be_visible()
    expect(page.locator("#desk")).to_have_attribute("data-waiting", "2")
    expect(page.locator("#desk-target")).to_have_value(world.lecture_code)
    screenshot(page, "07-reloaded-offline")

    came_back = utcnow()
    live_server.start()
    expect(page.locator("#desk")).to_have_attribute("data-waiting", "0", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("#desk-offline")).to_be_hidden()
    _expect_checked_in_count(page, world.lecture_code, 5)
    expect(page.locator("#desk-recent li", has_text="Sent")).to_have_count(2)
    screenshot(page, "08-synced")

    for key in "EF":
        [attendance] = _attendances(live_database, people[key])
        assert attendance.voided_at is None
        assert went_offline <= attendance.check_in_at <= came_back, "credits count from the scan time"
        assert attendance.method == "offline"
    with live_database.sessions() as session:
        offline_scans = session.scalars(select(Scan).where(Scan.method == "offline")).all()
        assert len(offline_scans) == 2
        assert len({scan.nonce for scan in offline_scans}) == 2
    assert [attendance.voided_at for attendance in _attendances(live_database, people["A"])] == [None]


def test_desk_in_japanese_registers_a_walk_in_and_lists_offline_scans_the_server_refused(
    open_page: Callable[[str], Page],
    live_server: LiveServer,
    live_database: Database,
    world: World,
    screenshot: Screenshot,
) -> None:
    page = _open_desk(open_page, "ja-JP", world.lecture_code)
    expect(page.locator("h1")).to_have_text("出席受付")

    page.click("#desk-walkin summary")
    page.fill("#walkin-family_name", "中村")
    page.fill("#walkin-given_name", "七海")
    page.fill("#walkin-family_name_kana", "ナカムラ")
    page.fill("#walkin-given_name_kana", "ナナミ")
    page.fill("#walkin-family_name_romaji", "Nakamura")
    page.fill("#walkin-given_name_romaji", "Nanami")
    page.select_option("#walkin-profession", "dentist")
    page.fill("#walkin-registry_no", "7002")
    screenshot(page, "01-walk-in-form")
    page.click("#desk-walkin-submit")
    _expect_result(page, "ok", "受付しました", "中村 七海")
    expect(page.locator("#desk-result-meta")).to_contain_text("当日登録（要確認）")
    expect(page.locator("#desk-input")).to_be_focused()
    _expect_checked_in_count(page, world.lecture_code, 1)
    screenshot(page, "02-walk-in-checked-in")
    with live_database.sessions() as session:
        guest = session.scalar(select(Member).where(Member.needs_review.is_(True)))
        assert guest is not None
        assert (guest.member_no[0], guest.dental_registry_no, guest.profession) == ("W", "7002", "dentist")
        [attendance] = session.scalars(select(Attendance).where(Attendance.member_id == guest.id)).all()
        assert attendance.lecture is not None and attendance.lecture.code == world.lecture_code

    forged = world.people["A"].card[:-4] + "AAAA"
    live_server.stop()
    _scan(page, forged)
    _scan(page, "B999")
    expect(page.locator("#desk")).to_have_attribute("data-waiting", "2")
    live_server.start()
    expect(page.locator("#desk")).to_have_attribute("data-waiting", "0", timeout=SYNC_TIMEOUT_MS)
    failed = page.locator("#desk-failed li")
    expect(failed).to_have_count(2)
    expect(failed.nth(0)).to_contain_text("不明なカードです")
    expect(failed.nth(1)).to_contain_text("不明な会員番号です")
    screenshot(page, "03-could-not-sync")

    page.reload()
    expect(page.locator("#desk")).to_have_attribute("data-ready", "true")
    expect(failed).to_have_count(2)
    failed.nth(0).get_by_role("button").click()
    expect(failed).to_have_count(1)
    with live_database.sessions() as session:
        assert session.scalars(select(Scan).where(Scan.method == "offline")).all() == []
