"""The office's credit policy pages: every preset's rule in words (ja and en), enabling and disabling a
version with a stale edit refused, and a new version previewed on a year (its list and CSV) before saving."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from cme_tracker.audit.models import AuditEvent
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.presets import IMSJ
from cme_tracker.credits.services import member_credits
from cme_tracker.credits.versions import add_version, candidate_policy, preview_version, set_enabled
from cme_tracker.errors import StaleVersion
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role, YearBasis
from tests.factories import attend, make_lecture, make_member, make_symposium
from tests.integration.web_login import csrf_token, log_in, make_login

ENGLISH = {"Accept-Language": "en"}
JAPANESE = {"Accept-Language": "ja"}

EXPECTED_WORDS = {
    "en": {
        "imsj": [
            "0.5 credit per full 30 minutes attended",
            "under 30 minutes gives 0",
            "applies to everyone",
            "fields: all five, each counted in its own field",
        ],
        "jma": [
            "0.5 unit per full 30 minutes attended",
            "applies to physicians with a medical registry number",
            "only lectures with a JMA curriculum code count; the code is earned with them",
            "over 3 consecutive years, units plus distinct codes at least 60",
        ],
        "jda": [
            "1 unit per full 30 minutes attended",
            "plus 1 unit for a remainder of 20–29 minutes",
            "applies to dentists with a dental registry number",
            "fields: Clinical medicine, Basic medicine, Pharmaceuticals, and Dentistry",
            "the lecture&#39;s JDA training code is earned with it",
        ],
        "de-cme": [
            "1 point per full 45 minutes of the lecture",
            "only if the member missed at most 5 minutes of the lecture",
            "applies to members with an EFN",
            "at most 8 points a day",
        ],
    },
    "ja": {
        "imsj": [
            "出席 30 分ごとに 0.5 単位",
            "30 分未満は 0",
            "対象: すべての人",
            "分野: 5 分野すべて（分野ごとに集計）",
        ],
        "jma": ["対象: 医籍登録番号を持つ医師", "日医カリキュラムコードのある講演のみ対象（コードも取得）"],
        "jda": ["端数 20〜29 分で 1 単位を加算", "対象: 歯科医籍登録番号を持つ歯科医師"],
        "de-cme": [
            "講演時間 45 分ごとに 1 ポイント",
            "欠席が 5 分以内の場合のみ",
            "1 日あたり最大 8 ポイント",
        ],
    },
}


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def _post(client: FlaskClient, path: str, data: dict[str, Any]) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data}, headers=ENGLISH)


def _year(session: Session) -> list[Member]:
    """Symposium 2026-05, one 60-minute clinical lecture; members present 60, 30, 20 and 60 minutes."""
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    lecture = make_lecture(session, symposium, "10:00", "11:00", "clinical")
    members = [make_member(session, member_no=f"P{number:02d}") for number in range(1, 5)]
    for member, check_in in zip(members, ("10:00", "10:30", "10:40", "10:00"), strict=True):
        attend(session, member, lecture, check_in, "11:00")
    session.commit()
    return members


def _version_form(**overrides: Any) -> dict[str, Any]:
    """The new-version form as the page fills it from imsj, with a whole credit per 30 minutes."""
    form: dict[str, Any] = {
        "version": "2026.2",
        "effective_from": "2026-01-01",
        "enabled": "y",
        "name_ja": IMSJ.name_ja,
        "name_en": IMSJ.name_en,
        "unit_name": "credits",
        "professions": ["physician", "dentist", "other"],
        "registry_number": "none",
        "fields": ["clinical", "basic_medicine", "pharmaceuticals", "dentistry", "discourse"],
        "basis": "minutes_attended",
        "minutes_per_unit": "30",
        "unit_value": "1",
        "minimum_minutes": "30",
        "remainder_from": "",
        "remainder_value": "",
        "full_attendance_tolerance": "",
        "cap_per_lecture": "",
        "cap_per_day": "",
        "cap_per_year": "",
        "lecture_code": "",
        "preview_year": "2026",
        "preview_basis": "calendar",
        "action": "preview",
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_preset_is_shown_in_words_with_the_confirmation_note(admin: FlaskClient, language: str) -> None:
    page = admin.get("/admin/policies", headers={"Accept-Language": language}).get_data(as_text=True)
    for code, sentences in EXPECTED_WORDS[language].items():
        assert f'id="policy-{code}"' in page
        for sentence in sentences:
            assert sentence in page, (code, sentence)
    assert '"minutes_per_unit"' not in page
    note = (
        "a society officer confirms each one before relying on it"
        if language == "en"
        else "本会以外のプリセットは"
    )
    assert note in page


def test_disabling_a_version_is_audited_and_a_stale_form_is_refused(
    admin: FlaskClient, session: Session
) -> None:
    jma = session.scalars(select(CreditPolicyVersion).where(CreditPolicyVersion.code == "jma")).one()
    version = jma.row_version
    response = _post(admin, "/admin/policies/jma/2026.1/disable", {"row_version": str(version)})
    assert response.status_code == 303
    session.expire_all()
    assert not jma.enabled and jma.row_version == version + 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.disable")).one()
    assert (event.actor, event.target) == ("user:office", "policy:jma:2026.1")

    stale = _post(admin, "/admin/policies/jma/2026.1/enable", {"row_version": str(version)})
    page = admin.get(stale.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    assert "Someone else changed jma 2026.1 meanwhile; nothing was saved" in page
    session.expire_all()
    assert not jma.enabled

    _post(admin, "/admin/policies/jma/2026.1/enable", {"row_version": str(version + 1)})
    session.expire_all()
    assert jma.enabled


def test_the_service_refuses_an_edit_of_another_version(session: Session) -> None:
    with pytest.raises(StaleVersion) as refused:
        set_enabled(session, "imsj", "2026.1", enabled=False, expected_version=7, actor="test")
    assert refused.value.details == {"current_version": 1}


def test_the_form_starts_from_the_version_in_force(admin: FlaskClient) -> None:
    page = admin.get("/admin/policies/jda/new", headers=ENGLISH).get_data(as_text=True)
    assert 'name="remainder_from"' in page and 'value="20"' in page
    assert "a society officer confirms its rules" in page
    assert admin.get("/admin/policies/nope/new").status_code == 404


def test_a_preview_lists_the_members_whose_totals_change_and_the_csv_matches(
    admin: FlaskClient, session: Session
) -> None:
    _year(session)
    response = _post(admin, "/admin/policies/imsj/new", _version_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Members with attendance in the year: 4. Totals that change: 3." in page
    assert "Gains: 2.5; losses: 0; net change: 2.5." in page
    assert "Compared with version 2026.1." in page
    lines = page.split("data-preview-lines")[1]
    assert ">P01<" in lines and ">P02<" in lines and ">P04<" in lines and ">P03<" not in lines
    assert "Save this version" in page
    assert (
        session.scalars(select(CreditPolicyVersion).where(CreditPolicyVersion.version == "2026.2")).all()
        == []
    )

    download = _post(admin, "/admin/policies/imsj/new", _version_form(action="csv"))
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        ["member_no", "name", "old_total", "new_total", "difference"],
        ["P01", "山田 太郎", "1", "2", "1"],
        ["P02", "山田 太郎", "0.5", "1", "0.5"],
        ["P04", "山田 太郎", "1", "2", "1"],
    ]


def test_a_preview_is_paged(admin: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from cme_tracker.admin import policies

    monkeypatch.setattr(policies, "PREVIEW_PER_PAGE", 2)
    _year(session)
    first = _post(admin, "/admin/policies/imsj/new", _version_form()).get_data(as_text=True)
    assert "page 1 of 2" in first and ">P04<" not in first
    second = _post(admin, "/admin/policies/imsj/new", _version_form(page="2")).get_data(as_text=True)
    assert "page 2 of 2" in second and ">P04<" in second and ">P01<" not in second


def test_the_preview_csv_neutralises_formula_cells(session: Session) -> None:
    from cme_tracker.admin.policies import preview_csv

    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    member = make_member(session, member_no="=1+1", family_name="=HYPERLINK(0)", given_name="x")
    attend(session, member, lecture, "10:00", "11:00")
    candidate = candidate_policy(
        "imsj", "2026.2", date(2026, 1, 1), {**IMSJ.to_parameters(), "unit_value": "0.25"}
    )
    text = preview_csv(preview_version(session, candidate, 2026, YearBasis.CALENDAR))
    row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1]
    assert row[0] == "'=1+1" and row[1].startswith("'=HYPERLINK")
    assert row[4] == "-0.5"


def test_parameters_the_rules_refuse_are_shown_and_nothing_is_saved(
    admin: FlaskClient, session: Session
) -> None:
    _year(session)
    response = _post(
        admin, "/admin/policies/imsj/new", _version_form(remainder_from="45", remainder_value="1")
    )
    assert response.status_code == 422
    assert "The credit rules refuse these parameters" in response.get_data(as_text=True)
    assert "remainder.from_minutes must lie inside one unit" in response.get_data(as_text=True)
    bad_amount = _post(admin, "/admin/policies/imsj/new", _version_form(unit_value="NaN"))
    assert bad_amount.status_code == 422
    taken = _post(admin, "/admin/policies/imsj/new", _version_form(version="2026.1", action="save"))
    assert taken.status_code == 409
    assert (
        session.scalars(select(CreditPolicyVersion).where(CreditPolicyVersion.code == "imsj")).all()[1:] == []
    )


def test_saving_a_version_is_audited_and_credits_use_it_from_its_effective_date(
    admin: FlaskClient, session: Session
) -> None:
    members = _year(session)
    response = _post(
        admin, "/admin/policies/imsj/new", _version_form(effective_from="2026-04-01", action="save")
    )
    assert response.status_code == 303
    assert "imsj 2026.2 is saved" in admin.get(response.headers["Location"], headers=ENGLISH).get_data(
        as_text=True
    )
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.add_version")).one()
    assert (event.actor, event.target) == ("user:office", "policy:imsj:2026.2")
    assert event.details["parameters"]["unit_value"] == "1"

    calendar = member_credits(session, members[0], 2026, YearBasis.CALENDAR).policies["imsj"]
    assert (calendar.version, calendar.total) == ("2026.2", Decimal(2))
    fiscal_before = member_credits(session, members[0], 2025, YearBasis.FISCAL).policies["imsj"]
    assert fiscal_before.version == "2026.1"


def test_the_service_refuses_a_version_of_an_unknown_policy(session: Session) -> None:
    from cme_tracker.errors import NotFound

    with pytest.raises(NotFound):
        add_version(session, "nope", "1", date(2026, 1, 1), IMSJ.to_parameters(), actor="test")


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_policy_pages_refuse_other_roles_and_change_nothing(
    client: FlaskClient, session: Session, role: Role
) -> None:
    make_login(session, "someone", role, member=make_member(session) if role is Role.MEMBER else None)
    log_in(client, "someone")
    token = csrf_token(client, "/")
    assert client.get("/admin/policies").status_code == 403
    assert client.get("/admin/policies/imsj/new").status_code == 403
    for path in ("/admin/policies/imsj/2026.1/disable", "/admin/policies/imsj/new"):
        data = {"csrf_token": token, "row_version": "1", **_version_form(action="save")}
        assert client.post(path, data=data).status_code == 403, path
    assert (
        session.scalars(select(CreditPolicyVersion).where(CreditPolicyVersion.enabled.is_(False))).all() == []
    )
    assert len(session.scalars(select(CreditPolicyVersion)).all()) == 4
