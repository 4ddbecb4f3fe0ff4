"""The office's member records: add, edit (versioned), deactivate, the member page's attendance, credits,
documents and history, merging a walk-in or duplicate, and telling namesakes apart in the search."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.accounts.models import User
from cme_tracker.admin.merge import merge_members
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.attendance.services import last_symposia
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.documents.models import Certificate, CertificateStatus
from cme_tracker.errors import Conflict, StaleVersion
from cme_tracker.members.editing import InvalidMember, create_member, set_active, update_member
from cme_tracker.members.history import member_history
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from tests.factories import attend, make_certificate, make_lecture, make_member, make_symposium, tokyo
from tests.integration.web_login import csrf_token, log_in, make_login

ENGLISH = {"Accept-Language": "en"}
NEW_MEMBER = {
    "member_no": "N-0001",
    "profession": "physician",
    "family_name": "鈴木",
    "given_name": "一郎",
    "family_name_kana": "スズキ",
    "given_name_kana": "イチロウ",
    "family_name_romaji": "Suzuki",
    "given_name_romaji": "Ichiro",
    "medical_registry_no": "123456",
    "efn": "276020000000013",
    "email": "suzuki@example.jp",
    "country": "jp",
}


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def _post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})}, headers=ENGLISH)


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path, headers=ENGLISH)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.sequence))
    )


def _form_of(member: Member, **changes: str) -> dict[str, object]:
    fields = (
        "profession",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "family_name_romaji",
        "given_name_romaji",
        "former_family_name",
        "email",
        "country",
        "medical_registry_no",
        "dental_registry_no",
        "efn",
    )
    values: dict[str, object] = {field: getattr(member, field) or "" for field in fields}
    return {**values, "version": member.row_version, **changes}


def _values(member: Member, **changes: str) -> dict[str, object]:
    """The member's editable values as a service takes them, with some changed."""
    return {field: value for field, value in _form_of(member, **changes).items() if field != "version"}


# Adding and editing


def test_office_adds_a_member_checked_like_an_import_row_and_audited(
    admin: FlaskClient, session: Session
) -> None:
    response = _post(admin, "/admin/members/new", NEW_MEMBER)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/members/N-0001"
    member = session.scalar(select(Member).where(Member.member_no == "N-0001"))
    assert member is not None
    assert (member.country, member.efn, member.active, member.row_version) == (
        "JP",
        "276020000000013",
        True,
        1,
    )
    [created] = _events(session, "member.create")
    assert (created.actor, created.target) == ("user:office", "member:N-0001")
    assert created.details["values"]["family_name_romaji"] == "Suzuki"
    assert "Member N-0001 is added." in _page(admin, "/admin/members/N-0001")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"efn": "276020000000014"}, "check digit is wrong"),
        ({"efn": "12345"}, "an EFN has 15 digits, not 5"),
        ({"profession": "dentist"}, "only physicians have a medical registry number"),
        ({"family_name_romaji": "鈴木"}, "not in Latin letters"),
        ({"family_name_kana": "鈴木"}, "not kana"),
        ({"country": "XX"}, "XX is not an ISO 3166 country code"),
        ({"member_no": "N 1"}, "a member number has letters, digits"),
        ({"given_name": ""}, "required"),
    ],
)
def test_a_member_the_import_would_refuse_is_refused_with_the_reason_beside_the_field(
    admin: FlaskClient, session: Session, change: dict[str, str], problem: str
) -> None:
    response = _post(admin, "/admin/members/new", {**NEW_MEMBER, **change})
    assert response.status_code == 422
    assert problem in response.get_data(as_text=True)
    assert session.scalar(select(Member).where(Member.family_name_romaji == "Suzuki")) is None
    assert _events(session, "member.create") == []


def test_the_page_names_the_member_who_holds_a_registry_number_already(
    admin: FlaskClient, session: Session
) -> None:
    make_member(session, member_no="K-0002", medical_registry_no="123456")
    session.commit()
    response = _post(admin, "/admin/members/new", NEW_MEMBER)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Member K-0002 has this number already" in page
    taken = _post(
        admin, "/admin/members/new", {**NEW_MEMBER, "member_no": "K-0002", "medical_registry_no": ""}
    )
    assert "There is a member with this number already." in taken.get_data(as_text=True)


def test_an_edit_without_the_version_it_was_made_against_is_refused(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session, email="kept@example.jp")
    session.commit()
    form = _form_of(member, email="lost@example.jp")
    del form["version"]
    assert _post(admin, f"/admin/members/{member.member_no}/edit", form).status_code == 422
    session.refresh(member)
    assert member.email == "kept@example.jp"


