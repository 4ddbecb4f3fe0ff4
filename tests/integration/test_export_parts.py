"""The CSV export written by several processes: the same bytes as one process, whatever happens beside it."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cme_tracker.db import Database
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports import parts as export_parts
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.services import export_transcripts
from cme_tracker.members.importer import LAYOUT, import_members
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import YearBasis
from tests.conftest import migrated_database
from tests.integration.test_export import _import_demo_year

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_year(fresh_database_url: str, tmp_path: Path) -> Iterator[Database]:
    """The demo year, committed, so that other processes read it too."""
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        _import_demo_year(session, tmp_path / "demo")
    yield database
    database.engine.dispose()


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 50 members, so that the demo year's 300 members make several."""
    monkeypatch.setattr(export_parts, "MEMBERS_PER_PART", 50)


def export_csv(database: Database, tmp_path: Path, name: str, jobs: int) -> bytes:
    out = tmp_path / name
    export_transcripts(
        database,
        DocumentSetup(tmp_path / "instance"),
        2026,
        YearBasis.CALENDAR,
        FORMATS["csv"],
        out,
        actor="auditor-test",
        jobs=jobs,
    )
    return out.read_bytes()


def names_by_member(data: bytes) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        names.setdefault(row["member_no"], set()).add(row["name_romaji"])
    return names


def test_member_ranges_cover_every_member_once_in_order(small_parts: None) -> None:
    ranges = export_parts.member_ranges([7, 3, *range(100, 250)], jobs=3)
    assert ranges == [(3, 147), (148, 198), (199, 249)]
    assert export_parts.member_ranges(range(1, 60), jobs=2) == []  # one part: a single pass is quicker


def test_a_csv_written_in_parts_is_the_csv_one_process_writes(
    demo_year: Database, tmp_path: Path, small_parts: None
) -> None:
    one = export_csv(demo_year, tmp_path, "one.csv", jobs=1)
    parts = export_csv(demo_year, tmp_path, "parts.csv", jobs=4)
    assert parts == one
    assert len(names_by_member(one)) > 100
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith((".part", ".partial"))]


def test_a_change_committed_while_the_parts_start_stays_out_of_the_export(
    demo_year: Database, tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin renames a member just as the export starts its processes: the export shows the year as it
    was when the export began, in every part; the next export shows the new name."""
    before = export_csv(demo_year, tmp_path, "before.csv", jobs=1)
    with demo_year.sessions() as session:
        last = session.scalars(select(Member).order_by(Member.id.desc())).first()
        assert last is not None
        member_no = last.member_no
    assert member_no in names_by_member(before)
    rename = tmp_path / "rename.csv"
    rename.write_text(_member_file_row(last, family_name="Renamed", family_name_romaji="Renamed"))
    write_part = export_parts._write_part

    def rename_then_write_part(*arguments: Any) -> None:
        """In the child, before it reads: the commit lands between the parent's snapshot and its own."""
        demo_year.engine.dispose(close=False)
        with demo_year.unit_of_work() as session:
            assert not import_members(session, rename, actor="admin").errors
        write_part(*arguments)

    monkeypatch.setattr(export_parts, "_write_part", rename_then_write_part)
    during = export_csv(demo_year, tmp_path, "during.csv", jobs=2)
    assert during == before
    after = export_csv(demo_year, tmp_path, "after.csv", jobs=1)
    assert names_by_member(after)[member_no] == {f"RENAMED {last.given_name_romaji}"}


def test_a_part_whose_process_dies_is_written_by_the_parent(
    demo_year: Database, tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = export_csv(demo_year, tmp_path, "one.csv", jobs=1)
    monkeypatch.setattr(export_parts, "_write_part", lambda *_arguments: os._exit(9))
    assert export_csv(demo_year, tmp_path, "parts.csv", jobs=3) == one


def _member_file_row(member: Member, **changes: str) -> str:
    columns = [*LAYOUT.required, *LAYOUT.optional]
    values = {column: getattr(member, column) or "" for column in columns} | changes
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerow(values)
    return buffer.getvalue()
