"""The office's program pages: admins list, create, edit (with versions and the preview of an edit's effect),
reorder, remove, open and close symposia and lectures, in Japanese and English; nobody else gets in."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role, SymposiumStatus
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import csrf_token, log_in, make_login

ENGLISH = {"Accept-Language": "en"}
JAPANESE = {"Accept-Language": "ja"}
LECTURE_FORM = {
    "starts_at": "10:00",
    "ends_at": "11:00",
    "field": "clinical",
    "title_ja": "心不全",
    "title_en": "Heart failure",
    "speaker": "山本 一郎",
    "speaker_affiliation": "",
    "language": "ja",
    "jma_cc": "",
    "jda_code": "",
    "excluded": "",
}


@pytest.fixture
def office(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str], form_page: str | None = None) -> object:
    token = csrf_token(client, form_page or path)
    return client.post(path, data={"csrf_token": token, **data}, headers=ENGLISH)


def _confirmation(page: str) -> str:
    """The hidden field by which the preview's page confirms the values it previewed."""
    match = re.search(r'name="confirmed"[^>]*value="([0-9a-f]+)"', page) or re.search(
        r'value="([0-9a-f]+)"[^>]*name="confirmed"', page
    )
    assert match is not None, "the preview carries no confirmation"
    return match.group(1)


def _day_with_attendance(session: Session) -> Lecture:
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16), title_en="May symposium")
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    make_lecture(session, symposium, "11:15", "12:15")
    member = make_member(
        session, member_no="001001", family_name="髙橋", given_name="花子", family_name_romaji="Takahashi"
    )
    attend(session, member, lecture, "10:00", "11:00")
    session.commit()
    return lecture


def test_the_list_shows_each_symposium_with_status_and_counts(office: FlaskClient, session: Session) -> None:
    _day_with_attendance(session)
    page = office.get("/admin/program/", headers=ENGLISH).get_data(as_text=True)
    assert "May symposium" in page
    assert "2026-05" in page
    row = page[page.index('data-symposium="2026-05"') :]
    assert '<td class="number">2</td>' in row
    assert '<td class="number">1</td>' in row
    japanese = office.get("/admin/program/", headers=JAPANESE).get_data(as_text=True)
    assert "プログラム" in japanese
    assert "新しい学術集会" in japanese


def test_an_admin_creates_a_symposium_and_a_bad_time_zone_is_named(
    office: FlaskClient, session: Session
) -> None:
    form = {
        "code": "2026-11",
        "date": "2026-11-21",
        "timezone": "Tokyo",
        "title_ja": "第6回",
        "title_en": "6th",
        "venue": "",
        "kind": "regular",
    }
    refused = _post(office, "/admin/program/new", form)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "IANA" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    created = _post(office, "/admin/program/new", form | {"timezone": "Asia/Tokyo"})
    assert created.status_code == 303  # type: ignore[attr-defined]
    assert (
        session.scalar(select(Symposium.status).where(Symposium.code == "2026-11"))
        == SymposiumStatus.SCHEDULED
    )


def test_an_admin_adds_a_lecture_with_an_excluded_interval(office: FlaskClient, session: Session) -> None:
    make_symposium(session, "2026-11", date(2026, 11, 21))
    session.commit()
    path = "/admin/program/2026-11/lectures/new"
    added = _post(office, path, LECTURE_FORM | {"code": "2026-11-L1", "excluded": "10:30-10:40"})
    assert added.status_code == 303  # type: ignore[attr-defined]
    page = office.get("/admin/program/2026-11", headers=ENGLISH).get_data(as_text=True)
    assert "10:30-10:40" in page
    assert "Heart failure" in page
    outside = _post(office, path, LECTURE_FORM | {"code": "2026-11-L2", "excluded": "12:00-12:10"})
    assert outside.status_code == 422  # type: ignore[attr-defined]
    assert "inside the lecture" in outside.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_save_of_an_old_version_is_refused_with_a_clear_message(
    office: FlaskClient, session: Session
) -> None:
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    lecture.title_en = "Changed by someone else"
    session.commit()
    assert lecture.row_version == 2
    path = "/admin/program/lectures/2026-11-L1/edit"
    stale = _post(office, path, LECTURE_FORM | {"version": "1", "title_en": "Mine"})
    assert stale.status_code == 409  # type: ignore[attr-defined]
    text = stale.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Someone else saved this record meanwhile" in text
    assert "Changed by someone else" in text
    session.expire_all()
    assert (
        session.scalar(select(Lecture.title_en).where(Lecture.code == "2026-11-L1"))
        == "Changed by someone else"
    )