def test_a_registry_number_already_on_file_is_refused_as_a_duplicate(session: Session) -> None:
    make_member(session, member_no="K-0001", medical_registry_no="123456")
    with pytest.raises(Conflict) as refused:
        create_member(session, NEW_MEMBER, actor="test")
    assert refused.value.code == "registry_number_taken"
    assert refused.value.details["member_no"] == "K-0001"


def test_an_edit_records_old_and_new_values_and_raises_the_version(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session, email="old@example.jp")
    session.commit()
    form = _page(admin, f"/admin/members/{member.member_no}/edit")
    assert 'name="version" type="hidden" value="1"' in form
    response = _post(
        admin,
        f"/admin/members/{member.member_no}/edit",
        _form_of(member, email="new@example.jp", given_name_romaji="Tarō", former_family_name="田中"),
    )
    assert response.status_code == 303
    session.refresh(member)
    assert (member.email, member.given_name_romaji, member.row_version) == ("new@example.jp", "Tarō", 2)
    assert "taro" in member.search_key and "田中" in member.search_key
    [edited] = _events(session, "member.update")
    assert edited.details["changes"] == {
        "email": {"old": "old@example.jp", "new": "new@example.jp"},
        "given_name_romaji": {"old": "Taro", "new": "Tarō"},
        "former_family_name": {"old": None, "new": "田中"},
    }
    page = _page(admin, f"/admin/members/{member.member_no}")
    history = page.split('id="history"')[1]
    assert "Edited" in history and "user:office" in history
    assert "<del>old@example.jp</del> → <ins>new@example.jp</ins>" in history


def test_a_stale_edit_is_refused_with_a_clear_message_and_keeps_the_other_save(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session, email="first@example.jp")
    session.commit()
    opened = _form_of(member, email="mine@example.jp")
    update_member(
        session,
        member,
        _values(member, email="theirs@example.jp"),
        actor="user:colleague",
        expected_version=1,
    )
    session.commit()
    response = _post(admin, f"/admin/members/{member.member_no}/edit", opened)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else saved this member while you were editing" in page
    assert 'value="theirs@example.jp"' in page
    session.refresh(member)
    assert (member.email, member.row_version) == ("theirs@example.jp", 2)
    assert len(_events(session, "member.update")) == 1


def test_an_edit_that_changes_nothing_writes_nothing(session: Session) -> None:
    member = make_member(session)
    values = _values(member)
    assert update_member(session, member, values, actor="test", expected_version=1) == {}
    assert member.row_version == 1
    assert _events(session, "member.update") == []


def test_an_edit_against_an_old_version_is_refused_by_the_service(session: Session) -> None:
    member = make_member(session)
    values = _values(member)
    with pytest.raises(StaleVersion) as refused:
        update_member(session, member, {**values, "email": "x@example.jp"}, actor="test", expected_version=7)
    assert refused.value.details == {"current_version": 1}


def test_an_invalid_edit_names_each_field(session: Session) -> None:
    member = make_member(session)
    values = _values(member)
    with pytest.raises(InvalidMember) as refused:
        update_member(
            session, member, {**values, "efn": "1", "email": "nope"}, actor="test", expected_version=1
        )
    assert set(refused.value.details) == {"efn", "email"}


# Deactivating


def test_deactivating_needs_a_reason_and_is_audited_and_reactivating_undoes_it(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session)
    session.commit()
    path = f"/admin/members/{member.member_no}"
    refused = _post(admin, f"{path}/deactivate", {"reason": "", "version": 1})
    assert refused.status_code == 303
    session.refresh(member)
    assert member.active is True
    assert "Give the reason." in _page(admin, path)

    _post(admin, f"{path}/deactivate", {"reason": "left the society", "version": 1})
    session.refresh(member)
    assert (member.active, member.row_version) == (False, 2)
    [deactivated] = _events(session, "member.deactivate")
    assert deactivated.details == {"reason": "left the society", "version": 2}
    page = _page(admin, path)
    assert "is deactivated" in page and "Inactive" in page

    stale = _post(admin, f"{path}/reactivate", {"reason": "came back", "version": 1})
    assert stale.status_code == 303
    assert "Someone else changed this member" in _page(admin, path)
    _post(admin, f"{path}/reactivate", {"reason": "came back", "version": 2})
    session.refresh(member)
    assert member.active is True
    assert [event.details["reason"] for event in _events(session, "member.reactivate")] == ["came back"]


def test_deactivating_an_inactive_member_is_refused(session: Session) -> None:
    member = make_member(session, active=False)
    with pytest.raises(Conflict) as refused:
        set_active(session, member, False, reason="again", actor="test", expected_version=None)
    assert refused.value.code == "already_inactive"


# The member page


