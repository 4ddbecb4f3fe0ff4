"""``cme-tracker credits show``: the worked examples of docs/credits.md end to end, years, voiding, errors."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from cme_tracker.db import utcnow
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from tests.conftest import CommandLine
from tests.factories import attend, make_lecture, make_member, make_symposium

ZERO_FIELDS = {
    "clinical": "0",
    "basic_medicine": "0",
    "pharmaceuticals": "0",
    "dentistry": "0",
    "discourse": "0",
}


def show_json(cli: CommandLine, member: Member, *options: str) -> dict[str, Any]:
    result = cli("credits", "show", member.member_no, *options, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def worked_examples(session: Session, member: Member) -> Symposium:
    """The three imsj examples of docs/credits.md at one symposium, two of them with a JMA curriculum code."""
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    late = make_lecture(session, symposium, "10:00", "11:00", "clinical", jma_cc="43")
    full = make_lecture(session, symposium, "13:00", "14:30", "pharmaceuticals", jma_cc="8")
    with_break = make_lecture(
        session, symposium, "15:00", "16:00", "basic_medicine", excluded=[("15:30", "15:40")]
    )
    attend(session, member, late, "10:10", "11:00")
    attend(session, member, full, "13:00", "14:30")
    attend(session, member, with_break, "15:00", "16:00")
    return symposium


def test_credits_show_json_gives_the_worked_examples_for_a_physician(
    cli: CommandLine, session: Session
) -> None:
    member = make_member(session, member_no="004711", profession="physician", medical_registry_no="512345")
    worked_examples(session, member)
    session.commit()
    assert show_json(cli, member, "--year", "2026") == {
        "member_no": "004711",
        "year": 2026,
        "year_basis": "calendar",
        "policies": {
            "imsj": {
                "version": "2026.1",
                "total": "2.5",
                "by_field": ZERO_FIELDS
                | {"clinical": "0.5", "pharmaceuticals": "1.5", "basic_medicine": "0.5"},
            },
            "jma": {
                "version": "2026.1",
                "total": "2",
                "by_field": ZERO_FIELDS | {"clinical": "0.5", "pharmaceuticals": "1.5"},
                "codes": ["43", "8"],
            },
        },
    }


def test_whole_day_attendance_overlapping_lecture_scans_counts_each_minute_once(
    cli: CommandLine, session: Session
) -> None:
    member = make_member(session, profession="other", medical_registry_no=None)
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(session, member, symposium, "09:30", "10:45")
    attend(session, member, lecture, "10:15")
    session.commit()
    assert show_json(cli, member, "--year", "2026")["policies"]["imsj"]["total"] == "1"


def test_dentist_without_a_registry_number_gets_only_the_society_credits(
    cli: CommandLine, session: Session
) -> None:
    dentist = make_member(session, profession="dentist", medical_registry_no=None, dental_registry_no=None)
    registered = make_member(
        session, profession="dentist", medical_registry_no=None, dental_registry_no="D123"
    )
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "10:50", "dentistry", jda_code="2301")
    attend(session, dentist, lecture, "10:00", "10:50")
    attend(session, registered, lecture, "10:00", "10:50")
    session.commit()
    assert list(show_json(cli, dentist, "--year", "2026")["policies"]) == ["imsj"]
    jda = show_json(cli, registered, "--year", "2026")["policies"]["jda"]
    assert jda == {
        "version": "2026.1",
        "total": "2",
        "by_field": ZERO_FIELDS | {"dentistry": "2"},
        "codes": ["2301"],
    }


def test_member_with_an_efn_gets_german_points_capped_at_eight_a_day(
    cli: CommandLine, session: Session
) -> None:
    member = make_member(session, profession="physician", medical_registry_no=None, efn="123456789012347")
    symposium = make_symposium(session)
    for hour in (9, 11, 13, 15, 17):
        make_lecture(session, symposium, f"{hour:02d}:00", f"{hour + 1:02d}:30", "clinical")
    attend(session, member, symposium, "08:55")
    session.commit()
    policies = show_json(cli, member, "--year", "2026")["policies"]
    assert list(policies) == ["imsj", "de-cme"]
    assert policies["de-cme"]["total"] == "8"
    assert policies["imsj"]["total"] == "7.5"


def test_fiscal_year_splits_on_the_first_of_april(cli: CommandLine, session: Session) -> None:
    member = make_member(session, profession="other", medical_registry_no=None)
    march = make_symposium(session, "2026-03", date(2026, 3, 31))
    april = make_symposium(session, "2026-04", date(2026, 4, 1))
    attend(session, member, make_lecture(session, march, "10:00", "11:00"), "10:00", "11:00")
    attend(session, member, make_lecture(session, april, "10:00", "12:00"), "10:00", "12:00")
    session.commit()

    def total(year: str, basis: str) -> str:
        document = show_json(cli, member, "--year", year, "--year-basis", basis)
        assert document["year_basis"] == basis
        return str(document["policies"]["imsj"]["total"])

    assert total("2026", "calendar") == "3"
    assert total("2025", "fiscal") == "1"
    assert total("2026", "fiscal") == "2"
    assert total("2025", "calendar") == "0"


def test_voided_attendances_are_ignored(cli: CommandLine, session: Session) -> None:
    member = make_member(session, profession="other", medical_registry_no=None)
    symposium = make_symposium(session)
    lecture = make_lecture(session, symposium, "10:00", "11:00")
    attend(
        session,
        member,
        lecture,
        "10:00",
        "11:00",
        voided_at=utcnow(),
        voided_by="admin",
        void_reason="wrong card",
    )
    attend(session, member, lecture, "10:30", "11:00")
    session.commit()
    assert show_json(cli, member, "--year", "2026")["policies"]["imsj"]["total"] == "0.5"


def test_member_without_attendance_gets_zero_in_every_field(cli: CommandLine, session: Session) -> None:
    member = make_member(session, profession="physician", medical_registry_no="500001")
    session.commit()
    policies = show_json(cli, member, "--year", "2026")["policies"]
    assert policies["imsj"] == {"version": "2026.1", "total": "0", "by_field": ZERO_FIELDS}
    assert policies["jma"]["codes"] == []


def test_unknown_member_exits_1_saying_so(cli: CommandLine) -> None:
    result = cli("credits", "show", "NOBODY", "--year", "2026", "--json")
    assert result.exit_code == 1
    assert "no member with number NOBODY" in result.stderr
    assert result.stdout == ""


def test_year_is_required(cli: CommandLine) -> None:
    assert cli("credits", "show", "004711").exit_code == 2


def test_credits_show_prints_a_table_with_totals_and_lectures(cli: CommandLine, session: Session) -> None:
    member = make_member(session, member_no="004712", profession="physician", medical_registry_no="512346")
    worked_examples(session, member)
    session.commit()
    result = cli("credits", "show", "004712", "--year", "2026")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Member 004712, calendar year 2026"
    imsj_row = next(line for line in lines if line.startswith("imsj "))
    assert imsj_row.split()[:4] == ["imsj", "2026.1", "2.5", "credits"]
    late_row = next(line for line in lines if "2026-05-L1" in line)
    assert late_row.split()[:6] == ["2026-05-16", "2026-05-L1", "clinical", "50", "0.5", "0.5"]
    assert "[43]" in late_row
