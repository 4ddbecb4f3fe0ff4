"""The auditors' pages: the year's figures agree with ``credits show``, a member's records go down to each
scan, the audit log filters, pages and shows a tampered chain, exports are audited; other roles stay out.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.auditing import views
from cme_tracker.db import Database
from cme_tracker.documents.models import Certificate
from cme_tracker.exports.store import EXPORT_TRANSCRIPTS, EXPORTS_FOLDER, sweep_exports
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.service import JobKind, run_queued_jobs
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role
from tests.conftest import CommandLine
from tests.factories import TOKYO, attend, make_lecture, make_member, make_symposium, tokyo
from tests.integration.web_login import csrf_token, log_in, make_login

ENGLISH = {"Accept-Language": "en"}
FIELDS = ("clinical", "basic_medicine", "pharmaceuticals", "dentistry", "discourse")


@dataclass(frozen=True)
class Year:
    """A small 2026: a March symposium (fiscal 2025) and a May one, three members of three professions."""

    march: Symposium
    may: Symposium
    physician: Member
    dentist: Member
    other: Member
    checked_in: Attendance
    voided: Attendance


def _scan(
    session: Session, member: Member, lecture: Lecture, direction: str, at: datetime, **values: object
) -> Scan:
    scan = Scan(
        member_id=member.id,
        symposium_id=lecture.symposium_id,
        lecture_id=lecture.id,
        direction=direction,
        scanned_at=at,
        received_at=at + timedelta(seconds=2),
        method="qr",
        **values,
    )
    session.add(scan)
    session.flush()
    return scan


@pytest.fixture
def year(session: Session) -> Year:
    march = make_symposium(session, "2026-03", date(2026, 3, 14), title_en="March Symposium")
    march_clinical = make_lecture(session, march, "10:00", "11:00", "clinical", jma_cc="43", title_en="Heart")
    march_basic = make_lecture(session, march, "11:15", "12:45", "basic_medicine", title_en="Cells")
    may = make_symposium(session, "2026-05", date(2026, 5, 16), title_en="May Symposium")
    may_dental = make_lecture(session, may, "10:00", "11:00", "dentistry", title_en="Teeth")
    may_discourse = make_lecture(session, may, "13:00", "14:30", "discourse", title_en="Kant")
    physician = make_member(
        session,
        family_name="佐藤",
        family_name_kana="サトウ",
        family_name_romaji="Sato",
        given_name_romaji="Hanako",
    )
    dentist = make_member(
        session,
        profession="dentist",
        medical_registry_no=None,
        dental_registry_no="123456",
        given_name="次郎",
    )
    other = make_member(session, profession="other", medical_registry_no=None, family_name_romaji="Mueller")

    checked_in = attend(
        session, physician, march_clinical, "10:10", "11:00", desk="Hall A", recorded_by="desk:kato"
    )
    _scan(
        session, physician, march_clinical, "in", tokyo(march.held_on, "10:10"),
        desk="Hall A", operator="desk:kato", outcome="checked_in", attendance_id=checked_in.id, nonce="n1",
    )  # fmt: skip
    _scan(
        session, physician, march_clinical, "in", tokyo(march.held_on, "10:11"),
        desk="Hall A", operator="desk:kato", outcome="already_checked_in", attendance_id=checked_in.id,
        nonce="n2",
    )  # fmt: skip
    _scan(
        session, physician, march_clinical, "out", tokyo(march.held_on, "11:00"),
        desk="Exit B", operator="desk:ito", outcome="checked_out", attendance_id=checked_in.id, nonce="n3",
    )  # fmt: skip
    voided = attend(
        session,
        physician,
        march_basic,
        "11:15",
        "12:45",
        voided_at=tokyo(march.held_on, "11:20"),
        voided_by="admin:suzuki",
        void_reason="scanned at the wrong door",
    )
    attend(session, physician, may_dental, "10:00", "10:20")  # 20 minutes: checked in, no credit
    attend(session, dentist, may, "09:50", "14:30")  # the whole day: both lectures
    attend(session, other, may_discourse, "13:00")  # no check-out: until the lecture ends
    session.commit()
    return Year(march, may, physician, dentist, other, checked_in, voided)


@pytest.fixture
def app(app: Flask, db: Database) -> Flask:
    """The app, with a worker that runs the queued jobs at once, in the test's transaction."""
    app.config["JOB_LAUNCHER"] = lambda settings: run_queued_jobs(db, settings, JOB_KINDS)
    return app


