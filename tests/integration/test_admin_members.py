"""The administrators' member pages: search, a card and new cards, walk-ins, card sheets; admins only."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.admin import views as admin_views
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.members.cards import UnknownCard, card_payload, member_for_card
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import make_member
from tests.integration.card_reading import pdf_page_count, pdf_text, qr_codes_on_page, qr_of_page
from tests.integration.web_login import csrf_token, log_in, make_login

SECRET = "test-secret"
"""The app fixture's SECRET_KEY, which signs the cards."""
ENGLISH = {"Accept-Language": "en"}

GET_ROUTES = (
    "/admin/members",
    "/admin/walk-ins",
    "/admin/cards",
    "/admin/members/new",
    "/admin/members/{member_no}",
    "/admin/members/{member_no}/card.pdf",
    "/admin/members/{member_no}/edit",
    "/admin/members/{member_no}/merge",
    "/admin/members/{member_no}/merge/{target_no}",
    "/admin/cards/{job_id}.pdf",
)
POST_ROUTES = (
    "/admin/members/new",
    "/admin/members/{member_no}/new-card",
    "/admin/members/{member_no}/confirm",
    "/admin/members/{member_no}/edit",
    "/admin/members/{member_no}/deactivate",
    "/admin/members/{member_no}/reactivate",
    "/admin/members/{member_no}/merge/{target_no}",
    "/admin/cards",
)


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def _post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})}, headers=ENGLISH)


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.sequence))
    )


def test_the_access_test_below_covers_every_admin_route(app: Flask) -> None:
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }
    assert routes == {(path, "GET") for path in GET_ROUTES} | {(path, "POST") for path in POST_ROUTES}


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_every_admin_route_refuses_other_roles_and_changes_nothing(
    client: FlaskClient, session: Session, role: Role
) -> None:
    member = make_member(session, needs_review=True)
    other = make_member(session)
    make_login(session, "someone", role, member=member if role is Role.MEMBER else None)
    log_in(client, "someone")
    token = csrf_token(client, "/")
    numbers = {"member_no": member.member_no, "target_no": other.member_no, "job_id": 1}
    for path in GET_ROUTES:
        assert client.get(path.format(**numbers)).status_code == 403, path
    for path in POST_ROUTES:
        data = {"csrf_token": token, "scope": "all", "reason": "left", "version": "1"}
        assert client.post(path.format(**numbers), data=data).status_code == 403, path
    session.refresh(member)
    assert (member.card_serial, member.needs_review, member.active, member.row_version) == (1, True, True, 1)
    assert member.merged_into_id is None


def test_anonymous_visitor_is_sent_to_the_login_form(client: FlaskClient, session: Session) -> None:
    response = client.get("/admin/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_members_list_pages_through_all_members_by_number(
    admin: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_views, "PER_PAGE", 2)
    for number in ("M03", "M01", "M02"):
        make_member(session, member_no=number)
    session.commit()
    first = admin.get("/admin/members", headers=ENGLISH).get_data(as_text=True)
    assert ">M01<" in first and ">M02<" in first and ">M03<" not in first
    assert "/admin/members?page=2" in first
    second = admin.get("/admin/members?page=2", headers=ENGLISH).get_data(as_text=True)
    assert ">M03<" in second and ">M01<" not in second
    assert "Next page" not in second


def test_search_finds_members_by_kana_or_romaji_including_inactive_ones(
    admin: FlaskClient, session: Session
) -> None:
    make_member(
        session,
        member_no="S01",
        family_name="髙橋",
        family_name_kana="タカハシ",
        family_name_romaji="Takahashi",
    )
    make_member(
        session,
        member_no="S02",
        family_name="高橋",
        family_name_kana="タカハシ",
        family_name_romaji="Takahashi",
        active=False,
    )
    make_member(
        session, member_no="S03", family_name="佐藤", family_name_kana="サトウ", family_name_romaji="Sato"
    )
    session.commit()
    for query in ("たかはし", "ﾀｶﾊｼ", "TAKAHASHI"):
        page = admin.get("/admin/members", query_string={"q": query}, headers=ENGLISH).get_data(as_text=True)
        assert ">S01<" in page and ">S02<" in page, query
        assert ">S03<" not in page, query
    assert "Inactive" in page


