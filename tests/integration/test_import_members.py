"""`cme-tracker import members`: all or nothing, idempotent, audited, searchable."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.members.services import search_members
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from tests.factories import make_member

DATA = Path(__file__).parent.parent / "data"
MODELS = (Member, Symposium, Lecture, LectureExclusion, Attendance, AuditEvent)


def rows_of(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((DATA / name).read_text(encoding="utf-8-sig"), newline="")))


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def variant(tmp_path: Path, name: str, kind: str) -> Path:
    """The data file as Excel users hand it in: CSV with or without BOM, columns reordered, or XLSX."""
    rows = rows_of(name)
    stem = name.removesuffix(".csv")
    if kind == "xlsx":
        return write_xlsx(tmp_path / f"{stem}.xlsx", rows)
    if kind == "reordered":
        rows = [list(reversed(row)) for row in rows]
    return write_csv(tmp_path / name, rows, bom=kind != "no-bom")


def counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0 for model in MODELS
    }


def member(session: Session, number: str) -> Member:
    session.expire_all()
    found = session.scalar(select(Member).where(Member.member_no == number))
    assert found is not None
    return found


@pytest.mark.parametrize("kind", ["bom", "no-bom", "reordered", "xlsx"])
def test_a_good_members_file_imports_every_member(
    cli: Any, session: Session, tmp_path: Path, kind: str
) -> None:
    path = variant(tmp_path, "members.csv", kind)
    result = cli("import", "members", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{path}: 5 added, 0 changed, 0 unchanged\n"
    takahashi = member(session, "001001")
    assert (takahashi.family_name, takahashi.given_name, takahashi.family_name_kana) == (
        "髙橋",
        "一郎",
        "タカハシ",
    )
    assert (takahashi.profession, takahashi.medical_registry_no, takahashi.country) == (
        "physician",
        "012345",
        "JP",
    )
    yoshida = member(session, "001002")
    assert (yoshida.family_name, yoshida.family_name_kana, yoshida.former_family_name) == (
        "𠮷田",
        "ﾖｼﾀﾞ",
        "山田",
    )
    assert (yoshida.dental_registry_no, yoshida.medical_registry_no) == ("00098765", None)
    assert yoshida.email == "yoshida.hanako@example.jp"
    assert member(session, "001003").efn == "276123456789012"
    assert member(session, "001004").email is None


def test_importing_the_same_file_twice_changes_nothing_the_second_time(cli: Any, session: Session) -> None:
    path = DATA / "members.csv"
    assert cli("import", "members", str(path)).exit_code == 0
    before = counts(session)
    result = cli("import", "members", str(path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: 0 added, 0 changed, 5 unchanged\n"
    assert counts(session) == before


def test_reimporting_with_edits_updates_only_the_edited_members(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    assert cli("import", "members", str(DATA / "members.csv")).exit_code == 0
    rows = rows_of("members.csv")
    header = rows[0]
    rows[1][header.index("email")] = "ichiro@example.org"
    rows[3][header.index("efn")] = ""
    rows.append(["001006", "dentist", "林", "直子", "", "", "Hayashi", "Naoko", "", "", "JP", "", "123", ""])
    events_before = counts(session)["audit_events"]
    result = cli("import", "members", str(write_csv(tmp_path / "members.csv", rows)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(": 1 added, 2 changed, 3 unchanged\n")
    assert member(session, "001001").email == "ichiro@example.org"
    assert member(session, "001003").efn is None
    assert member(session, "001006").dental_registry_no == "123"
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.sequence > events_before).order_by(AuditEvent.sequence)
    ).all()
    assert [(event.action, event.target) for event in events] == [
        ("member.update", "member:001001"),
        ("member.update", "member:001003"),
        ("member.create", "member:001006"),
        ("import.members", "file:members.csv"),
    ]
    assert events[0].details["fields"] == ["email"]
    assert events[-1].details["rows"] == {"added": 1, "changed": 2, "unchanged": 3}
    assert chain.verify(session).intact


def test_a_column_the_file_lacks_is_left_alone_but_an_empty_cell_clears(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    make_member(session, member_no="000777", email="old@example.jp", country="JP", medical_registry_no="555")
    session.commit()
    header = [
        "member_no",
        "profession",
        "family_name",
        "given_name",
        "family_name_romaji",
        "given_name_romaji",
        "country",
    ]
    rows = [header, ["000777", "physician", "山田", "太郎", "Yamada", "Taro", ""]]
    result = cli("import", "members", str(write_csv(tmp_path / "members.csv", rows)))
    assert result.exit_code == 0, result.stderr
    updated = member(session, "000777")
    assert (updated.email, updated.country, updated.medical_registry_no) == ("old@example.jp", None, "555")


def test_a_new_profession_must_fit_the_registry_number_the_member_keeps(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    make_member(session, member_no="000778", medical_registry_no="4321")
    session.commit()
    header = [
        "member_no",
        "profession",
        "family_name",
        "given_name",
        "family_name_romaji",
        "given_name_romaji",
    ]
    path = write_csv(
        tmp_path / "members.csv", [header, ["000778", "dentist", "山田", "太郎", "Yamada", "Taro"]]
    )
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert (
        f"{path}:2:profession: the member keeps medical_registry_no 4321, which only a physician has"
        in result.stderr
    )


@pytest.mark.parametrize(("position", "line"), [("first", 2), ("middle", 4), ("last", 7)])
def test_one_bad_row_anywhere_rejects_the_whole_file(
    cli: Any, session: Session, tmp_path: Path, position: str, line: int
) -> None:
    rows = rows_of("members.csv")
    bad = [
        "009999",
        "physician",
        "山田",
        "太郎",
        "",
        "",
        "Yamada",
        "Taro",
        "",
        "not-an-email",
        "JP",
        "",
        "",
        "",
    ]
    index = {"first": 1, "middle": 3, "last": len(rows)}[position]
    rows.insert(index, bad)
    path = write_csv(tmp_path / "members.csv", rows)
    before = counts(session)
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:{line}:email: not a valid email address",
        f"error: {path}: rejected with 1 error; nothing was imported",
    ]
    assert result.stdout == ""
    assert counts(session) == before


def test_every_error_is_listed_at_its_physical_line_after_a_multiline_cell(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    text = (
        "member_no,profession,family_name,given_name,family_name_romaji,given_name_romaji,efn,medical_registry_no\r\n"
        "001,physician,山田,太郎,Yamada,Taro,,\r\n"
        '002,physician,"山\r\n田",花子,Yamada,Hanako,276123456789013,\r\n'
        "003,doctor,佐藤,誠,Sato,Makoto,,123456789\r\n"
        "001,dentist,鈴木,彩,Suzuki,Aya,,1\r\n"
    )
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8-sig", newline="")
    before = counts(session)
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:3:family_name: must fit on one line",
        f"{path}:4:efn: the EFN's check digit is wrong (a digit is mistyped or two are swapped)",
        f"{path}:5:profession: 'doctor' is not one of physician, dentist, other",
        f"{path}:5:medical_registry_no: a registry number has at most 8 digits",
        f"{path}:6:member_no: 001 is also on line 2",
        f"{path}:6:medical_registry_no: only physicians have a medical registry number (医籍)",
        f"error: {path}: rejected with 6 errors; nothing was imported",
    ]
    assert counts(session) == before


def test_an_unknown_or_missing_column_rejects_the_file(cli: Any, session: Session, tmp_path: Path) -> None:
    rows = rows_of("members.csv")
    rows[0][rows[0].index("given_name_romaji")] = "given_name_roman"
    path = write_csv(tmp_path / "members.csv", rows)
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{path}:1:given_name_roman: unknown column; did you mean given_name_romaji?",
        f"{path}:1:given_name_romaji: required column is missing",
    ]
    assert counts(session)["members"] == 0


def test_a_shift_jis_file_is_rejected_with_a_clear_message(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes((DATA / "members.csv").read_text(encoding="utf-8-sig").encode("cp932", errors="replace"))
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}: not UTF-8 (looks like Shift_JIS); save it as UTF-8 (in Excel: CSV UTF-8)"
    )
    assert counts(session)["members"] == 0


def test_an_invalid_utf8_file_is_rejected_at_the_broken_line(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes((DATA / "members.csv").read_bytes().replace("𠮷".encode(), b"\xf0\x9f"))
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{path}:3: not UTF-8 (byte 0xf0); save it as UTF-8"
    assert counts(session)["members"] == 0


def test_member_numbers_keep_their_leading_zeros_from_csv_and_xlsx(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    header = [
        "member_no",
        "profession",
        "family_name",
        "given_name",
        "family_name_romaji",
        "given_name_romaji",
        "medical_registry_no",
        "efn",
    ]
    csv_path = write_csv(
        tmp_path / "members.csv",
        [header, ["000123", "physician", "山田", "太郎", "Yamada", "Taro", "00456", ""]],
    )
    assert cli("import", "members", str(csv_path)).exit_code == 0
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    sheet.append(["000124", "physician", "山田", "花子", "Yamada", "Hanako", "00789", None])
    sheet.append([125, "physician", "佐藤", "誠", "Sato", "Makoto", 42, 276123456789012])
    sheet.append([126, "physician", "鈴木", "彩", "Suzuki", "Aya", None, None])
    sheet["A4"].number_format = "000000"
    workbook.save(tmp_path / "members.xlsx")
    result = cli("import", "members", str(tmp_path / "members.xlsx"))
    assert result.exit_code == 0, result.stderr
    assert member(session, "000123").medical_registry_no == "00456"
    assert member(session, "000124").medical_registry_no == "00789"
    assert (member(session, "125").medical_registry_no, member(session, "125").efn) == (
        "42",
        "276123456789012",
    )
    assert member(session, "000126").family_name == "鈴木"


def test_a_dry_run_reports_the_changes_and_writes_nothing(cli: Any, session: Session) -> None:
    before = counts(session)
    result = cli("import", "members", str(DATA / "members.csv"), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.endswith(": 5 added, 0 changed, 0 unchanged (dry run: nothing was written)\n")
    assert counts(session) == before


def test_a_dry_run_of_a_bad_file_exits_1_with_the_errors(cli: Any, tmp_path: Path) -> None:
    rows = rows_of("members.csv")
    rows[2][1] = "nurse"
    result = cli("import", "members", str(write_csv(tmp_path / "members.csv", rows)), "--dry-run")
    assert result.exit_code == 1
    assert ":3:profession: 'nurse' is not one of physician, dentist, other" in result.stderr


def test_a_database_error_while_writing_rolls_back_every_row(
    cli: Any, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = chain.record
    calls = []

    def fail_on_the_third_event(*args: Any, **kwargs: Any) -> chain.AppendedEvent:
        calls.append(kwargs["target"])
        if len(calls) == 3:
            raise IntegrityError("INSERT", {}, Exception("simulated constraint violation"))
        return record(*args, **kwargs)

    before = counts(session)
    monkeypatch.setattr(chain, "record", fail_on_the_third_event)
    result = cli("import", "members", str(DATA / "members.csv"))
    assert result.exit_code == 1
    assert (
        "the database refused the import (simulated constraint violation); nothing was imported"
        in result.stderr
    )
    assert counts(session) == before


def test_the_service_flushes_but_leaves_the_commit_to_the_caller(db: Any) -> None:
    with db.sessions() as writer:
        result = import_members(writer, DATA / "members.csv", actor="test")
        assert result.ok and result.rows.added == 5
        assert writer.scalar(select(func.count()).select_from(Member)) == 5
        writer.rollback()
        assert writer.scalar(select(func.count()).select_from(Member)) == 0


def test_the_service_returns_every_error_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    rows = rows_of("members.csv")
    rows[1][1] = ""
    rows[4][10] = "ZZ"
    result = import_members(
        session, write_csv(tmp_path / "members.csv", rows), actor="test", name="members.csv"
    )
    assert not result.ok
    assert [str(error) for error in result.errors] == [
        "members.csv:2:profession: required (the cell is empty)",
        "members.csv:5:country: ZZ is not an ISO 3166 country code (e.g. JP, DE)",
    ]
    assert result.summary == "members.csv: rejected with 2 errors; nothing was imported"
    assert result.rejection().details == [str(error) for error in result.errors]
    assert counts(session)["members"] == 0


# --- search -----------------------------------------------------------------------------------------------


@pytest.fixture
def imported(session: Session) -> Session:
    assert import_members(session, DATA / "members.csv", actor="test").ok
    return session


@pytest.mark.parametrize(
    "query",
    [
        "ﾀｶﾊｼ",
        "タカハシ",
        "たかはし",
        "ＴＡＫＡＨＡＳＨＩ",
        "takahashi",
        "髙橋",
        "Takahashi Ichiro",
        "髙橋一郎",
        "001001",
    ],
)
def test_an_imported_member_is_found_by_any_spelling_of_a_name(imported: Session, query: str) -> None:
    assert [found.member_no for found in search_members(imported, query, 10)] == ["001001"]


def test_a_member_is_found_by_the_former_family_name(imported: Session) -> None:
    assert [found.member_no for found in search_members(imported, "山田", 10)] == ["001002"]


def test_rare_kanji_do_not_match_their_common_forms(imported: Session) -> None:
    assert search_members(imported, "高橋", 10) == []
    assert [found.member_no for found in search_members(imported, "𠮷田", 10)] == ["001002"]


def test_accents_do_not_matter_in_a_search(imported: Session) -> None:
    assert [found.member_no for found in search_members(imported, "muller", 10)] == ["001003"]


def test_search_results_are_limited_and_wildcards_are_literal(imported: Session) -> None:
    assert len(search_members(imported, "a", 2)) == 2
    assert search_members(imported, "%", 10) == []
    assert search_members(imported, "  ", 10) == []


def test_inactive_members_are_found_only_on_request(imported: Session) -> None:
    member(imported, "001004").active = False
    imported.flush()
    assert search_members(imported, "sato", 10) == []
    assert [found.member_no for found in search_members(imported, "sato", 10, include_inactive=True)] == [
        "001004"
    ]


def test_a_bad_row_in_a_workbook_is_reported_at_its_sheet_row(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [list(row) for row in rows_of("members.csv")]
    rows[3][rows[0].index("efn")] = 276123456789013
    path = write_xlsx(tmp_path / "members.xlsx", [*rows[:2], [], *rows[2:]])
    result = cli("import", "members", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:5:efn: the EFN's check digit is wrong (a digit is mistyped or two are swapped)"
    )
    assert counts(session)["members"] == 0