def test_member_page_shows_attendance_in_the_symposium_zone_voided_marked_credits_documents_and_history(
    admin: FlaskClient, session: Session
) -> None:
    member = make_member(session)
    berlin = make_symposium(session, "2026-10-TA", date(2026, 10, 3), timezone="Europe/Berlin")
    lecture = make_lecture(session, berlin, "10:00", "11:00")
    attend(session, member, lecture, "10:00", "11:00")
    attend(
        session,
        member,
        berlin,
        "09:05",
        voided_at=tokyo(date(2026, 10, 3), "18:00"),
        void_reason="wrong member",
    )
    make_certificate(session, member, berlin, serial="A26-PAGE-0001")
    make_certificate(
        session,
        member,
        None,
        serial="T26-PAGE-0002",
        status=CertificateStatus.REVOKED,
        revoked_at=tokyo(date(2026, 12, 1), "10:00"),
    )
    chain.record(
        session, actor="user:office", action="member.card.reissue", target=f"member:{member.member_no}"
    )
    session.commit()
    page = _page(admin, f"/admin/members/{member.member_no}?year=2026")
    attendance = page.split('id="attendance"')[1].split("</table>")[0]
    assert "times in Europe/Berlin" in attendance
    assert "10:00" in attendance and "11:00" in attendance and "09:05" in attendance
    assert "Voided" in attendance and "wrong member" in attendance
    assert "The whole day" in attendance
    assert "policy-total" in page  # the credits cards of the member's own page
    documents = page.split('id="documents"')[1].split("</table>")[0]
    assert "A26-PAGE-0001" in documents and "Valid" in documents
    assert "T26-PAGE-0002" in documents and "Revoked" in documents
    assert "New card issued" in page.split('id="history"')[1]


def test_member_history_is_the_members_own_events_newest_first(session: Session) -> None:
    for target in ("member:M1", "member:M10", "member:M1", "attendance:1"):
        chain.record(session, actor="test", action="member.update", target=target)
    events = member_history(session, "M1")
    assert [event.target for event in events] == ["member:M1", "member:M1"]
    assert events[0].sequence > events[1].sequence


# Merging


def _merge_world(session: Session) -> tuple[Member, Member, Attendance]:
    target = make_member(session, member_no="001001", medical_registry_no="111111")
    walk_in = make_member(session, member_no="W20260516-001", needs_review=True, medical_registry_no=None)
    symposium = make_symposium(session)
    first, second = (
        make_lecture(session, symposium, "10:00", "11:00"),
        make_lecture(session, symposium, "11:00", "12:00"),
    )
    attend(session, target, first, "10:00", "11:00")
    moved = attend(session, walk_in, second, "11:00")
    session.add(
        Scan(
            member_id=walk_in.id,
            symposium_id=symposium.id,
            lecture_id=second.id,
            direction="in",
            scanned_at=tokyo(symposium.held_on, "11:00"),
            method="search",
            outcome="checked_in",
            attendance_id=moved.id,
        )
    )
    make_certificate(session, walk_in, symposium, serial="A26-WALK-0001")
    make_login(session, "walkin-login", Role.MEMBER, member=walk_in)
    session.commit()
    return walk_in, target, moved


def test_admin_merges_a_walk_in_and_everything_moves_and_the_source_points_at_the_target(
    admin: FlaskClient, session: Session
) -> None:
    walk_in, target, moved = _merge_world(session)
    search = _page(admin, f"/admin/members/{walk_in.member_no}/merge?q=001001")
    assert f"/admin/members/{walk_in.member_no}/merge/001001" in search
    confirm = _page(admin, f"/admin/members/{walk_in.member_no}/merge/001001")
    comparison = confirm.split('id="merge-comparison"')[1]
    assert "W20260516-001" in comparison and "001001" in comparison and "Medical 111111" in comparison
    assert 'data-count="attendances">1<' in comparison

    response = _post(admin, f"/admin/members/{walk_in.member_no}/merge/001001", {"version": 1})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/members/001001"
    session.expire_all()
    assert session.get(Attendance, moved.id).member_id == target.id
    assert session.scalars(select(Scan.member_id)).all() == [target.id]
    assert (
        session.scalar(select(Certificate.member_id).where(Certificate.serial == "A26-WALK-0001"))
        == target.id
    )
    login = session.scalar(select(User).where(User.login == "walkin-login"))
    assert login is not None and (login.member_id, login.row_version) == (target.id, 2)
    walk_in = session.get(Member, walk_in.id)
    assert (walk_in.merged_into_id, walk_in.active, walk_in.needs_review) == (target.id, False, False)
    [merge] = _events(session, "member.merge")
    assert merge.target == "member:W20260516-001"
    assert merge.details == {
        "into": "001001",
        "moved": {"attendances": 1, "scans": 1, "certificates": 1, "logins": 1},
        "walk_in": True,
    }
    [merged_in] = _events(session, "member.merge_in")
    assert (merged_in.target, merged_in.details["from"]) == ("member:001001", "W20260516-001")
    assert "is merged into 001001" in _page(admin, "/admin/members/001001")
    assert "This record was merged into 001001" in _page(admin, "/admin/members/W20260516-001")
    assert chain.verify(session).intact


