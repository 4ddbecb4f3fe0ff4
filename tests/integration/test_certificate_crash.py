"""Killing bulk issuance at any moment and running it again ends complete: one valid file each, no strays."""

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
from tests.conftest import TEST_AUDIT_KEY, migrated_database
from tests.factories import attend, make_member
from tests.integration.certificate_data import certificate_year

EXTRA_MEMBERS = 40


def test_killed_runs_then_a_full_run_leave_exactly_one_valid_certificate_each(
    fresh_database_url: str, tmp_path: Path
) -> None:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        year = certificate_year(session)
        clinical = year.symposium.lectures[0]
        for index in range(EXTRA_MEMBERS):
            member = make_member(session, family_name_romaji=f"Crash{index}")
            attend(session, member, clinical, "09:28", "10:30")
        eligible = len(year.eligible) + EXTRA_MEMBERS
    instance = tmp_path / "instance"
    environment = {
        **os.environ,
        "CME_DATABASE_URL": fresh_database_url,
        "CME_INSTANCE_PATH": str(instance),
        "CME_AUDIT_KEY": TEST_AUDIT_KEY,
    }
    command = [
        sys.executable,
        "-m",
        "cme_tracker",
        "certificates",
        "issue",
        "--symposium",
        "2026-05",
        "--jobs",
        "2",
    ]
    chance = random.Random(20261125)
    for _ in range(4):
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
        certificates = session.scalars(select(Certificate)).all()
        per_member = session.execute(
            select(Certificate.member_id, func.count()).group_by(Certificate.member_id)
        ).all()
    assert len(certificates) == eligible
    assert all(count == 1 for _, count in per_member)
    folder = instance / "certificates" / "attendance" / "2026-05"
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        Path(certificate.file_path).name for certificate in certificates
    )
    identity = load_signing_identity(instance)
    for certificate in certificates:
        data = (instance / certificate.file_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == certificate.sha256
        report = inspect_signed_pdf(data, identity)
        assert report.ok, (certificate.serial, report.message)
    database.engine.dispose()
