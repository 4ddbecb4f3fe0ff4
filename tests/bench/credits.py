"""Benchmark of the yearly credit computation: a society-sized year against the cost of reading its rows.

Run on demand (pytest does not collect it), on a quiet machine: timings are wall-clock::

    .venv/bin/python tests/bench/credits.py [--database-url URL] [--runs N]

It builds a throwaway database (a SQLite file in a temporary folder by default; given a PostgreSQL URL, a
fresh database created from it and dropped afterwards), migrates it, installs the presets, inserts 10,000
members, 8 symposia of 6 lectures and about 300,000 attendances, then times (a) fetching the year's
attendance rows with one SQL query and (b) computing every member's yearly credits with
:func:`cme_tracker.credits.services.yearly_credits`, best of a few runs, and prints JSON.
Targets on the 2-core development machine: compute under 3 s, compute/fetch at most 2.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from databases import throwaway_database
from sqlalchemy import Engine, insert, select, text

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.presets import install_presets
from cme_tracker.credits.services import YearProgram, member_credits_by_number, yearly_credits
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from cme_tracker.vocabulary import CmeField, YearBasis

YEAR = 2026
MEMBERS = 10_000
LECTURES_PER_SYMPOSIUM = 6
SYMPOSIA = (
    ("2026-01", date(2026, 1, 24), "Asia/Tokyo"),
    ("2026-03", date(2026, 3, 14), "Asia/Tokyo"),
    ("2026-05", date(2026, 5, 16), "Asia/Tokyo"),
    ("2026-06", date(2026, 6, 20), "Europe/Berlin"),
    ("2026-07", date(2026, 7, 18), "Asia/Tokyo"),
    ("2026-09", date(2026, 9, 19), "Asia/Tokyo"),
    ("2026-10", date(2026, 10, 10), "Asia/Tokyo"),
    ("2026-11", date(2026, 11, 21), "Asia/Tokyo"),
)
ATTENDS_SYMPOSIUM = 0.92
WHOLE_DAY = 0.3
ATTENDS_LECTURE = 0.88
INSERT_BATCH = 20_000


@dataclass(frozen=True)
class LectureTimes:
    id: int
    symposium_id: int
    starts_at: datetime
    ends_at: datetime


def insert_rows(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), INSERT_BATCH):
            connection.execute(insert(table), rows[start : start + INSERT_BATCH])


def seed_members(engine: Engine, rng: random.Random) -> None:
    rows = []
    for number in range(1, MEMBERS + 1):
        draw = rng.random()
        profession = "physician" if draw < 0.75 else "dentist" if draw < 0.95 else "other"
        registered = rng.random() < 0.9
        rows.append(
            {
                "member_no": f"{number:06d}",
                "profession": profession,
                "family_name": "山田",
                "given_name": "太郎",
                "family_name_kana": "ヤマダ",
                "given_name_kana": "タロウ",
                "family_name_romaji": "Yamada",
                "given_name_romaji": "Taro",
                "medical_registry_no": f"{500000 + number}"
                if profession == "physician" and registered
                else None,
                "dental_registry_no": f"D{number}" if profession == "dentist" and registered else None,
                "efn": f"{276000000000000 + number}" if rng.random() < 0.05 else None,
                "search_key": f"{number:06d} yamada taro",
                "card_serial": 1,
                "active": True,
                "created_at": datetime.now(UTC),
            }
        )
    insert_rows(engine, Member.__table__, rows)


def seed_program(engine: Engine, rng: random.Random) -> dict[int, list[LectureTimes]]:
    """8 symposia of 6 lectures (30 to 90 minutes, all five fields, some breaks and scheme codes)."""
    fields = list(CmeField)
    program: dict[int, list[LectureTimes]] = {}
    with engine.begin() as connection:
        for number, (code, held_on, zone) in enumerate(SYMPOSIA):
            symposium_id = connection.execute(
                insert(Symposium.__table__).returning(Symposium.__table__.c.id),
                {
                    "code": code,
                    "held_on": held_on,
                    "timezone": zone,
                    "title_ja": f"第{number + 1}回 学術講演会",
                    "title_en": f"Symposium {code}",
                    "kind": "special" if zone != "Asia/Tokyo" else "regular",
                    "status": "closed",
                },
            ).scalar_one()
            starts_at = datetime.combine(held_on, datetime.min.time(), ZoneInfo(zone)) + timedelta(
                hours=9, minutes=30
            )
            lectures = []
            for position in range(1, LECTURES_PER_SYMPOSIUM + 1):
                length = timedelta(minutes=rng.choice([30, 45, 60, 90]))
                field = fields[(number + position) % len(fields)]
                lecture_id = connection.execute(
                    insert(Lecture.__table__).returning(Lecture.__table__.c.id),
                    {
                        "code": f"{code}-L{position}",
                        "symposium_id": symposium_id,
                        "position": position,
                        "starts_at": starts_at,
                        "ends_at": starts_at + length,
                        "field": field.value,
                        "title_ja": "講演",
                        "title_en": "Lecture",
                        "speaker": "講師 一郎",
                        "jma_cc": str(rng.randint(1, 84)) if rng.random() < 0.6 else None,
                        "jda_code": f"{rng.randint(1000, 9999)}" if field is CmeField.DENTISTRY else None,
                    },
                ).scalar_one()
                if length >= timedelta(minutes=60) and rng.random() < 0.4:
                    middle = starts_at + length / 2
                    connection.execute(
                        insert(LectureExclusion.__table__),
                        {
                            "lecture_id": lecture_id,
                            "starts_at": middle,
                            "ends_at": middle + timedelta(minutes=10),
                        },
                    )
                lectures.append(LectureTimes(lecture_id, symposium_id, starts_at, starts_at + length))
                starts_at += length + timedelta(minutes=rng.choice([10, 15, 60 if position == 3 else 10]))
            program[symposium_id] = lectures
    return program


def seed_attendances(engine: Engine, rng: random.Random, program: dict[int, list[LectureTimes]]) -> int:
    """Per-lecture and whole-day attendances: late arrivals, early leaves, returns, missing check-outs."""
    with engine.connect() as connection:
        member_ids = list(connection.execute(select(Member.__table__.c.id)).scalars())
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def add(
        member_id: int, symposium_id: int, lecture_id: int | None, check_in: datetime, out: datetime | None
    ) -> None:
        voided = rng.random() < 0.01
        rows.append(
            {
                "member_id": member_id,
                "symposium_id": symposium_id,
                "lecture_id": lecture_id,
                "check_in_at": check_in,
                "check_out_at": out,
                "method": "qr",
                "created_at": now,
                "voided_at": now if voided else None,
                "voided_by": "bench" if voided else None,
                "void_reason": "duplicate card" if voided else None,
            }
        )

    def minutes(low: int, high: int) -> timedelta:
        return timedelta(minutes=rng.randint(low, high), seconds=rng.randint(0, 59))

    for member_id in member_ids:
        for symposium_id, lectures in program.items():
            if rng.random() >= ATTENDS_SYMPOSIUM:
                continue
            if rng.random() < WHOLE_DAY:
                check_in = lectures[0].starts_at + minutes(-20, 40)
                leaves = rng.random()
                if leaves < 0.2:
                    out = None
                elif leaves < 0.6:
                    out = lectures[-1].ends_at - minutes(0, 90)
                else:
                    out = lectures[-1].ends_at + minutes(0, 15)
                add(member_id, symposium_id, None, check_in, out if out is None or out > check_in else None)
                if rng.random() < 0.3:
                    lecture = rng.choice(lectures)
                    add(
                        member_id,
                        symposium_id,
                        lecture.id,
                        lecture.starts_at - minutes(0, 5),
                        lecture.ends_at,
                    )
                continue
            for lecture in lectures:
                if rng.random() >= ATTENDS_LECTURE:
                    continue
                check_in = lecture.starts_at + (minutes(-5, 0) if rng.random() < 0.7 else minutes(0, 25))
                if rng.random() < 0.06:
                    back = check_in + minutes(5, 20)
                    add(member_id, symposium_id, lecture.id, check_in, back)
                    check_in = back + minutes(1, 10)
                ending = rng.random()
                out = (
                    None
                    if ending < 0.1
                    else lecture.ends_at - minutes(0, 20)
                    if ending < 0.3
                    else lecture.ends_at
                )
                add(
                    member_id,
                    symposium_id,
                    lecture.id,
                    check_in,
                    out if out is None or out > check_in else None,
                )
    insert_rows(engine, Attendance.__table__, rows)
    return sum(1 for row in rows if row["voided_at"] is None)


def best_of(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    """The shortest wall time of ``runs`` runs, and what the work counted."""
    best = float("inf")
    counted = 0
    for _ in range(runs):
        started = time.perf_counter()
        counted = work()
        best = min(best, time.perf_counter() - started)
    return best, counted


def measure(database: Database, runs: int) -> dict[str, Any]:
    """Best-of-``runs`` times of reading the year's rows and of computing everyone's credits from them.

    The fetch reads exactly the rows and columns the bulk service streams (same SQL) and keeps them all;
    a second fetch reads them with check-in/out as the models' aware datetimes, to show what the SQL-side
    epoch conversion saves. The ratio divides the computation by the first, the stricter of the two.
    """

    def fetch() -> int:
        with database.sessions() as session:
            query = (
                YearProgram(session, YEAR, YearBasis.CALENDAR).attendances().order_by(Attendance.member_id)
            )
            return len(session.connection().execute(query).all())

    def fetch_as_models() -> int:
        with database.sessions() as session:
            query = (
                YearProgram(session, YEAR, YearBasis.CALENDAR).attendances().order_by(Attendance.member_id)
            )
            columns = query.with_only_columns(
                Attendance.member_id,
                Attendance.lecture_id,
                Attendance.symposium_id,
                Attendance.check_in_at,
                Attendance.check_out_at,
            )
            return len(session.connection().execute(columns).all())

    def compute() -> int:
        with database.sessions() as session:
            return sum(1 for _ in yearly_credits(session, YEAR, YearBasis.CALENDAR))

    fetch_seconds, rows = best_of(runs, fetch)
    models_seconds, _ = best_of(runs, fetch_as_models)
    compute_seconds, members = best_of(runs, compute)
    return {
        "rows": rows,
        "members_with_credits": members,
        "fetch_seconds": round(fetch_seconds, 3),
        "compute_seconds": round(compute_seconds, 3),
        "ratio": round(compute_seconds / fetch_seconds, 2),
        "fetch_as_datetimes_seconds": round(models_seconds, 3),
    }


def spot_check(database: Database, count: int = 25) -> int:
    """Members recomputed one by one must get what the bulk computation gave them; returns how many."""
    with database.sessions() as session:
        bulk = {
            credits.member_no: credits.policies
            for credits in yearly_credits(session, YEAR, YearBasis.CALENDAR)
        }
        for member_no in random.Random(1).sample(sorted(bulk), count):
            alone = member_credits_by_number(session, member_no, YEAR, YearBasis.CALENDAR).policies
            if alone != bulk[member_no]:
                raise AssertionError(f"member {member_no}: bulk {bulk[member_no]} but alone {alone}")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="a PostgreSQL server URL to create a throwaway database from")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args(argv)
    rng = random.Random(arguments.seed)
    with throwaway_database(arguments.database_url) as url:
        database = Database.connect(url, audit_key="bench-audit-key")
        try:
            started = time.perf_counter()
            upgrade(database.engine)
            with database.unit_of_work() as session:
                install_presets(session, actor="bench")
            seed_members(database.engine, rng)
            program = seed_program(database.engine, rng)
            inserted = seed_attendances(database.engine, rng, program)
            if database.engine.dialect.name == "postgresql":
                with database.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            setup_seconds = time.perf_counter() - started
            report = {"database": database.engine.dialect.name, **measure(database, arguments.runs)}
            report["setup_seconds"] = round(setup_seconds, 1)
            report["members_checked_one_by_one"] = spot_check(database)
            assert report["rows"] == inserted, (report["rows"], inserted)
        finally:
            database.engine.dispose()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
