"""The row schemas of the three import files, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from cme_tracker.attendance import importer as attendance_importer
from cme_tracker.attendance.schemas import AttendanceSchema
from cme_tracker.members import importer as members_importer
from cme_tracker.members.schemas import MemberSchema
from cme_tracker.program import importer as program_importer
from cme_tracker.program.schemas import ProgramRowSchema

MEMBER = {
    "member_no": "001001",
    "profession": "physician",
    "family_name": "髙橋",
    "given_name": "一郎",
    "family_name_kana": "ﾀｶﾊｼ",
    "given_name_kana": "いちろう",
    "family_name_romaji": "Takahashi",
    "given_name_romaji": "Ichiro",
    "email": "takahashi@example.jp",
    "country": "JP",
    "medical_registry_no": "012345",
}
LECTURE = {
    "symposium_code": "2026-05",
    "symposium_date": "2026-05-16",
    "symposium_title_ja": "第607回 学術講演会",
    "symposium_title_en": "CME Symposium",
    "lecture_code": "2026-05-L1",
    "starts_at": "10:00",
    "ends_at": "11:00",
    "field": "clinical",
    "title_ja": "講演",
    "speaker": "佐藤 一郎",
}
ATTENDANCE = {"member_no": "001001", "lecture_code": "2026-05-L1", "check_in_at": "2026-05-16T09:55"}


def errors(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    assert isinstance(caught.value.messages, dict)
    return caught.value.messages


@pytest.mark.parametrize(
    ("layout", "schema"),
    [
        (members_importer.LAYOUT, MemberSchema),
        (program_importer.LAYOUT, ProgramRowSchema),
        (attendance_importer.LAYOUT, AttendanceSchema),
    ],
)
def test_every_column_of_a_file_is_a_field_of_its_schema(layout: Any, schema: type[Schema]) -> None:
    assert set(layout.columns) == set(schema().fields)


def test_a_valid_member_loads_with_identifiers_as_text_and_kana_as_typed() -> None:
    member = MemberSchema().load(MEMBER)
    assert member["member_no"] == "001001"
    assert member["medical_registry_no"] == "012345"
    assert member["family_name_kana"] == "ﾀｶﾊｼ"


def test_full_width_digits_and_letters_in_identifiers_become_ascii() -> None:
    member = MemberSchema().load(
        MEMBER | {"member_no": "００１００１", "country": "ｊｐ", "profession": "Physician"}
    )
    assert (member["member_no"], member["country"], member["profession"]) == ("001001", "JP", "physician")


def test_an_empty_cell_is_a_missing_value() -> None:
    assert errors(MemberSchema(), MEMBER | {"family_name": "  ", "email": ""}) == {
        "family_name": ["required (the cell is empty)"]
    }


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("profession", "doctor", "'doctor' is not one of physician, dentist, other"),
        ("email", "takahashi@", "not a valid email address"),
        (
            "email",
            "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".jp",
            "longer than 254 characters",
        ),
        ("country", "XX", "XX is not an ISO 3166 country code (e.g. JP, DE)"),
        ("country", "JPN", "not an ISO 3166 country code (two letters, e.g. JP, DE)"),
        ("family_name_kana", "高橋", "not kana: '高' is neither hiragana nor katakana"),
        ("family_name_romaji", "たかはし", "not in Latin letters: 'た'"),
        ("medical_registry_no", "123456789", "a registry number has at most 8 digits"),
        ("efn", "276123456789013", "the EFN's check digit is wrong (a digit is mistyped or two are swapped)"),
        ("given_name", "一\n郎", "must fit on one line"),
        ("family_name", "x" * 101, "longer than 100 characters"),
        ("member_no", "00 1001", "a member number has letters, digits, '.', '_' and '-' only"),
    ],
)
def test_an_invalid_member_value_is_reported_on_its_column(column: str, value: str, message: str) -> None:
    assert errors(MemberSchema(), MEMBER | {column: value}) == {column: [message]}


def test_a_german_name_in_latin_letters_with_umlauts_is_romaji_enough() -> None:
    member = MemberSchema().load(
        MEMBER | {"family_name_romaji": "Müller-Lüdenscheidt", "given_name_romaji": "Ａnna"}
    )
    assert (member["family_name_romaji"], member["given_name_romaji"]) == ("Müller-Lüdenscheidt", "Anna")


@pytest.mark.parametrize(
    ("profession", "column", "message"),
    [
        ("dentist", "medical_registry_no", "only physicians have a medical registry number (医籍)"),
        ("other", "medical_registry_no", "only physicians have a medical registry number (医籍)"),
        ("physician", "dental_registry_no", "only dentists have a dental registry number (歯科医籍)"),
    ],
)
def test_a_registry_number_belongs_to_its_profession_only(profession: str, column: str, message: str) -> None:
    row = {key: value for key, value in MEMBER.items() if key != "medical_registry_no"}
    assert errors(MemberSchema(), row | {"profession": profession, column: "1234"}) == {column: [message]}


def test_an_efn_is_allowed_for_every_profession() -> None:
    assert MemberSchema().load(MEMBER | {"profession": "physician", "efn": "276123456789012"})["efn"]


def test_a_lecture_row_loads_with_times_dates_and_codes() -> None:
    row = ProgramRowSchema().load(LECTURE | {"excluded": "10:30-10:40; 10:50-10:55;", "jma_cc": "08"})
    assert row["symposium_date"] == date(2026, 5, 16)
    assert (row["starts_at"], row["ends_at"]) == (time(10), time(11))
    assert row["excluded"] == [(time(10, 30), time(10, 40)), (time(10, 50), time(10, 55))]
    assert row["jma_cc"] == "8"


def test_dates_and_times_as_excel_in_japan_writes_them_are_read() -> None:
    row = ProgramRowSchema().load(
        LECTURE | {"symposium_date": "2026/5/16", "starts_at": "9:30", "ends_at": "10:30:00"}
    )
    assert (row["symposium_date"], row["starts_at"], row["ends_at"]) == (
        date(2026, 5, 16),
        time(9, 30),
        time(10, 30),
    )


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"starts_at": "10:60"}, "starts_at", "not a time of day (HH:MM)"),
        ({"starts_at": "10am"}, "starts_at", "not a time of day (HH:MM)"),
        ({"ends_at": "09:00"}, "ends_at", "the lecture must end after it starts"),
        ({"symposium_date": "2026-02-30"}, "symposium_date", "not a date (YYYY-MM-DD)"),
        (
            {"field": "surgery"},
            "field",
            "'surgery' is not one of clinical, basic_medicine, pharmaceuticals, dentistry, discourse",
        ),
        ({"jma_cc": "85"}, "jma_cc", "a JMA curriculum code is a number from 1 to 84"),
        ({"jma_cc": "0"}, "jma_cc", "a JMA curriculum code is a number from 1 to 84"),
        (
            {"timezone": "Tokyo"},
            "timezone",
            "'Tokyo' is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin)",
        ),
        (
            {"lecture_code": "2026-07-L1"},
            "lecture_code",
            "a lecture of symposium 2026-05 has a code starting 2026-05-",
        ),
        (
            {"excluded": "10:30-10:40,10:50-10:55"},
            "excluded",
            "'10:30-10:40,10:50-10:55' is not HH:MM-HH:MM (intervals are separated by ';')",
        ),
        ({"excluded": "10:40-10:30"}, "excluded", "'10:40-10:30' ends before it starts"),
        ({"excluded": "10:30-10:40;10:35-10:45"}, "excluded", "'10:35-10:45' overlaps '10:30-10:40'"),
        ({"excluded": "10:50-11:10"}, "excluded", "10:50-11:10 is outside the lecture (10:00-11:00)"),
    ],
)
def test_an_invalid_lecture_value_is_reported_on_its_column(
    changes: dict[str, str], column: str, message: str
) -> None:
    assert errors(ProgramRowSchema(), LECTURE | changes) == {column: [message]}


def test_a_symposium_code_may_carry_labels_after_its_year() -> None:
    row = ProgramRowSchema().load(LECTURE | {"symposium_code": "2026-10-TA", "lecture_code": "2026-10-TA-L1"})
    assert row["lecture_code"] == "2026-10-TA-L1"


def test_a_check_in_without_offset_stays_naive_for_the_symposium_zone() -> None:
    row = AttendanceSchema().load(ATTENDANCE | {"check_out_at": "2026-05-16 11:00"})
    assert row["check_in_at"] == datetime(2026, 5, 16, 9, 55)
    assert row["check_out_at"] == datetime(2026, 5, 16, 11, 0)


def test_a_check_in_with_an_offset_or_z_keeps_it() -> None:
    row = AttendanceSchema().load(
        ATTENDANCE | {"check_in_at": "2026-05-16T09:55+09:00", "check_out_at": "2026-05-16T02:00Z"}
    )
    assert row["check_in_at"] == datetime(2026, 5, 16, 9, 55, tzinfo=timezone(timedelta(hours=9)))
    assert row["check_out_at"] == datetime(2026, 5, 16, 2, 0, tzinfo=UTC)


def test_a_check_in_as_excel_rewrites_iso_times_is_read() -> None:
    assert AttendanceSchema().load(ATTENDANCE | {"check_in_at": "2026/5/16 9:55"})["check_in_at"] == datetime(
        2026, 5, 16, 9, 55
    )


@pytest.mark.parametrize("value", ["2026-05-16", "16.05.2026 09:55", "2026-05-16T25:00", "0001-01-01T00:00"])
def test_a_check_in_that_is_not_an_iso_date_and_time_is_refused(value: str) -> None:
    assert list(errors(AttendanceSchema(), ATTENDANCE | {"check_in_at": value})) == ["check_in_at"]


def test_an_attendance_names_a_lecture_or_a_whole_symposium_not_both() -> None:
    assert errors(AttendanceSchema(), ATTENDANCE | {"symposium_code": "2026-05"}) == {
        "symposium_code": ["fill lecture_code (one lecture) or symposium_code (the whole day), not both"]
    }
    assert errors(AttendanceSchema(), {"member_no": "001001", "check_in_at": "2026-05-16T09:55"}) == {
        "lecture_code": ["required: lecture_code (one lecture) or symposium_code (the whole day)"]
    }


def test_an_invalid_lecture_code_is_not_also_reported_as_missing() -> None:
    assert errors(AttendanceSchema(), ATTENDANCE | {"lecture_code": "L1"}) == {
        "lecture_code": ["a lecture code is its symposium's code, '-' and a label, e.g. 2026-11-L3"]
    }


def test_an_unknown_method_is_refused() -> None:
    assert errors(AttendanceSchema(), ATTENDANCE | {"method": "telepathy"}) == {
        "method": ["'telepathy' is not one of import, qr, search, manual, offline"]
    }