@pytest.fixture
def auditor(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "auditor", Role.AUDITOR)
    log_in(client, "auditor")
    return client


def _figure(page: str, key: str) -> str:
    match = re.search(rf'data-key="{re.escape(key)}">([^<]+)<', page)
    assert match is not None, f"the page shows no figure {key}"
    return match.group(1).strip()


def _credits_show(cli: CommandLine, member: Member, year: int) -> dict[str, Any]:
    """The ``policies`` of ``credits show --json``."""
    result = cli("credits", "show", member.member_no, "--year", str(year), "--json")
    assert result.exit_code == 0, result.output
    policies: dict[str, Any] = json.loads(result.output)["policies"]
    return policies


def test_year_totals_by_field_are_the_sums_of_credits_show_for_every_member(
    auditor: FlaskClient, year: Year, cli: CommandLine
) -> None:
    response = auditor.get("/audit/years/2026", headers=ENGLISH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    expected: dict[str, Decimal] = {}
    for member in (year.physician, year.dentist, year.other):
        for code, policy in _credits_show(cli, member, 2026).items():
            expected[f"{code}:total"] = expected.get(f"{code}:total", Decimal(0)) + Decimal(policy["total"])
            for field, amount in policy["by_field"].items():
                expected[f"{code}:{field}"] = expected.get(f"{code}:{field}", Decimal(0)) + Decimal(amount)
    assert expected["imsj:total"] == Decimal("4.5")  # 0.5 + 1 + 1.5 + 1.5
    for key, amount in expected.items():
        assert Decimal(_figure(page, key)) == amount, key


def test_year_shows_totals_by_profession_and_symposium_and_who_attended(
    auditor: FlaskClient, year: Year
) -> None:
    page = auditor.get("/audit/years/2026", headers=ENGLISH).get_data(as_text=True)
    assert _figure(page, "imsj:physician") == "0.5"
    assert _figure(page, "imsj:dentist") == "2.5"
    assert _figure(page, "imsj:other") == "1.5"
    assert _figure(page, "imsj:2026-03") == "0.5"
    assert _figure(page, "imsj:2026-05") == "4"
    assert _figure(page, "jda:dentistry") == "2"
    assert re.search(r'stat-value">3</span><span class="stat-label">Members who attended', page)
    assert re.search(r'stat-value">1</span><span class="stat-label">of them voided', page)


def test_attendance_per_lecture_counts_whole_day_check_ins_and_leaves_out_voided_ones(
    auditor: FlaskClient, year: Year
) -> None:
    page = auditor.get("/audit/years/2026", headers=ENGLISH).get_data(as_text=True)
    assert (_figure(page, "checked_in:2026-03-L1"), _figure(page, "credited:2026-03-L1")) == ("1", "1")
    assert (_figure(page, "checked_in:2026-03-L2"), _figure(page, "credited:2026-03-L2")) == ("0", "0")
    assert (_figure(page, "checked_in:2026-05-L1"), _figure(page, "credited:2026-05-L1")) == ("2", "1")
    assert (_figure(page, "checked_in:2026-05-L2"), _figure(page, "credited:2026-05-L2")) == ("2", "2")


def test_attendance_chart_is_an_inline_svg_with_a_title_a_description_and_two_bars_per_lecture(
    auditor: FlaskClient, year: Year
) -> None:
    page = auditor.get("/audit/years/2026", headers=ENGLISH).get_data(as_text=True)
    svg = page.split('<svg class="bar-chart"', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-title chart-desc"' in svg
    assert '<title id="chart-title">Attendance per lecture' in svg
    assert '<desc id="chart-desc">' in svg
    assert svg.count("<rect") == 2 * 4 + 2  # two bars per lecture, two legend keys
    assert "2026-05-L1 Teeth: checked in 2, with credits 1" in svg
    assert "<script" not in page


def test_fiscal_year_starts_on_the_first_of_april(auditor: FlaskClient, year: Year) -> None:
    fiscal_2025 = auditor.get("/audit/years/2025?basis=fiscal", headers=ENGLISH).get_data(as_text=True)
    assert _figure(fiscal_2025, "imsj:total") == "0.5"
    assert "2026-05" not in fiscal_2025
    fiscal_2026 = auditor.get("/audit/years/2026?basis=fiscal", headers=ENGLISH).get_data(as_text=True)
    assert _figure(fiscal_2026, "imsj:total") == "4"


def test_audit_start_page_and_year_picker_lead_to_a_year(auditor: FlaskClient, year: Year) -> None:
    assert (
        auditor.get("/audit/?year=2025&basis=fiscal").headers["Location"] == "/audit/years/2025?basis=fiscal"
    )
    assert re.fullmatch(r"/audit/years/\d{4}", auditor.get("/audit/").headers["Location"])
    assert auditor.get("/audit/years/2026?basis=weekly").status_code == 400
    assert auditor.get("/audit/years/1800").status_code == 400


def test_year_page_offers_every_export_for_the_chosen_basis(auditor: FlaskClient, year: Year) -> None:
    page = auditor.get("/audit/years/2025?basis=fiscal", headers=ENGLISH).get_data(as_text=True)
    form = page[page.index('action="/audit/exports"') :]
    form = form[: form.index("</form>")]
    assert 'name="csrf_token"' in form
    assert '<input type="hidden" name="year" value="2025">' in form
    assert '<input type="hidden" name="basis" value="fiscal">' in form
    for export_format in ("csv", "xlsx", "json", "zip"):
        assert f'name="format" value="{export_format}"' in form


def _request_export(
    client: FlaskClient, export_format: str, year: int = 2026, basis: str = "calendar"
) -> str:
    """Ask for an export from the year page; the path of its page."""
    response = client.post(
        "/audit/exports",
        data={
            "csrf_token": csrf_token(client, "/"),
            "year": str(year),
            "basis": basis,
            "format": export_format,
        },
        headers=ENGLISH,
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    location: str = response.headers["Location"]
    return location


def test_a_csv_export_is_prepared_then_downloaded_and_both_are_recorded_with_the_auditor_as_actor(
    auditor: FlaskClient, year: Year, session: Session
) -> None:
    page_path = _request_export(auditor, "csv")
    page = auditor.get(page_path, headers=ENGLISH).get_data(as_text=True)
    assert "imsj-credits-2026-calendar.csv" in page
    assert "Finished" in page
    progress = auditor.get(f"{page_path}.json").get_json()
    assert (progress["status"], progress["finished"]) == ("succeeded", True)
    download = re.search(r'href="(/audit/exports/\d+/file)"', page)
    assert download is not None
    with auditor.get(download.group(1)) as response:
        assert response.status_code == 200
        assert (
            response.headers["Content-Disposition"] == "attachment; filename=imsj-credits-2026-calendar.csv"
        )
        assert response.headers["Cache-Control"] == "private, no-store"
        body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert year.physician.member_no.encode() in body
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(4)).all()
    exported = next(event for event in events if event.action == "export.transcripts")
    downloaded = next(event for event in events if event.action == "export.download")
    assert exported.actor == downloaded.actor == "user:auditor"
    assert exported.details["format"] == "csv"
    assert hashlib.sha256(body).hexdigest() == exported.details["sha256"]
    overview = auditor.get("/audit/years/2026", headers=ENGLISH).get_data(as_text=True)
    assert f'href="{download.group(1)}"' in overview  # the year page lists the auditor's exports


def test_an_auditors_zip_bundles_what_is_issued_and_issues_nothing(
    auditor: FlaskClient, year: Year, session: Session
) -> None:
    page_path = _request_export(auditor, "zip")
    with auditor.get(f"{page_path}/file") as response:
        assert response.status_code == 200
        names = [name.rsplit("/", 1)[-1] for name in zipfile.ZipFile(BytesIO(response.get_data())).namelist()]
    assert {"SHA256SUMS", "SHA256SUMS.p7s", "detail.csv"} <= set(names)
    assert not any(name.endswith(".pdf") for name in names)
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_an_export_is_its_requesters_and_the_administrators(
    auditor: FlaskClient, year: Year, session: Session, app: Flask
) -> None:
    page_path = _request_export(auditor, "json")
    make_login(session, "second-auditor", Role.AUDITOR)
    make_login(session, "chief", Role.ADMIN)
    for login, status in (("second-auditor", 404), ("chief", 200)):
        other = app.test_client()
        log_in(other, login)
        for path in (page_path, f"{page_path}.json", f"{page_path}/file"):
            with other.get(path) as response:
                assert response.status_code == status, (login, path)


def test_an_export_not_written_yet_or_swept_away_is_not_offered(
    auditor: FlaskClient, year: Year, app: Flask, db: Database, tmp_path: Path
) -> None:
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    page_path = _request_export(auditor, "csv")
    page = auditor.get(page_path, headers=ENGLISH).get_data(as_text=True)
    assert "Waiting to start" in page
    assert auditor.get(f"{page_path}/file").status_code == 404
    app.config["JOB_LAUNCHER"] = lambda settings: run_queued_jobs(db, settings, JOB_KINDS)
    _request_export(auditor, "xlsx")  # runs the queue, the CSV too
    with auditor.get(f"{page_path}/file") as response:
        assert response.status_code == 200
    week_later = time.time() + 8 * 24 * 3600
    assert sweep_exports(tmp_path / "instance", now=week_later) == 2
    assert auditor.get(f"{page_path}/file").status_code == 404


def test_unknown_export_format_or_year_is_refused(auditor: FlaskClient, year: Year) -> None:
    token = csrf_token(auditor, "/")
    for data in (
        {"year": "2026", "basis": "calendar", "format": "pdf"},
        {"year": "1800", "basis": "calendar", "format": "csv"},
        {"year": "2026", "basis": "lunar", "format": "csv"},
    ):
        assert auditor.post("/audit/exports", data={"csrf_token": token, **data}).status_code == 400, data
    assert (
        auditor.post("/audit/exports", data={"year": "2026", "format": "csv"}).status_code == 400
    )  # no CSRF


def test_member_search_finds_by_number_and_by_name_in_any_script(auditor: FlaskClient, year: Year) -> None:
    by_number = auditor.get(f"/audit/members?q={year.dentist.member_no}").get_data(as_text=True)
    assert f'href="/audit/members/{year.dentist.member_no}"' in by_number
    by_name = auditor.get("/audit/members?q=さとう").get_data(as_text=True)
    assert f'href="/audit/members/{year.physician.member_no}"' in by_name
    assert f'href="/audit/members/{year.dentist.member_no}"' not in by_name


def test_member_page_shows_the_credits_of_credits_show(
    auditor: FlaskClient, year: Year, cli: CommandLine
) -> None:
    page = auditor.get(f"/audit/members/{year.dentist.member_no}?year=2026", headers=ENGLISH).get_data(
        as_text=True
    )
    shown = _credits_show(cli, year.dentist, 2026)
    assert set(shown) == {"imsj", "jda"}
    for code, policy in shown.items():
        assert _figure(page, f"{code}:total").split()[0] == policy["total"]
        for field in FIELDS:
            assert _figure(page, f"{code}:{field}") == policy["by_field"][field]


def test_member_page_lists_each_check_in_and_check_out_with_desk_operator_and_every_scan(
    auditor: FlaskClient, year: Year
) -> None:
    page = auditor.get(f"/audit/members/{year.physician.member_no}?year=2026", headers=ENGLISH).get_data(
        as_text=True
    )
    assert "2026-03-14 10:10:00" in page
    assert "2026-03-14 11:00:00" in page
    assert "desk Hall A · desk:kato" in page
    assert "desk Exit B · desk:ito" in page
    assert "Voided" in page
    assert "admin:suzuki" in page
    assert "scanned at the wrong door" in page
    assert page.count("outcome-") == 3
    assert "Already checked in" in page
    assert "2026-03-14 10:11:02" in page  # the repeat scan's arrival


def test_member_page_of_an_unknown_number_is_not_found(auditor: FlaskClient, year: Year) -> None:
    assert auditor.get("/audit/members/NOPE").status_code == 404


def _events(session: Session) -> list[AuditEvent]:
    base = datetime(2026, 6, 1, 9, 0, tzinfo=TOKYO)
    written = []
    for number, (actor, action, target) in enumerate(
        [
            ("user:admin", "member.update", "member:T1"),
            ("user:admin", "certificate.revoke", "certificate:C1"),
            ("desk:kato", "attendance.in", "attendance:1"),
            ("desk:kato", "attendance.out", "attendance:1"),
            ("cli", "members.import", None),
        ]
    ):
        event = chain.record(
            session, actor=actor, action=action, target=target, details={"n": number, "名前": "佐藤"}
        )
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.sequence == event.sequence)
            .values(occurred_at=base + timedelta(days=number))
        )
        written.append(event)
    session.commit()
    return written


