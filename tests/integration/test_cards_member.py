"""A member's own card: on their page for a phone at the desk, and as a PDF; never anyone else's."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.members.cards import card_payload
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import make_member
from tests.integration.card_reading import pdf_text, qr_codes_on_page, qr_of_page
from tests.integration.web_login import log_in, make_login

SECRET = "test-secret"
"""The app fixture's SECRET_KEY, which signs the cards."""
ENGLISH = {"Accept-Language": "en"}
SNOOPING = ("member_no={number}", "member={id}", "member_id={id}", "no={number}")
"""Query parameters that someone might try in the hope of seeing another member's card."""


@pytest.fixture
def members(client: FlaskClient, session: Session) -> tuple[Member, Member]:
    """A logged-in member, and another member whose card they must never see."""
    own = make_member(session, member_no="OWN001", family_name="山﨑", family_name_romaji="Yamazaki")
    other = make_member(session, member_no="OTHER99", family_name="髙橋", family_name_romaji="Takahashi")
    make_login(session, "own", Role.MEMBER, member=own)
    log_in(client, "own")
    return own, other


def test_member_sees_their_card_with_a_qr_code_the_desk_accepts(
    client: FlaskClient, members: tuple[Member, Member]
) -> None:
    own, _other = members
    response = client.get("/me/card", headers=ENGLISH)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert "山﨑 太郎" in page and "YAMAZAKI Taro" in page and "OWN001" in page
    assert qr_of_page(page) == card_payload(SECRET, own)
    assert 'href="/me/card.pdf"' in page


@pytest.mark.parametrize("query", SNOOPING)
def test_card_page_shows_only_the_members_own_card_whatever_the_url_says(
    client: FlaskClient, members: tuple[Member, Member], query: str
) -> None:
    own, other = members
    page = client.get(f"/me/card?{query.format(number=other.member_no, id=other.id)}").get_data(as_text=True)
    main = page.split('<main id="main"', 1)[1]
    assert qr_of_page(main) == card_payload(SECRET, own)
    assert other.member_no not in main and "髙橋" not in main


def test_member_downloads_their_own_card_only(client: FlaskClient, members: tuple[Member, Member]) -> None:
    own, other = members
    for query in ("", *(snoop.format(number=other.member_no, id=other.id) for snoop in SNOOPING[:2])):
        response = client.get(f"/me/card.pdf?{query}")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert "filename=imsj-member-card-OWN001.pdf" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "private, no-store"
        assert qr_codes_on_page(response.data, 1) == [card_payload(SECRET, own)]
        assert other.member_no not in pdf_text(response.data)


def test_the_card_is_in_the_members_menu_and_linked_from_their_credits(
    client: FlaskClient, members: tuple[Member, Member]
) -> None:
    page = client.get("/me/credits", headers=ENGLISH).get_data(as_text=True)
    assert page.count('href="/me/card"') == 2


def test_a_replaced_card_disappears_from_the_members_page(
    client: FlaskClient, session: Session, members: tuple[Member, Member]
) -> None:
    own, _other = members
    old = card_payload(SECRET, own)
    own.card_serial += 1
    session.commit()
    shown = qr_of_page(client.get("/me/card").get_data(as_text=True))
    assert shown == card_payload(SECRET, own)
    assert shown != old


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.ADMIN])
def test_staff_without_the_member_role_are_refused_the_member_card(
    client: FlaskClient, session: Session, role: Role
) -> None:
    make_login(session, "staff", role)
    log_in(client, "staff")
    assert client.get("/me/card").status_code == 403
    assert client.get("/me/card.pdf").status_code == 403


def test_anonymous_visitor_is_sent_to_the_login_form(client: FlaskClient) -> None:
    for path in ("/me/card", "/me/card.pdf"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
