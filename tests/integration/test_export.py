"""``export transcripts``: tables agree with ``credits show``, cells are typed, years split, files atomic."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.amounts import format_amount
from cme_tracker.attendance.importer import import_attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.credits.engine import CreditEngine, LectureAward
from cme_tracker.credits.minutes import LectureSlot, Presence, epoch_micros
from cme_tracker.credits.presets import DE_CME, IMSJ, JMA
from cme_tracker.credits.schemas import member_credits_json
from cme_tracker.credits.services import member_credits_by_number
from cme_tracker.db import Database
from cme_tracker.demo.year import write_year
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports.csvfile import DetailCsv
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.jsonfile import ExportJson
from cme_tracker.exports.rows import LocalClock, local_iso
from cme_tracker.exports.services import export_transcripts
from cme_tracker.exports.xlsx import ExportXlsx
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture
from cme_tracker.vocabulary import CmeField, YearBasis
from tests.conftest import CommandLine
from tests.factories import attend, make_lecture, make_member, make_symposium

FIELDS = ("clinical", "basic_medicine", "pharmaceuticals", "dentistry", "discourse")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    return folder


@pytest.fixture
def setup(instance: Path) -> DocumentSetup:
    return DocumentSetup(instance, public_url="https://cme.example.org")


def export(
    db: Database,
    setup: DocumentSetup,
    export_format: str,
    out: Path,
    year: int = 2026,
    basis: YearBasis = YearBasis.CALENDAR,
) -> Path:
    export_transcripts(db, setup, year, basis, FORMATS[export_format], out, actor="auditor-test")
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def worked_examples(session: Session) -> Member:
    """The imsj examples of docs/credits.md for a physician whose member number starts with zeros."""
    member = make_member(session, member_no="004711", medical_registry_no="512345")
    symposium = make_symposium(session, "2026-05", date(2026, 5, 16))
    late = make_lecture(session, symposium, "10:00", "11:00", "clinical", jma_cc="43")
    full = make_lecture(session, symposium, "13:00", "14:30", "pharmaceuticals", jma_cc="8")
    pause = make_lecture(
        session, symposium, "15:00", "16:00", "basic_medicine", excluded=[("15:30", "15:40")]
    )
    attend(session, member, late, "10:10", "11:00")
    attend(session, member, full, "13:00", "14:30")
    attend(session, member, pause, "15:00")
    return member


def test_csv_rows_carry_what_recomputes_each_credit_by_hand(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    worked_examples(session)
    session.commit()
    out = export(db, setup, "csv", tmp_path / "detail.csv")
    assert out.read_bytes().startswith(b"\xef\xbb\xbfyear,year_basis,member_no,")
    rows = {row["lecture_code"]: row for row in read_csv(out)}
    late = rows["2026-05-L1"]
    assert late["member_no"] == "004711"
    assert late["presence"] == "2026-05-16T10:10:00+09:00/2026-05-16T11:00:00+09:00"
    assert (late["lecture_starts_at"], late["lecture_ends_at"]) == (
        "2026-05-16T10:00:00+09:00",
        "2026-05-16T11:00:00+09:00",
    )
    assert (late["minutes_attended"], late["imsj_credits"], late["imsj_version"]) == ("50", "0.5", "2026.1")
    assert (late["jma_units"], late["jma_cc"], late["jma_version"]) == ("0.5", "43", "2026.1")
    assert late["jda_units"] == late["jda_code"] == late["de_cme_points"] == ""
    assert (rows["2026-05-L2"]["minutes_attended"], rows["2026-05-L2"]["imsj_credits"]) == ("90", "1.5")
    pause = rows["2026-05-L3"]
    assert pause["excluded"] == "2026-05-16T15:30:00+09:00/2026-05-16T15:40:00+09:00"
    assert pause["presence"] == "2026-05-16T15:00:00+09:00/2026-05-16T16:00:00+09:00"  # no check-out
    assert (pause["minutes_attended"], pause["imsj_credits"], pause["jma_units"]) == ("50", "0.5", "0")


def _import_demo_year(session: Session, folder: Path) -> None:
    files = write_year(folder)
    for importer, path in (
        (import_members, files.members),
        (import_program, files.program),
        (import_attendance, files.attendance),
    ):
        assert not importer(session, path, actor="test").errors


@pytest.mark.slow
def test_totals_in_csv_xlsx_json_agree_with_credits_show_for_every_member_of_the_demo_year(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path, cli: CommandLine
) -> None:
    _import_demo_year(session, tmp_path / "demo")
    session.commit()
    detail = read_csv(export(db, setup, "csv", tmp_path / "year.csv"))
    workbook = openpyxl.load_workbook(export(db, setup, "xlsx", tmp_path / "year.xlsx"), read_only=True)
    document = json.loads(export(db, setup, "json", tmp_path / "year.json").read_text(encoding="utf-8"))

    from_csv = _sum_detail(detail, document["policies"])
    sheet = workbook["totals"].iter_rows(values_only=True)
    header = next(sheet)
    from_xlsx = {
        (row["member_no"], row["policy"], row["field"]): format_amount(Decimal(str(row["amount"])))
        for row in (dict(zip(header, values, strict=False)) for values in sheet)
    }
    workbook.close()
    from_json = {(row["member_no"], row["policy"], row["field"]): row["amount"] for row in document["totals"]}
    expected: dict[tuple[str, str, str], str] = {}
    for member_no in sorted({row["member_no"] for row in detail}):
        shown = member_credits_json(member_credits_by_number(session, member_no, 2026))
        for code, policy in shown["policies"].items():
            expected[(member_no, code, "total")] = policy["total"]
            for field in FIELDS:
                expected[(member_no, code, field)] = policy["by_field"][field]
    assert len({key[0] for key in expected}) > 250
    assert from_json == expected
    assert from_xlsx == expected
    assert from_csv == expected
    for member_no in sorted({key[0] for key in expected})[:3]:  # and the command itself prints the same
        printed = json.loads(cli("credits", "show", member_no, "--year", "2026", "--json").stdout)
        assert all(
            printed["policies"][code]["total"] == expected[(member_no, code, "total")]
            for code in printed["policies"]
        )


def _sum_detail(
    detail: list[dict[str, str]], policies: list[dict[str, Any]]
) -> dict[tuple[str, str, str], str]:
    """The detail rows added up per member, policy and field, as an auditor would in a spreadsheet."""
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in detail:
        for policy in policies:
            column = f"{policy['policy'].replace('-', '_')}_{policy['unit']}"
            if row[column] == "":
                continue
            for field in (*FIELDS, "total"):
                sums[(row["member_no"], policy["policy"], field)] += Decimal(0)
            sums[(row["member_no"], policy["policy"], row["field"])] += Decimal(row[column])
            sums[(row["member_no"], policy["policy"], "total")] += Decimal(row[column])
    return {key: format_amount(amount) for key, amount in sums.items()}


def test_xlsx_cells_are_typed_and_member_numbers_keep_their_leading_zeros(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    worked_examples(session)
    session.commit()
    workbook = openpyxl.load_workbook(export(db, setup, "xlsx", tmp_path / "year.xlsx"))
    assert workbook.sheetnames[:3] == ["detail", "totals", "policies"]
    detail = workbook["detail"]
    assert detail.freeze_panes == "A2"
    assert detail.column_dimensions["N"].width == 60  # presence
    header = [cell.value for cell in detail[1]]
    row = dict(zip(header, [cell for cell in detail[2]], strict=True))
    assert row["member_no"].value == "004711" and row["member_no"].data_type == "s"
    assert row["year"].value == 2026
    assert row["lecture_starts_at"].value == datetime(2026, 5, 16, 10, 0)
    assert row["lecture_starts_at"].is_date and "yy" in row["lecture_starts_at"].number_format
    assert row["minutes_attended"].value == 50
    assert row["imsj_credits"].value == 0.5 and row["imsj_credits"].data_type == "n"
    policies = {
        cell.value: parameters.value for cell, *_, parameters in workbook["policies"].iter_rows(min_row=2)
    }
    assert json.loads(policies["imsj"])["minutes_per_unit"] == 30


def test_fiscal_and_calendar_years_split_at_1_april_and_1_january(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    member = make_member(session)
    for code, day in (
        ("2025-12", date(2025, 12, 31)),
        ("2026-01", date(2026, 1, 1)),
        ("2026-03", date(2026, 3, 31)),
        ("2026-04", date(2026, 4, 1)),
    ):
        lecture = make_lecture(session, make_symposium(session, code, day), "10:00", "11:00")
        attend(session, member, lecture, "10:00", "11:00")
    session.commit()

    def symposia(year: int, basis: YearBasis) -> list[str]:
        rows = read_csv(export(db, setup, "csv", tmp_path / f"{year}-{basis.value}.csv", year, basis))
        return [row["symposium_code"] for row in rows]

    assert symposia(2025, YearBasis.CALENDAR) == ["2025-12"]
    assert symposia(2026, YearBasis.CALENDAR) == ["2026-01", "2026-03", "2026-04"]
    assert symposia(2025, YearBasis.FISCAL) == ["2025-12", "2026-01", "2026-03"]
    assert symposia(2026, YearBasis.FISCAL) == ["2026-04"]


def test_the_json_export_holds_both_tables_the_policies_and_a_signed_checkpoint(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    worked_examples(session)
    session.commit()
    document = json.loads(export(db, setup, "json", tmp_path / "year.json").read_text(encoding="utf-8"))
    assert [row["lecture_code"] for row in document["detail"]] == ["2026-05-L1", "2026-05-L2", "2026-05-L3"]
    assert document["detail"][0]["minutes_attended"] == 50
    assert document["detail"][0]["jda_units"] is None
    total = next(row for row in document["totals"] if (row["policy"], row["field"]) == ("jma", "total"))
    assert (total["amount"], total["codes"]) == ("2", "43;8")
    assert [policy["policy"] for policy in document["policies"]] == ["imsj", "jma", "jda", "de-cme"]
    checkpoint = json.loads(document["audit_checkpoint"]["document"])
    assert checkpoint["sequence"] > 0 and len(checkpoint["hash"]) == 64


def test_each_export_is_recorded_in_the_audit_log_with_its_sha256(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    worked_examples(session)
    session.commit()
    out = export(db, setup, "csv", tmp_path / "detail.csv")
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
    assert event is not None
    assert (event.action, event.actor, event.target) == (
        "export.transcripts",
        "auditor-test",
        "export:transcripts:2026:calendar",
    )
    assert event.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (event.details["format"], event.details["detail_rows"], event.details["members"]) == ("csv", 3, 1)


def test_a_failed_export_leaves_no_file_and_no_audit_event(
    db: Database,
    session: Session,
    setup: DocumentSetup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: CommandLine,
) -> None:
    worked_examples(session)
    session.commit()
    before = session.scalars(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc())).first()

    def broken(self: Any, rows: Any) -> None:
        raise OSError(28, "No space left on device")

    for sink in (DetailCsv, ExportJson, ExportXlsx):
        monkeypatch.setattr(sink, "member", broken)
    for export_format in ("csv", "json", "xlsx"):
        with pytest.raises(OSError, match="No space"):
            export(db, setup, export_format, tmp_path / f"year.{export_format}")
    assert list(tmp_path.glob("year*")) == list(tmp_path.glob(".year*")) == []
    assert session.scalars(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc())).first() == before


def test_the_command_names_what_it_wrote(
    session: Session, instance: Path, tmp_path: Path, cli: CommandLine
) -> None:
    worked_examples(session)
    session.commit()
    result = cli(
        "export", "transcripts", "--year", "2026", "--format", "csv", "--out", str(tmp_path / "a.csv")
    )
    assert result.exit_code == 0, result.output
    assert "1 members, 3 detail rows, 12 totals rows" in result.stdout
    missing = cli("export", "transcripts", "--year", "2026", "--format", "csv", "--out", "/nowhere/a.csv")
    assert missing.exit_code == 2


def test_csv_bytes_are_exactly_what_csv_writer_writes_for_its_rows(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    """Rows are spliced from pieces csv.writer rendered: a name needing quotes must come out as it would."""
    worked_examples(session)
    quoted = make_member(
        session,
        member_no="000042",
        medical_registry_no="512346",
        family_name_romaji='O"Hara, Jr.',
        given_name_romaji="Sean\nPatrick",
    )
    lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-05-L2")).one()
    attend(session, quoted, lecture, "13:05", "14:30")
    session.commit()
    written = export(db, setup, "csv", tmp_path / "detail.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(written.decode("utf-8-sig"), newline="")))
    again = io.StringIO(newline="")
    csv.writer(again).writerows(rows)
    assert written == b"\xef\xbb\xbf" + again.getvalue().encode()
    assert {row[4] for row in rows[1:]} == {"YAMADA Taro", 'O"HARA, JR. Sean\nPatrick'}


@pytest.mark.parametrize(
    "zone", ["Asia/Tokyo", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu"]
)
def test_presence_times_read_as_isoformat_writes_them_across_offset_changes(zone: str) -> None:
    """The cached clock against datetime.isoformat: whole seconds, fractions, both DST changes of 2026,
    half-hour offsets and a local mean time with seconds (1890)."""
    clock, tz = LocalClock(ZoneInfo(zone)), ZoneInfo(zone)
    rng = random.Random(zone)
    moments = [datetime(1890, 6, 1, 12, 0, 7, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
    for month in (3, 4, 10, 11):  # around the changes of both hemispheres
        start = datetime(2026, month, 1, tzinfo=UTC)
        moments += [start + timedelta(seconds=rng.randrange(31 * 86400)) for _ in range(300)]
    moments += [moment.replace(microsecond=rng.randrange(1_000_000)) for moment in moments[:200]]
    transitions = [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)]
    moments += [edge + timedelta(microseconds=delta) for edge in transitions for delta in (-1, 0, 1)]
    for moment in moments * 2:  # the second time from the cache
        micros = epoch_micros(moment)
        assert clock.iso(micros) == local_iso(micros, tz) == moment.astimezone(tz).isoformat()


def test_rendered_lines_match_the_itemised_credits_also_where_a_day_cap_cuts() -> None:
    """The export's hook renders each memoised award once; a line the day cap cut, from its own awards."""
    tokyo = ZoneInfo("Asia/Tokyo")
    day = date(2026, 5, 16)
    lectures = [
        LectureSlot(
            code=f"L{number}",
            symposium_code="2026-05",
            day=day,
            starts_at=datetime.combine(day, time(8 + 2 * number), tzinfo=tokyo),
            ends_at=datetime.combine(day, time(9 + 2 * number, 30), tzinfo=tokyo),
            field=CmeField.CLINICAL,
            jma_cc=str(number),
        )
        for number in range(5)
    ]
    engine = CreditEngine(lectures, [IMSJ, JMA, DE_CME])
    members: dict[int, list[Presence]] = {
        1: [Presence(lecture.code, lecture.starts_at) for lecture in lectures],  # 10 points: cut at 8
        2: [Presence(lecture.code, lecture.starts_at) for lecture in lectures],
        3: [Presence("2026-05", lectures[0].starts_at + timedelta(minutes=10), whole_symposium=True)],
    }
    selections = {1: engine.all_policies(), 2: engine.all_policies(), 3: (0,)}
    rows = [(member, *span) for member, presences in members.items() for span in engine.spans(presences)]
    calls: list[tuple[int, int]] = []

    def render(lecture: int, minutes: int, awards: Any) -> tuple[int, dict[str, LectureAward]]:
        calls.append((lecture, minutes))
        return minutes, dict(awards)

    rendered = {member: lines for member, _, lines in engine.render_members(rows, selections, render)}
    for member, presences in members.items():
        expected = engine.credit_presences(presences, selections[member])
        lines = rendered[member]
        assert [engine.lectures[position] for position, _, _ in lines] == [
            line.lecture for line in expected.lectures
        ]
        assert [value for _, _, value in lines] == [
            (line.minutes, dict(line.awards)) for line in expected.lectures
        ]
    assert rendered[1][-1][2][1]["de-cme"] == LectureAward(Decimal(0), None)  # the cap took it all
    assert len(calls) == 5 + 1 + 5  # member 1: five; member 2: only its line the cap cut; member 3: five
    assert rendered[3][0][1] == [
        (epoch_micros(lectures[0].starts_at) + 600_000_000, epoch_micros(lectures[-1].ends_at))
    ]