def test_search_results_are_paged(
    admin: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_views, "PER_PAGE", 2)
    for number, given in (("P01", "Aki"), ("P02", "Ben"), ("P03", "Chie")):
        make_member(session, member_no=number, family_name_romaji="Kondo", given_name_romaji=given)
    session.commit()
    first = admin.get("/admin/members?q=kondo", headers=ENGLISH).get_data(as_text=True)
    second = admin.get("/admin/members?q=kondo&page=2", headers=ENGLISH).get_data(as_text=True)
    assert ">P01<" in first and ">P02<" in first and ">P03<" not in first
    assert ">P03<" in second and ">P01<" not in second
    assert "q=kondo" in first.split('rel="next"')[0].rsplit("<a", 1)[1]


@pytest.mark.parametrize("query", ["page=0", "page=abc", "q=" + "x" * 201])
def test_nonsense_list_parameters_are_a_400(admin: FlaskClient, query: str) -> None:
    assert admin.get(f"/admin/members?{query}").status_code == 400


def test_member_page_shows_the_qr_code_of_the_current_card(admin: FlaskClient, session: Session) -> None:
    member = make_member(session, family_name="𠮷田", card_serial=4)
    session.commit()
    response = admin.get(f"/admin/members/{member.member_no}", headers=ENGLISH)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert "𠮷田 太郎" in page
    assert "Card no. 4" in page
    assert qr_of_page(page) == card_payload(SECRET, member)


def test_unknown_member_number_is_a_404(admin: FlaskClient) -> None:
    assert admin.get("/admin/members/NOPE").status_code == 404
    assert _post(admin, "/admin/members/NOPE/new-card").status_code == 404


def test_new_card_cancels_the_old_one_and_is_audited(admin: FlaskClient, session: Session) -> None:
    member = make_member(session)
    session.commit()
    old = card_payload(SECRET, member)

    response = _post(admin, f"/admin/members/{member.member_no}/new-card")
    assert response.status_code == 303

    session.refresh(member)
    assert member.card_serial == 2
    with pytest.raises(UnknownCard) as refused:
        member_for_card(SECRET, old, member)
    assert refused.value.code == "card_replaced"
    new = card_payload(SECRET, member)
    assert member_for_card(SECRET, new, member) is member
    [event] = _events(session, "member.card.reissue")
    assert (event.actor, event.target, event.details) == (
        "office",
        f"member:{member.member_no}",
        {"card_serial": 2},
    )
    page = admin.get(f"/admin/members/{member.member_no}", headers=ENGLISH).get_data(as_text=True)
    assert "The previous card is no longer accepted" in page
    assert qr_of_page(page) == new


def test_new_card_without_the_csrf_token_is_refused_and_changes_nothing(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session)
    session.commit()
    assert admin.post(f"/admin/members/{member.member_no}/new-card").status_code == 400
    session.refresh(member)
    assert member.card_serial == 1
    assert _events(session, "member.card.reissue") == []


