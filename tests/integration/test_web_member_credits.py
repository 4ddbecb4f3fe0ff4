"""A member's credits page: their own credits and lectures for a year, and nobody else's."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import log_in, make_login

ENGLISH = {"Accept-Language": "en"}
JAPANESE = {"Accept-Language": "ja"}


def _field_total(page: str, policy_code: str, field_label: str) -> str:
    """The amount a policy's totals card shows for one field."""
    card = page.split(f'id="policy-{policy_code}"', 1)[1].split("</section>", 1)[0]
    match = re.search(rf'<th scope="row">{re.escape(field_label)}</th>\s*<td[^>]*>([^<]+)</td>', card)
    assert match is not None, f"no {field_label} row in the {policy_code} card"
    return match.group(1)


def _logged_in_member(client: FlaskClient, session: Session, **member_values: str) -> Member:
    member = make_member(session, **member_values)
    make_login(session, f"m{member.member_no}", Role.MEMBER, member=member)
    log_in(client, f"m{member.member_no}")
    return member


def test_member_sees_the_worked_example_50_minutes_give_half_a_credit(
    client: FlaskClient, session: Session
) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16), title_en="May Symposium")
    lecture = make_lecture(
        session, symposium, "10:00", "11:00", "clinical", title_ja="心不全治療", title_en="Heart failure"
    )
    attend(session, member, lecture, "10:10", "11:00")
    session.commit()

    response = client.get("/me/credits?year=2026", headers=ENGLISH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Heart failure" in page
    assert "May Symposium" in page
    assert "10:00–11:00" in page
    assert '<td class="number">50</td>' in page
    assert _field_total(page, "imsj", "Clinical medicine") == "0.5"
    assert _field_total(page, "imsj", "Basic medicine") == "0"
    assert "Policy version 2026.1" in page
    assert member.member_no in page


def test_page_names_the_codes_earned_and_asks_for_an_officers_confirmation_of_other_schemes(
    client: FlaskClient, session: Session
) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(session, "2026-07", date(2026, 7, 18))
    lecture = make_lecture(session, symposium, "13:00", "14:30", "pharmaceuticals", jma_cc="43")
    attend(session, member, lecture, "13:00", "14:30")
    session.commit()

    page = client.get("/me/credits?year=2026", headers=ENGLISH).get_data(as_text=True)
    assert _field_total(page, "imsj", "Pharmaceuticals") == "1.5"
    assert _field_total(page, "jma", "Pharmaceuticals") == "1.5"
    assert "JMA curriculum codes: 43" in page
    assert "Code 43" in page
    assert "a society officer must confirm them" in page


def test_member_without_other_schemes_sees_no_confirmation_note(
    client: FlaskClient, session: Session
) -> None:
    _logged_in_member(client, session, profession="other", medical_registry_no="")
    page = client.get("/me/credits?year=2026", headers=ENGLISH).get_data(as_text=True)
    assert 'id="policy-imsj"' in page
    assert 'id="policy-jma"' not in page
    assert "a society officer must confirm them" not in page
    assert "No attendance is recorded for this period." in page


def test_member_never_sees_another_members_records(client: FlaskClient, session: Session) -> None:
    _logged_in_member(client, session)
    other = make_member(session, family_name="佐藤", family_name_romaji="Sato", member_no="OTHER01")
    symposium = make_symposium(session, "2026-09", date(2026, 9, 19))
    lecture = make_lecture(session, symposium, "10:00", "11:00", title_en="Only Sato attended this")
    attend(session, other, lecture, "10:00", "11:00")
    session.commit()

    for query in ("", f"&member_no={other.member_no}", f"&member={other.id}", f"&member_id={other.id}"):
        page = client.get(f"/me/credits?year=2026{query}", headers=ENGLISH).get_data(as_text=True)
        page = page.split('<main id="main"', 1)[1]
        assert "Only Sato attended this" not in page
        assert "OTHER01" not in page
        assert _field_total(page, "imsj", "Clinical medicine") == "0"


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.ADMIN])
def test_staff_without_the_member_role_are_refused_the_member_page(
    client: FlaskClient, session: Session, role: Role
) -> None:
    make_login(session, "staff", role)
    log_in(client, "staff")
    assert client.get("/me/credits").status_code == 403


def test_anonymous_visitor_is_sent_to_the_login_form(client: FlaskClient) -> None:
    response = client.get("/me/credits")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_field_labels_follow_the_chosen_language(client: FlaskClient, session: Session) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(session, "2026-11", date(2026, 11, 21), title_ja="第6回 学術講演会")
    lecture = make_lecture(session, symposium, "15:00", "16:00", "discourse", title_ja="医療と哲学")
    attend(session, member, lecture, "15:00", "16:00")
    session.commit()

    japanese = client.get("/me/credits?year=2026", headers=JAPANESE).get_data(as_text=True)
    assert "ディスコース（人文）" in japanese
    assert "医療と哲学" in japanese
    assert "第6回 学術講演会" in japanese
    assert _field_total(japanese, "imsj", "ディスコース（人文）") == "1"
    english = client.get("/me/credits?year=2026", headers=ENGLISH).get_data(as_text=True)
    assert "Discourse (humanities)" in english
    assert "ディスコース（人文）" not in english


def test_fiscal_year_counts_january_in_the_year_before(client: FlaskClient, session: Session) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(session, "2027-01", date(2027, 1, 16))
    lecture = make_lecture(session, symposium, "10:00", "11:00", "basic_medicine", title_en="January lecture")
    attend(session, member, lecture, "10:00", "11:00")
    session.commit()

    calendar = client.get("/me/credits?year=2026&basis=calendar", headers=ENGLISH).get_data(as_text=True)
    assert "January lecture" not in calendar
    fiscal = client.get("/me/credits?year=2026&basis=fiscal", headers=ENGLISH).get_data(as_text=True)
    assert "January lecture" in fiscal
    assert _field_total(fiscal, "imsj", "Basic medicine") == "1"
    assert "1 April 2026" in fiscal
    assert "31 March 2027" in fiscal


def test_year_picker_offers_the_years_the_member_attended(client: FlaskClient, session: Session) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(session, "2024-03", date(2024, 3, 9))
    attend(session, member, make_lecture(session, symposium, "10:00", "11:00"), "10:00", "11:00")
    session.commit()
    page = client.get("/me/credits?year=2026", headers=ENGLISH).get_data(as_text=True)
    assert '<option value="2024">' in page
    assert '<option value="2026" selected>' in page


def test_lecture_times_are_shown_in_the_symposiums_own_time_zone(
    client: FlaskClient, session: Session
) -> None:
    member = _logged_in_member(client, session)
    symposium = make_symposium(
        session, "2026-10-DE", date(2026, 10, 3), timezone="Europe/Berlin", title_en="Tawara–Aschoff"
    )
    lecture = make_lecture(session, symposium, "09:30", "10:15", "basic_medicine")
    assert lecture.starts_at.astimezone(ZoneInfo("Asia/Tokyo")).hour == 16
    attend(session, member, lecture, "09:30", "10:15")
    session.commit()
    page = client.get("/me/credits?year=2026", headers=ENGLISH).get_data(as_text=True)
    assert "09:30–10:15" in page
    assert "times in Europe/Berlin" in page


@pytest.mark.parametrize("query", ["year=abc", "year=1800", "basis=lunar"])
def test_nonsense_year_choice_is_a_400(client: FlaskClient, session: Session, query: str) -> None:
    _logged_in_member(client, session)
    assert client.get(f"/me/credits?{query}").status_code == 400