def test_xlsx_text_keeps_markup_characters_and_is_a_package_office_reads(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path
) -> None:
    worked_examples(session)
    odd = make_member(
        session,
        member_no="000043",
        medical_registry_no="512347",
        family_name_romaji="Smith & <Co>",
        given_name_romaji=" Ann ",
    )
    lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-05-L2")).one()
    attend(session, odd, lecture, "13:00", "14:30")
    session.commit()
    out = export(db, setup, "xlsx", tmp_path / "year.xlsx")
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml"} <= set(archive.namelist())
    workbook = openpyxl.load_workbook(out)
    sheet = workbook["detail"]
    header = [cell.value for cell in sheet[1]]
    names = {
        row[header.index("member_no")]: row[header.index("name_romaji")]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert names == {"004711": "YAMADA Taro", "000043": "SMITH & <CO>  Ann "}
    totals = workbook["totals"]
    assert totals.freeze_panes == "A2"
    total = [row for row in totals.iter_rows(min_row=2, values_only=True) if row[:1] and row[2] == "000043"]
    assert {(row[6], row[9]): row[10] for row in total}[("imsj", "total")] == 1.5


FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_name_that_reads_as_a_formula_is_quoted_in_the_csv_and_kept_typed_in_the_xlsx(
    db: Database, session: Session, setup: DocumentSetup, tmp_path: Path, jobs: int
) -> None:
    """OWASP's CSV injection advice: a cell starting with = + - @ tab or CR gets a leading single quote."""
    worked_examples(session)
    members = tmp_path / "members.csv"
    members.write_text(
        "member_no,profession,family_name,given_name,family_name_romaji,given_name_romaji\r\n"
        f'000044,other,x,"{FORMULA.replace(chr(34), chr(34) * 2)}",Evil,Eve\r\n',  # Latin: given name first
        encoding="utf-8",
    )
    assert import_members(session, members, actor="test").ok
    lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-05-L2")).one()
    evil_member = session.scalars(select(Member).where(Member.member_no == "000044")).one()
    attend(session, evil_member, lecture, "13:00")
    session.commit()
    export_transcripts(
        db, setup, 2026, YearBasis.CALENDAR, FORMATS["csv"], tmp_path / "d.csv", actor="t", jobs=jobs
    )
    rows = read_csv(tmp_path / "d.csv")
    evil = [row for row in rows if row["member_no"] == "000044"]
    assert evil and all(row["name_kanji"].startswith("'" + FORMULA) for row in evil)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
    assert {row["minutes_attended"] for row in evil} == {"90"}  # numbers keep their text
    with zipfile.ZipFile(export(db, setup, "zip", tmp_path / "b.zip")) as bundle:
        tables = {
            name: bundle.read(f"cme-export-2026-calendar/{name}").decode("utf-8-sig")
            for name in ("detail.csv", "totals.csv")
        }
    for table in tables.values():
        assert f"'{FORMULA}".replace('"', '""') in table
    workbook = openpyxl.load_workbook(export(db, setup, "xlsx", tmp_path / "y.xlsx"))
    sheet = workbook["detail"]
    header = [cell.value for cell in sheet[1]]
    kanji = {row[header.index("name_kanji")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert any(str(name).startswith(FORMULA) for name in kanji)
