"""`cme-tracker import program`: symposia and lectures, in their own time zones, all or nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from tests.factories import make_lecture, make_symposium

DATA = Path(__file__).parent.parent / "data"
MODELS = (Symposium, Lecture, LectureExclusion, AuditEvent)
FIELDS = "clinical, basic_medicine, pharmaceuticals, dentistry, discourse"


def rows_of(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((DATA / name).read_text(encoding="utf-8-sig"), newline="")))


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def variant(tmp_path: Path, kind: str) -> Path:
    rows = rows_of("program.csv")
    if kind == "xlsx":
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        workbook.save(tmp_path / "program.xlsx")
        return tmp_path / "program.xlsx"
    if kind == "reordered":
        rows = [list(reversed(row)) for row in rows]
    return write_csv(tmp_path / "program.csv", rows, bom=kind != "no-bom")


def edited(tmp_path: Path, changes: dict[tuple[int, str], str]) -> Path:
    """The program file with some cells changed, by (row index, column)."""
    rows = rows_of("program.csv")
    for (index, column), value in changes.items():
        rows[index][rows[0].index(column)] = value
    return write_csv(tmp_path / "program.csv", rows)


def counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0 for model in MODELS
    }


def lecture(session: Session, code: str) -> Lecture:
    session.expire_all()
    found = session.scalar(select(Lecture).where(Lecture.code == code))
    assert found is not None
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["bom", "no-bom", "reordered", "xlsx"])
def test_a_good_program_file_imports_symposia_and_lectures(
    cli: Any, session: Session, tmp_path: Path, kind: str
) -> None:
    path = variant(tmp_path, kind)
    result = cli("import", "program", str(path))
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == f"{path}: 4 added, 0 changed, 0 unchanged (symposia: 2 added, 0 changed, 0 unchanged)\n"
    )
    may = session.scalar(select(Symposium).where(Symposium.code == "2026-05"))
    assert may is not None
    assert (may.held_on, may.timezone, may.kind, may.venue) == (
        date(2026, 5, 16),
        "Asia/Tokyo",
        "regular",
        "東京国際フォーラム ホールB7",
    )
    assert [(item.code, item.position) for item in may.lectures] == [
        ("2026-05-L1", 1),
        ("2026-05-L2", 2),
        ("2026-05-L3", 3),
    ]
    first = lecture(session, "2026-05-L1")
    assert (first.starts_at, first.ends_at) == (utc(2026, 5, 16, 1, 0), utc(2026, 5, 16, 2, 0))
    assert (first.field, first.jma_cc, first.language) == ("clinical", "43", "ja")
    assert [(item.starts_at, item.ends_at) for item in first.exclusions] == [
        (utc(2026, 5, 16, 1, 30), utc(2026, 5, 16, 1, 40))
    ]
    assert lecture(session, "2026-05-L2").title_ja == "免疫チェックポイントの\n分子機構"
    assert len(lecture(session, "2026-05-L3").exclusions) == 2
    berlin = lecture(session, "2026-10-TA-L1")
    assert (berlin.symposium.timezone, berlin.starts_at) == ("Europe/Berlin", utc(2026, 10, 10, 8, 0))
    assert berlin.speaker_affiliation == "Charité – Universitätsmedizin Berlin"


def test_importing_the_same_program_twice_changes_nothing(cli: Any, session: Session) -> None:
    path = DATA / "program.csv"
    assert cli("import", "program", str(path)).exit_code == 0
    before = counts(session)
    result = cli("import", "program", str(path))
    assert (
        result.stdout
        == f"{path}: 0 added, 0 changed, 4 unchanged (symposia: 0 added, 0 changed, 2 unchanged)\n"
    )
    assert counts(session) == before


def test_a_moved_lecture_is_renumbered_and_its_exclusions_replaced(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    assert cli("import", "program", str(DATA / "program.csv")).exit_code == 0
    path = edited(
        tmp_path, {(1, "starts_at"): "15:00", (1, "ends_at"): "16:00", (1, "excluded"): "15:10-15:20"}
    )
    result = cli("import", "program", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(
        ": 0 added, 1 changed, 3 unchanged (symposia: 0 added, 0 changed, 2 unchanged)\n"
    )
    moved = lecture(session, "2026-05-L1")
    assert (moved.starts_at, moved.position) == (utc(2026, 5, 16, 6, 0), 3)
    assert [(item.starts_at, item.ends_at) for item in moved.exclusions] == [
        (utc(2026, 5, 16, 6, 10), utc(2026, 5, 16, 6, 20))
    ]
    assert [lecture(session, code).position for code in ("2026-05-L2", "2026-05-L3")] == [1, 2]
    assert counts(session)["lecture_exclusions"] == 3
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "lecture.update")).one()
    assert (event.target, event.details["fields"]) == (
        "lecture:2026-05-L1",
        ["starts_at", "ends_at", "excluded"],
    )


def test_a_new_lecture_joins_an_existing_symposium_in_time_order(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    assert cli("import", "program", str(DATA / "program.csv")).exit_code == 0
    rows = rows_of("program.csv")
    early = list(rows[1])
    header = rows[0]
    for column, value in {
        "lecture_code": "2026-05-L0",
        "starts_at": "09:00",
        "ends_at": "09:30",
        "excluded": "",
    }.items():
        early[header.index(column)] = value
    result = cli("import", "program", str(write_csv(tmp_path / "program.csv", [header, early])))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(
        ": 1 added, 0 changed, 0 unchanged (symposia: 0 added, 0 changed, 1 unchanged)\n"
    )
    assert [lecture(session, f"2026-05-L{number}").position for number in range(4)] == [1, 2, 3, 4]


def test_a_symposium_keeps_lectures_the_file_does_not_mention(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    assert cli("import", "program", str(DATA / "program.csv")).exit_code == 0
    rows = rows_of("program.csv")
    assert cli("import", "program", str(write_csv(tmp_path / "program.csv", rows[:2]))).exit_code == 0
    assert counts(session)["lectures"] == 4


def test_a_symposium_moved_to_another_day_takes_all_its_lectures_along(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    assert cli("import", "program", str(DATA / "program.csv")).exit_code == 0
    rows = rows_of("program.csv")
    date_column = rows[0].index("symposium_date")
    for row in rows[1:4]:
        row[date_column] = "2026-05-23"
    partial = write_csv(tmp_path / "partial.csv", rows[:3])
    result = cli("import", "program", str(partial))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{partial}:2:symposium_date: moves symposium 2026-05, but its lectures 2026-05-L3 are not in the "
        "file; list every lecture of a symposium whose date or time zone changes"
    )
    result = cli("import", "program", str(write_csv(tmp_path / "program.csv", rows)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(
        ": 0 added, 3 changed, 1 unchanged (symposia: 0 added, 1 changed, 1 unchanged)\n"
    )
    assert lecture(session, "2026-05-L3").starts_at == utc(2026, 5, 23, 4, 30)
    assert lecture(session, "2026-05-L3").exclusions[0].starts_at == utc(2026, 5, 23, 4, 50)


@pytest.mark.parametrize(("index", "line"), [(1, 2), (3, 5), (4, 6)])
def test_one_bad_row_anywhere_rejects_the_program_at_its_physical_line(
    cli: Any, session: Session, tmp_path: Path, index: int, line: int
) -> None:
    path = edited(tmp_path, {(index, "field"): "surgery"})
    before = counts(session)
    result = cli("import", "program", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:{line}:field: 'surgery' is not one of {FIELDS}",
        f"error: {path}: rejected with 1 error; nothing was imported",
    ]
    assert counts(session) == before


def test_every_problem_of_a_program_is_listed(cli: Any, session: Session, tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        {
            (1, "excluded"): "10:50-11:10",
            (2, "symposium_title_en"): "Another title",
            (2, "jma_cc"): "99",
            (3, "lecture_code"): "2026-05-L1",
            (4, "timezone"): "Europe/Munich",
        },
    )
    result = cli("import", "program", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:-1] == [
        f"{path}:2:excluded: 10:50-11:10 is outside the lecture (10:00-11:00)",
        f"{path}:3:symposium_title_en: differs from line 2 for symposium 2026-05 "
        "('Another title' here, 'IMSJ CME Symposium May 2026' there)",
        f"{path}:4:jma_cc: a JMA curriculum code is a number from 1 to 84",
        f"{path}:5:lecture_code: 2026-05-L1 is also on line 2",
        f"{path}:6:timezone: 'Europe/Munich' is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin)",
    ]
    assert counts(session)["lectures"] == 0


def test_a_lecture_code_taken_by_another_symposium_is_refused(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    other = make_symposium(session, code="2026-07", held_on=date(2026, 7, 18))
    make_lecture(session, other, "10:00", "11:00", code="2026-05-L2")
    session.commit()
    result = cli("import", "program", str(DATA / "program.csv"))
    assert result.exit_code == 1
    assert (
        f"{DATA / 'program.csv'}:3:lecture_code: 2026-05-L2 is a lecture of symposium 2026-07"
        in result.stderr
    )


def test_a_dry_run_of_the_program_writes_nothing(cli: Any, session: Session) -> None:
    before = counts(session)
    result = cli("import", "program", str(DATA / "program.csv"), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.endswith(
        "(symposia: 2 added, 0 changed, 0 unchanged) (dry run: nothing was written)\n"
    )
    assert counts(session) == before


def test_a_special_symposium_is_marked_by_the_optional_kind_column(session: Session, tmp_path: Path) -> None:
    rows = rows_of("program.csv")
    rows[0].append("symposium_kind")
    for row in rows[1:]:
        row.append("special" if row[0] == "2026-10-TA" else "")
    result = import_program(session, write_csv(tmp_path / "program.csv", rows), actor="test")
    assert result.ok, result.errors
    kinds = {code: kind for code, kind in session.execute(select(Symposium.code, Symposium.kind))}
    assert kinds == {"2026-05": "regular", "2026-10-TA": "special"}


def test_symposium_cells_left_empty_on_some_rows_take_the_value_of_the_others(
    session: Session, tmp_path: Path
) -> None:
    rows = rows_of("program.csv")
    header = rows[0]
    for column in ("venue", "timezone"):
        rows[1][header.index(column)] = ""
        rows[2][header.index(column)] = ""
    result = import_program(session, write_csv(tmp_path / "program.csv", rows), actor="test")
    assert result.ok, result.errors
    may = session.scalars(select(Symposium).where(Symposium.code == "2026-05")).one()
    assert (may.venue, may.timezone) == ("東京国際フォーラム ホールB7", "Asia/Tokyo")


def test_an_empty_timezone_means_tokyo(session: Session, tmp_path: Path) -> None:
    rows = rows_of("program.csv")
    rows[4][rows[0].index("timezone")] = ""
    assert import_program(session, write_csv(tmp_path / "program.csv", rows), actor="test").ok
    berlin = session.scalars(select(Symposium).where(Symposium.code == "2026-10-TA")).one()
    assert berlin.timezone == "Asia/Tokyo"