def test_a_new_card_that_fails_half_way_leaves_the_old_card_valid(
    admin: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(session)
    session.commit()

    def audit_log_down(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(chain, "record", audit_log_down)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        _post(admin, f"/admin/members/{member.member_no}/new-card")
    session.expire_all()
    assert session.scalar(select(Member.card_serial).where(Member.id == member.id)) == 1


def test_confirming_a_walk_in_clears_the_flag_and_is_audited_once(
    admin: FlaskClient, session: Session
) -> None:
    walk_in = make_member(session, member_no="W-0001", needs_review=True, medical_registry_no="512345")
    session.commit()

    response = _post(admin, "/admin/members/W-0001/confirm", {"next": "/admin/walk-ins"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/walk-ins"
    again = _post(admin, "/admin/members/W-0001/confirm")
    assert again.headers["Location"] == "/admin/members/W-0001"

    session.refresh(walk_in)
    assert walk_in.needs_review is False
    [event] = _events(session, "member.walk_in.confirm")
    assert event.actor == "office"
    assert event.target == "member:W-0001"
    assert event.details["medical_registry_no"] == "512345"
    assert chain.verify(session).intact
    assert "W-0001 was already confirmed." in admin.get("/admin/members/W-0001", headers=ENGLISH).get_data(
        as_text=True
    )


def test_confirm_never_redirects_to_another_site(admin: FlaskClient, session: Session) -> None:
    make_member(session, member_no="W-0002", needs_review=True)
    session.commit()
    response = _post(admin, "/admin/members/W-0002/confirm", {"next": "//evil.example/"})
    assert response.headers["Location"] == "/admin/members/W-0002"


def test_walk_ins_page_lists_only_members_awaiting_confirmation(admin: FlaskClient, session: Session) -> None:
    make_member(session, member_no="W-0003", needs_review=True, family_name="飛込")
    make_member(session, member_no="R-0001")
    session.commit()
    page = admin.get("/admin/walk-ins", headers=ENGLISH).get_data(as_text=True)
    assert ">W-0003<" in page and "飛込" in page
    assert ">R-0001<" not in page
    members_page = admin.get("/admin/members", headers=ENGLISH).get_data(as_text=True)
    assert "Walk-ins waiting for confirmation: 1" in members_page


def test_selection_pdf_has_only_the_ticked_and_typed_members_in_that_order(
    admin: FlaskClient, session: Session
) -> None:
    for number in ("C01", "C02", "C03", "C04"):
        make_member(session, member_no=number)
    session.commit()
    response = _post(
        admin, "/admin/cards", {"scope": "selected", "member_no": ["C03"], "numbers": "C01, C03"}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "imsj-member-cards-2-" in disposition
    pdf = response.data
    text = pdf_text(pdf, layout=True)
    assert "C03" in text and "C01" in text and text.index("C03") < text.index("C01")
    assert "C02" not in text and "C04" not in text
    members = {member.member_no: member for member in session.scalars(select(Member))}
    assert sorted(qr_codes_on_page(pdf, 1)) == sorted(
        card_payload(SECRET, members[no]) for no in ("C01", "C03")
    )


def test_full_width_and_japanese_separated_numbers_are_read(admin: FlaskClient, session: Session) -> None:
    make_member(session, member_no="D01")
    make_member(session, member_no="D02")
    session.commit()
    response = _post(admin, "/admin/cards", {"scope": "selected", "numbers": "Ｄ０１、D02"})
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "D01" in text and "D02" in text


def test_all_active_members_leaves_out_inactive_members_and_unconfirmed_walk_ins(
    admin: FlaskClient, session: Session
) -> None:
    for number in range(11):
        make_member(session, member_no=f"E{number:02d}")
    make_member(session, member_no="X-INACTIVE", active=False)
    make_member(session, member_no="X-WALKIN", needs_review=True)
    session.commit()
    response = _post(admin, "/admin/cards", {"scope": "all"})
    assert response.status_code == 200
    assert "imsj-member-cards-all-" in response.headers["Content-Disposition"]
    pdf = response.data
    assert pdf_page_count(pdf) == 2
    text = pdf_text(pdf)
    assert all(f"E{number:02d}" in text for number in range(11))
    assert "X-INACTIVE" not in text and "X-WALKIN" not in text


def test_unknown_or_inactive_numbers_are_listed_and_no_pdf_is_sent(
    admin: FlaskClient, session: Session
) -> None:
    make_member(session, member_no="F01")
    make_member(session, member_no="F02", active=False)
    session.commit()
    response = _post(admin, "/admin/cards", {"scope": "selected", "numbers": "F01 F02 F98 F99"})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "No member has these numbers: F98, F99" in page
    assert "These members are not active: F02" in page


def test_an_empty_selection_asks_for_numbers(admin: FlaskClient) -> None:
    response = _post(admin, "/admin/cards", {"scope": "selected", "numbers": " ,\n "})
    assert response.status_code == 422
    assert "Enter or tick at least one member number." in response.get_data(as_text=True)


def test_one_members_card_pdf_has_that_member_only(admin: FlaskClient, session: Session) -> None:
    member = make_member(session, member_no="G01")
    make_member(session, member_no="G02")
    session.commit()
    response = admin.get("/admin/members/G01/card.pdf")
    assert response.status_code == 200
    assert "filename=imsj-member-card-G01.pdf" in response.headers["Content-Disposition"]
    assert qr_codes_on_page(response.data, 1) == [card_payload(SECRET, member)]
    assert "G02" not in pdf_text(response.data)


def test_a_name_the_font_cannot_print_is_reported_not_printed_blank(
    admin: FlaskClient, session: Session
) -> None:
    make_member(session, member_no="H01", family_name="田\ue000")
    session.commit()
    response = admin.get("/admin/members/H01/card.pdf", headers=ENGLISH)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "U+E000" in response.get_data(as_text=True)
