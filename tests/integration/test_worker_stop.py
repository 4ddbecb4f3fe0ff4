"""A worker asked to stop (SIGTERM from systemd, Ctrl-C) finishes its unit, hands the job back, and exits; the
next worker finishes the job without doing anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.db import Database
from cme_tracker.documents.models import Certificate
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import run_queued_jobs, submit_job
from cme_tracker.jobs.stopping import STOP
from tests.conftest import TEST_AUDIT_KEY, DatabaseFactory, migrated_database
from tests.integration.certificate_data import certificate_year
from tests.integration.test_mail import _settings


@pytest.fixture
def stop_requested() -> Iterator[None]:
    STOP.set()
    yield
    STOP.clear()


def _queue(db: Database) -> int:
    with db.unit_of_work() as session:
        certificate_year(session)
        return submit_job(
            session,
            JOB_KINDS,
            kind=ISSUE_CERTIFICATES,
            parameters={"symposium_code": "2026-05"},
            actor="user:admin",
        ).id


def test_a_stopping_worker_hands_its_job_back_and_the_next_one_finishes_it(
    db: Database, tmp_path: Path, stop_requested: None
) -> None:
    job_id = _queue(db)
    settings = _settings(tmp_path / "instance", None)
    assert run_queued_jobs(db, settings, JOB_KINDS) == 0, "stopped before the first unit's end"
    with db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status is JobStatus.QUEUED and job.heartbeat_at is None
    STOP.clear()
    assert run_queued_jobs(db, settings, JOB_KINDS) == 1
    with db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status is JobStatus.SUCCEEDED and job.summary.startswith("4 issued")
        assert session.scalar(select(func.count()).select_from(Certificate)) == 4


def test_a_waiting_worker_exits_at_once_on_sigterm(database_factory: DatabaseFactory, tmp_path: Path) -> None:
    url = database_factory.create("worker")
    migrated_database(url).engine.dispose()
    environment = {
        **os.environ,
        "CME_INSTANCE_PATH": str(tmp_path / "instance"),
        "CME_DATABASE_URL": url,
        "CME_AUDIT_KEY": TEST_AUDIT_KEY,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "cme_tracker", "worker", "--processes", "1"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    try:
        lines = iter(worker.stderr.readline, "")
        assert any("worker waiting for jobs" in line for line in lines)
        time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert "worker stopped" in worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stderr.close()
        if worker.stdout is not None:
            worker.stdout.close()
