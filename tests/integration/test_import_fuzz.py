"""Fuzzing the importers against the database: no input crashes them, and no input is imported in part."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.importer import import_attendance
from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.members.importer import LAYOUT as MEMBER_LAYOUT
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.tabular.loading import ImportResult
from tests.factories import attend, make_member

DATA = Path(__file__).parent.parent / "data"
ERROR_FORMAT = re.compile(r"^(members|attendance)\.csv(:\d+(:[^:\n]+)?)?: \S")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)


def cell(*choices: str) -> st.SearchStrategy[str]:
    """Mostly plausible values, valid and not, sometimes arbitrary text."""
    return st.one_of(st.sampled_from(choices), text)


def member_rows() -> list[dict[str, str]]:
    with (DATA / "members.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


VALID_MEMBER = st.builds(
    lambda row, number: row | {"member_no": number},
    st.sampled_from(member_rows()),
    st.sampled_from(["000001", "000002", "000003", "000004", "000005", "０００００６"]),
)
ANY_MEMBER = st.fixed_dictionaries(
    {
        "member_no": cell("000001", "000002", "１２３", "0 1"),
        "profession": cell("physician", "dentist", "other", "Physician", "doctor", ""),
        "family_name": cell("山田", "髙橋", "𠮷田", "Müller", "山\n田", ""),
        "given_name": cell("太郎", "花子", "Anna", ""),
        "family_name_kana": cell("ヤマダ", "ﾀｶﾊｼ", "たかはし", "山", ""),
        "given_name_kana": cell("タロウ", "", "x"),
        "family_name_romaji": cell("Yamada", "ＴＡＫＡＨＡＳＨＩ", "Müller", "山", ""),
        "given_name_romaji": cell("Taro", "Anna", ""),
        "former_family_name": cell("佐藤", ""),
        "email": cell("taro@example.jp", "not-an-email", ""),
        "country": cell("JP", "de", "XX", ""),
        "medical_registry_no": cell("012345", "123456789", "12a", ""),
        "dental_registry_no": cell("00098765", ""),
        "efn": cell("276123456789012", "276123456789013", "123", ""),
    }
)


def csv_bytes(header: list[str], rows: list[list[str]], terminator: str, encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def clean_members_file() -> bytes:
    """One valid new member: an input that is always tried, so that every run sees an accepted file."""
    row = member_rows()[0] | {"member_no": "000002"}
    return csv_bytes(list(row), [list(row.values())], "\r\n", "utf-8-sig")


@st.composite
def members_files(draw: st.DrawFn) -> bytes:
    """Clean files, plausible but often invalid rows under a shuffled or damaged header, or raw bytes."""
    mode = draw(st.sampled_from(["clean", "clean", "mixed", "damaged", "bytes"]))
    if mode == "bytes":
        return draw(st.binary(max_size=200))
    header = draw(st.permutations(list(MEMBER_LAYOUT.columns)))
    if mode == "damaged":
        header = header[: draw(st.integers(0, len(header)))] + draw(st.lists(text, max_size=2))
    rows = draw(
        st.lists(VALID_MEMBER if mode == "clean" else st.one_of(VALID_MEMBER, ANY_MEMBER), max_size=5)
    )
    content = csv_bytes(
        header,
        [[row.get(column, "") for column in header] for row in rows],
        draw(st.sampled_from(["\r\n", "\n"])),
        draw(st.sampled_from(["utf-8", "utf-8-sig"])),
    )
    return content + (draw(st.sampled_from([b"\xff", b'"', b"\x00"])) if mode == "damaged" else b"")


TARGETS = [("2026-05-L1", ""), ("2026-05-L2", ""), ("", "2026-05")]


@st.composite
def attendance_files(draw: st.DrawFn) -> bytes:
    """Clean rows that often collide (same member and target, left open), or rows with invalid cells too."""
    clean = draw(st.booleans())
    row = st.tuples(
        st.sampled_from(["001001", "001001", "001002"]) if clean else cell("001001", "001002", "009999"),
        st.sampled_from(
            TARGETS if clean else [*TARGETS, ("2026-05-L1", "2026-05"), ("", ""), ("", "2026-10-TA")]
        ),
        st.sampled_from(["2026-05-16T09:55", "2026-05-16T10:20", "2026-05-16T01:00Z", "2026/5/16 9:00"])
        if clean
        else cell("2026-05-16T09:55", "2026-05-17T10:00", ""),
        st.sampled_from(["", "", "2026-05-16T15:00", "2026-05-16T06:00Z"])
        if clean
        else cell("", "2026-05-16T09:00"),
        st.sampled_from(["", "qr", "manual"]) if clean else cell("", "qr", "carrier pigeon"),
    )
    rows = [
        [member_no, lecture, symposium, check_in, check_out, method]
        for member_no, (lecture, symposium), check_in, check_out, method in draw(st.lists(row, max_size=6))
    ]
    header = ["member_no", "lecture_code", "symposium_code", "check_in_at", "check_out_at", "method"]
    return csv_bytes(header, rows, "\r\n", "utf-8-sig")


def state(session: Session) -> tuple[int, int, int]:
    members, attendances, events = (
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Member, Attendance, AuditEvent)
    )
    return members, attendances, events


def import_all_or_nothing(
    session: Session, path: Path, content: bytes, importer: Callable[..., ImportResult], counted: int
) -> bool:
    """Import ``content`` in a savepoint of its own and roll it back; the database must have changed by
    exactly what the result reports, or not at all. Returns whether the file was accepted."""
    path.write_bytes(content)
    savepoint = session.begin_nested()
    try:
        before = state(session)
        result = importer(session, path, actor="fuzz", name=path.name)
        after = state(session)
        if result.ok:
            assert after[counted] == before[counted] + result.rows.added
            assert (after[2] > before[2]) == result.changed_anything
        else:
            assert after == before
            for error in result.errors:
                assert ERROR_FORMAT.match(str(error)), str(error)
        return result.ok
    finally:
        savepoint.rollback()


def test_no_members_file_crashes_the_import_or_is_imported_in_part(session: Session, tmp_path: Path) -> None:
    make_member(
        session, member_no="000001", profession="dentist", medical_registry_no=None, dental_registry_no="7"
    )
    outcomes: set[bool] = set()

    @FUZZ
    @given(content=members_files())
    @example(content=clean_members_file())
    def run(content: bytes) -> None:
        outcomes.add(import_all_or_nothing(session, tmp_path / "members.csv", content, import_members, 0))

    run()
    assert outcomes == {True, False}


def test_no_attendance_file_crashes_the_import_or_breaks_the_one_open_rule(
    session: Session, tmp_path: Path
) -> None:
    assert import_members(session, DATA / "members.csv", actor="test").ok
    assert import_program(session, DATA / "program.csv", actor="test").ok
    member = session.scalars(select(Member).where(Member.member_no == "001001")).one()
    attend(
        session, member, session.scalars(select(Lecture).where(Lecture.code == "2026-05-L1")).one(), "09:55"
    )
    attend(
        session, member, session.scalars(select(Symposium).where(Symposium.code == "2026-05")).one(), "09:00"
    )
    outcomes: set[bool] = set()

    @FUZZ
    @given(content=attendance_files())
    def run(content: bytes) -> None:
        outcomes.add(
            import_all_or_nothing(session, tmp_path / "attendance.csv", content, import_attendance, 1)
        )

    run()
    assert outcomes == {True, False}
