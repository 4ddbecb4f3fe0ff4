"""Killing bulk transcript issuance at any moment and running it again ends complete: one valid transcript
per credited member, every file verifies, no stray file."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.pdfcheck import inspect_signed_pdf
from cme_tracker.program.models import Lecture
from tests.conftest import TEST_AUDIT_KEY, migrated_database
from tests.factories import attend, make_member
from tests.integration.transcript_data import transcript_years

EXTRA_MEMBERS = 40


def test_killed_runs_then_a_full_run_leave_exactly_one_valid_transcript_each(
    fresh_database_url: str, tmp_path: Path
) -> None:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        years = transcript_years(session)
        lecture = session.scalars(select(Lecture).where(Lecture.code == "2026-04-L1")).one()
        for index in range(EXTRA_MEMBERS):
            attend(
                session, make_member(session, family_name_romaji=f"Crash{index}"), lecture, "09:58", "11:00"
            )
        eligible = len(years.credited_in_2026) + EXTRA_MEMBERS
    instance = tmp_path / "instance"
    environment = {
        **os.environ,
        "CME_DATABASE_URL": fresh_database_url,
        "CME_INSTANCE_PATH": str(instance),
        "CME_AUDIT_KEY": TEST_AUDIT_KEY,
    }
    command = [sys.executable, "-m", "cme_tracker", "transcripts", "issue", "--year", "2026", "--jobs", "2"]
    chance = random.Random(20261125)
    for _ in range(3):
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(chance.uniform(1.0, 5.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)

    assert finished.returncode == 0, finished.stderr
    with database.sessions() as session:
        transcripts = session.scalars(select(Certificate)).all()
        per_member = session.execute(
            select(Certificate.member_id, func.count()).group_by(Certificate.member_id)
        ).all()
    assert len(transcripts) == eligible
    assert all(count == 1 for _, count in per_member)
    assert all(t.kind == "transcript" and t.year == 2026 and t.year_basis == "calendar" for t in transcripts)
    folder = instance / "certificates" / "transcript" / "2026-calendar"
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        Path(t.file_path).name for t in transcripts
    )
    identity = load_signing_identity(instance)
    for transcript in transcripts:
        data = (instance / transcript.file_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == transcript.sha256
        report = inspect_signed_pdf(data, identity)
        assert report.ok, (transcript.serial, report.message)
    database.engine.dispose()
