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

from cme_tracker.db import Database
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.pdfcheck import inspect_signed_pdf
from tests.conftest import TEST_AUDIT_KEY, migrated_database
from tests.factories import attend, make_member
from tests.integration.certificate_data import certificate_year

EXTRA_MEMBERS = 40
POOL_MEMBERS = 8
"""With the fixture's members, batches of two for each pool worker when the first certificate is written."""


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
    _assert_one_valid_certificate_each(database, instance, eligible)
    database.engine.dispose()


def _assert_one_valid_certificate_each(database: Database, instance: Path, eligible: int) -> None:
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


def _pool_workers(pid: int) -> list[int]:
    """The spawned pool workers among the children of ``pid`` (the resource tracker is a child too)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_a_killed_pool_worker_ends_the_run_with_an_error_and_a_rerun_completes(
    fresh_database_url: str, tmp_path: Path
) -> None:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        year = certificate_year(session)
        clinical = year.symposium.lectures[0]
        for index in range(POOL_MEMBERS):
            attend(
                session, make_member(session, family_name_romaji=f"Pool{index}"), clinical, "09:28", "10:30"
            )
        eligible = len(year.eligible) + POOL_MEMBERS
    instance = tmp_path / "instance"
    environment = {
        **os.environ,
        "CME_DATABASE_URL": fresh_database_url,
        "CME_INSTANCE_PATH": str(instance),
        "CME_AUDIT_KEY": TEST_AUDIT_KEY,
    }
    command = [sys.executable, "-m", "cme_tracker", "certificates", "issue", "--symposium", "2026-05"]
    process = subprocess.Popen(
        [*command, "--jobs", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        folder = instance / "certificates" / "attendance" / "2026-05"
        deadline = time.monotonic() + 60
        while not (folder.is_dir() and any(folder.glob("*.pdf"))) and time.monotonic() < deadline:
            time.sleep(0.02)  # the workers are warm and each holds a batch
        workers = _pool_workers(process.pid)
        assert workers, "the run started no pool worker"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 1
    assert "a rendering process stopped" in stderr, stderr

    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)

    assert finished.returncode == 0, finished.stderr  # the lock was released
    _assert_one_valid_certificate_each(database, instance, eligible)
    database.engine.dispose()