def test_an_edit_of_an_attended_lecture_shows_its_impact_before_saving(
    office: FlaskClient, session: Session
) -> None:
    lecture = _day_with_attendance(session)
    path = f"/admin/program/lectures/{lecture.code}/edit"
    as_made = LECTURE_FORM | {
        "title_ja": "講演",
        "title_en": "Lecture",
        "speaker": "講師 一郎",
        "language": "",
    }
    shown = _post(office, path, as_made | {"version": "1", "ends_at": "10:45"})
    text = shown.get_data(as_text=True)  # type: ignore[attr-defined]
    assert shown.status_code == 200  # type: ignore[attr-defined]
    assert "What this change would change" in text
    credits = text[text.index("data-impact-credits") :]
    assert "001001" in credits
    assert "髙橋 花子" in credits
    assert "imsj" in credits
    assert "1 credits" in credits
    assert "0.5 credits" in credits
    session.expire_all()
    assert session.scalar(select(Lecture.row_version).where(Lecture.code == lecture.code)) == 1
    changed_again = _post(
        office, path, as_made | {"version": "1", "ends_at": "10:40", "confirmed": _confirmation(text)}
    )
    assert "What this change would change" in changed_again.get_data(as_text=True)  # type: ignore[attr-defined]
    session.expire_all()
    assert session.scalar(select(Lecture.row_version).where(Lecture.code == lecture.code)) == 1
    saved = _post(
        office,
        path,
        as_made | {"version": "1", "ends_at": "10:45", "confirmed": _confirmation(text)},
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    assert "/admin/program/2026-05/documents" in saved.headers["Location"]  # type: ignore[attr-defined]
    session.expire_all()
    assert session.scalar(select(Lecture.row_version).where(Lecture.code == lecture.code)) == 2
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "lecture.update")).all()
    assert set(event.details["fields"]) == {"ends_at"}
    assert event.actor == "user:office"


def test_a_lecture_moves_up(office: FlaskClient, session: Session) -> None:
    _day_with_attendance(session)
    moved = _post(
        office,
        "/admin/program/lectures/2026-05-L2/move",
        {"version": "1", "position": "1"},
        "/admin/program/2026-05",
    )
    assert moved.status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    positions = session.execute(select(Lecture.code, Lecture.position).order_by(Lecture.position)).all()
    assert [tuple(row) for row in positions] == [("2026-05-L2", 1), ("2026-05-L1", 2)]


def test_removing_an_attended_lecture_is_refused_with_the_reason(
    office: FlaskClient, session: Session
) -> None:
    lecture = _day_with_attendance(session)
    refused = _post(
        office, f"/admin/program/lectures/{lecture.code}/remove", {"version": "1"}, "/admin/program/2026-05"
    )
    assert refused.status_code == 303  # type: ignore[attr-defined]
    page = office.get("/admin/program/2026-05", headers=ENGLISH).get_data(as_text=True)
    assert "cannot be removed: 1 attendance(s)" in page
    assert session.scalar(select(func.count()).select_from(Lecture)) == 2
    removed = _post(
        office, "/admin/program/lectures/2026-05-L2/remove", {"version": "1"}, "/admin/program/2026-05"
    )
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(Lecture)) == 1


def test_a_symposium_is_closed_and_opened_from_its_page(office: FlaskClient, session: Session) -> None:
    make_symposium(session, "2026-05", date(2026, 5, 16))
    session.commit()
    _post(office, "/admin/program/2026-05/close", {"version": "1"}, "/admin/program/2026-05")
    session.expire_all()
    assert (
        session.scalar(select(Symposium.status).where(Symposium.code == "2026-05")) == SymposiumStatus.CLOSED
    )
    stale = _post(office, "/admin/program/2026-05/open", {"version": "1"}, "/admin/program/2026-05")
    assert stale.status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert (
        session.scalar(select(Symposium.status).where(Symposium.code == "2026-05")) == SymposiumStatus.CLOSED
    )
    _post(office, "/admin/program/2026-05/open", {"version": "2"}, "/admin/program/2026-05")
    session.expire_all()
    assert (
        session.scalar(select(Symposium.status).where(Symposium.code == "2026-05"))
        == SymposiumStatus.SCHEDULED
    )


def test_moving_an_attended_symposium_previews_the_credits_it_loses(
    office: FlaskClient, session: Session
) -> None:
    _day_with_attendance(session)
    form = {
        "version": "1",
        "date": "2026-05-23",
        "timezone": "Asia/Tokyo",
        "title_ja": "五月",
        "title_en": "May symposium",
        "venue": "東京",
        "kind": "regular",
    }
    shown = _post(office, "/admin/program/2026-05/edit", form)
    text = shown.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "What this change would change" in text
    assert "001001" in text[text.index("data-impact-credits") :]
    session.expire_all()
    assert session.scalar(select(Symposium.held_on).where(Symposium.code == "2026-05")) == date(2026, 5, 16)


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_other_roles_are_refused(client: FlaskClient, session: Session, role: Role) -> None:
    _day_with_attendance(session)
    member = make_member(session) if role == Role.MEMBER else None
    make_login(session, f"{role.value}-person", role, member=member)
    log_in(client, f"{role.value}-person")
    for path in ("/admin/program/", "/admin/program/2026-05", "/admin/program/lectures/2026-05-L1/edit"):
        assert client.get(path).status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/admin/program/new", data={"csrf_token": token}).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client: FlaskClient) -> None:
    answer = client.get("/admin/program/")
    assert answer.status_code in (302, 401)
