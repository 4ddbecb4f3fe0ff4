"""`cme-tracker demo` sets up a realistic year in a fresh instance and is safe to run twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cme_tracker.accounts.models import User
from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.chain import verify
from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.models import Lecture, Symposium
from tests.factories import make_member

pytestmark = pytest.mark.slow


def _run_demo(instance: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CME_")}
    env |= {"CME_INSTANCE_PATH": str(instance), "CME_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "cme_tracker", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_seeds_a_realistic_year_prints_logins_and_is_safe_to_rerun(
    tmp_path: Path, fresh_database_url: str
) -> None:
    first = _run_demo(tmp_path / "instance", fresh_database_url)
    assert first.returncode == 0, first.stderr
    for login in ("admin", "desk", "auditor", "member"):
        assert f"  {login} " in first.stdout
    assert "http://127.0.0.1:5000/" in first.stdout

    settings = Settings.from_environment(
        {"INSTANCE_PATH": tmp_path / "instance", "DATABASE_URL": fresh_database_url}
    )
    database = Database.connect(fresh_database_url, settings.audit_key)
    with database.unit_of_work() as session:
        symposia = session.scalars(select(Symposium).order_by(Symposium.held_on)).all()
        regular = [symposium for symposium in symposia if symposium.kind == "regular"]
        assert [symposium.held_on.month for symposium in regular] == [1, 3, 5, 7, 9, 11]
        for symposium in regular:
            fields = {lecture.field for lecture in symposium.lectures}
            assert 6 <= len(symposium.lectures) <= 8
            assert "discourse" in fields
        assert {lecture.field for lecture in session.scalars(select(Lecture))} == {
            "clinical",
            "basic_medicine",
            "pharmaceuticals",
            "dentistry",
            "discourse",
        }
        members = session.scalars(select(Member)).all()
        assert 280 <= len(members) <= 320
        assert any(member.efn for member in members)
        assert {member.profession for member in members} >= {"physician", "dentist"}
        assert all(member.family_name_kana for member in members if member.country == "JP")
        attendances = session.scalars(select(Attendance)).all()
        assert any(attendance.check_out_at is None for attendance in attendances)
        counted = session.scalar(select(func.count(Attendance.id)))
        events = verify(session).events_checked
    second = _run_demo(tmp_path / "instance", fresh_database_url)
    assert second.returncode == 0, second.stderr
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count(Attendance.id))) == counted
        report = verify(session)
        assert report.intact
    database.engine.dispose()
    assert report.events_checked >= events


@pytest.mark.parametrize("foreign", ["member", "user"])
def test_demo_refuses_a_database_holding_data_that_is_not_the_demo_s(
    tmp_path: Path, fresh_database_url: str, foreign: str
) -> None:
    database = Database.connect(fresh_database_url, "k" * 32)
    upgrade(database.engine)
    with database.unit_of_work() as session:
        if foreign == "member":
            make_member(session, member_no="900001")
        else:
            session.add(User(login="office", password_hash="$argon2id$not-a-real-hash"))
    refused = _run_demo(tmp_path / "instance", fresh_database_url)
    assert refused.returncode == 1
    assert "not the demo's" in refused.stderr
    assert ("member 900001" if foreign == "member" else "user office") in refused.stderr
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count(Member.id))) == (1 if foreign == "member" else 0)
        assert session.scalar(select(func.count(User.id))) == (0 if foreign == "member" else 1)
    database.engine.dispose()