def test_a_merge_is_refused_while_both_are_checked_in_at_the_same_lecture(
    admin: FlaskClient, session: Session
) -> None:
    walk_in, target, moved = _merge_world(session)
    attend(session, target, moved.lecture, "11:05")
    session.commit()
    confirm = _page(admin, f"/admin/members/{walk_in.member_no}/merge/001001")
    assert "Both members are checked in, and not out, at 2026-05-L2" in confirm
    response = _post(admin, f"/admin/members/{walk_in.member_no}/merge/001001", {"version": 1})
    assert response.status_code == 409
    session.expire_all()
    assert session.get(Attendance, moved.id).member_id == walk_in.id
    assert session.get(Member, walk_in.id).merged_into_id is None
    assert _events(session, "member.merge") == []


def test_a_merge_is_refused_into_oneself_while_both_hold_a_valid_certificate_and_once_merged(
    session: Session,
) -> None:
    walk_in, target, moved = _merge_world(session)
    with pytest.raises(Conflict) as itself:
        merge_members(session, target, target, actor="test", expected_version=None)
    assert itself.value.code == "same_member"
    make_certificate(session, target, moved.symposium, serial="A26-KEPT-0001")
    with pytest.raises(Conflict) as two_valid:
        merge_members(session, walk_in, target, actor="test", expected_version=1)
    assert two_valid.value.code == "certificate_conflict"
    assert two_valid.value.details == {"serials": ["A26-KEPT-0001", "A26-WALK-0001"]}
    assert "revoke one of them first" in two_valid.value.message
    walk_in_certificate = session.scalar(select(Certificate).where(Certificate.serial == "A26-WALK-0001"))
    assert walk_in_certificate is not None
    walk_in_certificate.status = CertificateStatus.REVOKED
    walk_in_certificate.revoked_at = tokyo(date(2026, 6, 1), "10:00")
    session.flush()
    merge_members(session, walk_in, target, actor="test", expected_version=1)
    other = make_member(session)
    with pytest.raises(Conflict) as merged:
        merge_members(session, other, walk_in, actor="test", expected_version=None)
    assert merged.value.code == "already_merged"


def test_a_merge_is_refused_when_both_have_a_login(session: Session) -> None:
    walk_in, target, _moved = _merge_world(session)
    make_login(session, "target-login", Role.MEMBER, member=target)
    with pytest.raises(Conflict) as refused:
        merge_members(session, walk_in, target, actor="test", expected_version=1)
    assert refused.value.code == "login_conflict"


# Namesakes in the search


def test_search_results_tell_namesakes_apart_by_profession_registry_number_and_last_symposium(
    admin: FlaskClient, session: Session
) -> None:
    physician = make_member(session, member_no="Y-0001", medical_registry_no="300001")
    dentist = make_member(
        session,
        member_no="Y-0002",
        profession="dentist",
        medical_registry_no=None,
        dental_registry_no="400002",
    )
    may = make_symposium(session, "2026-05", date(2026, 5, 16))
    july = make_symposium(session, "2026-07", date(2026, 7, 18))
    attend(session, physician, may, "09:00")
    attend(session, physician, july, "09:00", voided_at=tokyo(july.held_on, "10:00"), void_reason="x")
    attend(session, dentist, july, "09:00", "12:00")
    session.commit()
    page = _page(admin, "/admin/members?q=山田太郎")
    rows = {number: _row_of(page, number) for number in ("Y-0001", "Y-0002")}
    assert "Physician" in rows["Y-0001"] and "Medical 300001" in rows["Y-0001"]
    assert "2026-05" in rows["Y-0001"] and "2026-07" not in rows["Y-0001"]  # the voided one does not count
    assert "Dentist" in rows["Y-0002"] and "Dental 400002" in rows["Y-0002"] and "2026-07" in rows["Y-0002"]


def _row_of(page: str, member_no: str) -> str:
    return next(row for row in page.split("<tr>") if f">{member_no}</a>" in row).split("</tr>")[0]


def test_the_last_symposia_of_a_page_of_members_are_one_query(session: Session) -> None:
    members = [make_member(session) for _ in range(5)]
    symposium = make_symposium(session)
    for member in members[:3]:
        attend(session, member, symposium, "09:00")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = last_symposia(session, [member.id for member in members])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert {member_id: last.code for member_id, last in found.items()} == {
        member.id: "2026-05" for member in members[:3]
    }