def _sequences(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="event-(\d+)"', page)]


def test_log_filters_by_actor_action_prefix_target_and_dates(auditor: FlaskClient, session: Session) -> None:
    events = _events(session)  # written with dates 1 to 5 June; re-dating them breaks the chain on purpose
    numbers = [event.sequence for event in events]
    assert _sequences(auditor.get("/audit/log?actor=desk:kato").get_data(as_text=True)) == numbers[3:1:-1]
    assert _sequences(auditor.get("/audit/log?action=attendance.").get_data(as_text=True)) == numbers[3:1:-1]
    assert _sequences(auditor.get("/audit/log?target=certificate:").get_data(as_text=True)) == [numbers[1]]
    dated = auditor.get("/audit/log?since=2026-06-02&until=2026-06-03").get_data(as_text=True)
    assert _sequences(dated) == [numbers[2], numbers[1]]
    assert auditor.get("/audit/log?since=June").status_code == 400


def test_log_pages_newest_first_by_sequence(
    auditor: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [event.sequence for event in _events(session)]
    monkeypatch.setattr(views, "LOG_PAGE_SIZE", 2)
    first = auditor.get("/audit/log?actor=user:admin&action=").get_data(as_text=True)
    assert _sequences(first) == [numbers[1], numbers[0]]
    everyone = auditor.get("/audit/log").get_data(as_text=True)
    assert _sequences(everyone) == [numbers[4], numbers[3]]
    older = re.search(r'href="(/audit/log\?before=\d+)" rel="next"', everyone)
    assert older is not None
    second = auditor.get(older.group(1)).get_data(as_text=True)
    assert _sequences(second) == [numbers[2], numbers[1]]
    newer = re.search(r'href="(/audit/log\?after=\d+)" rel="prev"', second)
    assert newer is not None
    assert _sequences(auditor.get(newer.group(1)).get_data(as_text=True)) == [numbers[4], numbers[3]]


def test_log_shows_details_as_readable_json_and_an_intact_chain(
    auditor: FlaskClient, session: Session
) -> None:
    event = chain.record(
        session, actor="user:admin", action="member.update", details={"名前": "佐藤", "n": 1}
    )
    session.commit()
    page = auditor.get("/audit/log", headers=ENGLISH).get_data(as_text=True)
    assert f'<tr id="event-{event.sequence}">' in page
    assert "{\n  &#34;n&#34;: 1,\n  &#34;名前&#34;: &#34;佐藤&#34;\n}" in page
    assert "The chain is intact." in page


def test_a_tampered_event_shows_as_the_first_broken_one(auditor: FlaskClient, session: Session) -> None:
    sequences = [
        chain.record(session, actor="user:admin", action="member.update", details={"n": n}).sequence
        for n in range(3)
    ]
    session.commit()
    session.execute(update(AuditEvent).where(AuditEvent.sequence == sequences[1]).values(details={"n": 99}))
    session.commit()
    page = auditor.get("/audit/log", headers=ENGLISH).get_data(as_text=True)
    assert f"The chain is broken at event {sequences[1]}." in page
    assert f'<tr id="event-{sequences[1]}" class="broken-row">' in page
    assert f'<tr id="event-{sequences[0]}">' in page


def test_a_long_log_is_verified_only_when_asked(
    auditor: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.record(session, actor="user:admin", action="member.update")
    session.commit()
    monkeypatch.setattr(views, "VERIFY_INLINE_LIMIT", 0)
    page = auditor.get("/audit/log?actor=user:admin", headers=ENGLISH).get_data(as_text=True)
    assert "The chain has not been verified on this visit." in page
    assert 'href="/audit/log?verify=1&amp;actor=user:admin"' in page
    assert "The chain is intact." in auditor.get("/audit/log?verify=1", headers=ENGLISH).get_data(
        as_text=True
    )


AUDIT_PAGES = ("/audit/", "/audit/years/2026", "/audit/members", "/audit/members/T000001", "/audit/log")


@pytest.mark.parametrize("role", [Role.DESK, Role.MEMBER])
def test_desk_staff_and_members_may_not_open_the_audit_pages(
    client: FlaskClient, session: Session, role: Role
) -> None:
    member = make_member(session) if role is Role.MEMBER else None
    make_login(session, "someone", role, member=member)
    log_in(client, "someone")
    for path in (*AUDIT_PAGES, "/audit/exports/1", "/audit/exports/1/file", "/audit/auditing.css"):
        assert client.get(path).status_code == 403, path
    assert client.post("/audit/exports", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    assert "/audit/" not in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login_page(client: FlaskClient) -> None:
    for path in (*AUDIT_PAGES, "/audit/exports/1/file"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_auditors_and_administrators_find_the_audit_pages_in_the_menu(
    client: FlaskClient, session: Session, year: Year
) -> None:
    make_login(session, "chief", Role.ADMIN)
    log_in(client, "chief")
    home = client.get("/", follow_redirects=True, headers=ENGLISH).get_data(as_text=True)
    assert '<a href="/audit/">Audit</a>' in home
    for path in (*AUDIT_PAGES[:-2], f"/audit/members/{year.physician.member_no}", "/audit/log"):
        assert client.get(path).status_code in (200, 302), path
    with client.get("/audit/auditing.css") as stylesheet:
        assert stylesheet.mimetype == "text/css"


def _crashing_export(*_arguments: Any) -> tuple[str, list[dict[str, Any]]]:
    raise RuntimeError("cannot read /srv/cme/instance/exports/secret.csv")


def test_a_crashed_export_shows_the_auditor_a_reason_never_a_traceback_or_a_server_path(
    auditor: FlaskClient, year: Year, app: Flask, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kinds = {**JOB_KINDS, EXPORT_TRANSCRIPTS: JobKind(run=_crashing_export)}
    app.config["JOB_LAUNCHER"] = lambda settings: run_queued_jobs(db, settings, kinds)

    page_path = _request_export(auditor, "csv")

    progress = auditor.get(f"{page_path}.json", headers=ENGLISH).get_json()
    page = auditor.get(page_path, headers=ENGLISH).get_data(as_text=True)
    japanese = auditor.get(f"{page_path}.json", headers={"Accept-Language": "ja"}).get_json()
    assert progress["status"] == "failed"
    assert progress["errors"] == [{"error": "crash", "message": progress["summary"]}]
    assert progress["summary"].startswith("The job stopped because of an unexpected error on the server.")
    assert "予期しないエラー" in japanese["summary"]
    for shown in (json.dumps(progress), json.dumps(japanese, ensure_ascii=False), page):
        assert "Traceback" not in shown and 'File "' not in shown
        assert "/srv/cme" not in shown and "RuntimeError" not in shown
    assert any(record.exc_info and "/srv/cme" in str(record.exc_info[1]) for record in caplog.records)


def test_an_export_whose_file_cannot_be_written_fails_with_the_reason_in_words(
    auditor: FlaskClient, year: Year, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / EXPORTS_FOLDER).write_text("a file where the exports folder belongs")

    page_path = _request_export(auditor, "csv")

    progress = auditor.get(f"{page_path}.json", headers=ENGLISH).get_json()
    assert progress["status"] == "failed"
    assert progress["errors"][0]["error"] == "storage_failed"
    assert progress["summary"].startswith("The server could not write a file: a file is where a folder")
    assert str(tmp_path) not in json.dumps(progress)
    assert str(tmp_path) not in auditor.get(page_path, headers=ENGLISH).get_data(as_text=True)
