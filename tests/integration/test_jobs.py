"""Jobs: queued once, run by `cme-tracker worker`, progress and outcome in the row, dead workers replaced."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cme_tracker.audit import chain
from cme_tracker.audit.models import AuditEvent
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.documents.models import Certificate
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.store import EXPORT_TRANSCRIPTS, ExportRequest
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import claim_next_job, launch_worker, submit_job
from cme_tracker.jobs.slots import SLOTS_FOLDER, WorkerSlot
from cme_tracker.vocabulary import YearBasis
from tests.conftest import TEST_AUDIT_KEY, CommandLine, migrated_database
from tests.integration.certificate_data import certificate_year


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    return folder


def queue(db: Database, **parameters: str) -> int:
    with db.sessions() as session, session.begin():
        return submit_job(
            session, JOB_KINDS, kind=ISSUE_CERTIFICATES, parameters=parameters, actor="user:admin"
        ).id


def job(db: Database, job_id: int) -> Job:
    with db.sessions() as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def test_a_double_click_queues_the_work_once(db: Database) -> None:
    first = queue(db, symposium_code="2026-05")
    assert queue(db, symposium_code="2026-05") == first
    assert queue(db, symposium_code="2026-07") != first


def test_the_worker_runs_a_queued_job_and_records_progress_and_outcome(
    db: Database, cli: CommandLine, instance: Path
) -> None:
    with db.sessions() as session, session.begin():
        certificate_year(session)
    job_id = queue(db, symposium_code="2026-05")

    result = cli("worker", "--once", "--processes", "1")

    assert result.exit_code == 0, result.output
    finished = job(db, job_id)
    assert finished.status == JobStatus.SUCCEEDED
    assert (finished.done, finished.total) == (5, 5)
    assert finished.summary == "4 issued, 1 without credited attendance"
    with db.sessions() as session:
        assert len(session.scalars(select(Certificate)).all()) == 4
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target == f"job:{job_id}")
            .order_by(AuditEvent.sequence)
        ).all()
    assert actions == ["job.submit", "job.succeeded"]


def test_a_job_that_cannot_be_done_fails_with_the_reason(
    db: Database, cli: CommandLine, instance: Path
) -> None:
    job_id = queue(db, symposium_code="1999-01")
    cli("worker", "--once", "--processes", "1")
    failed = job(db, job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.summary == "no symposium with code 1999-01"


def test_a_job_whose_worker_died_is_taken_over(db: Database) -> None:
    job_id = queue(db, symposium_code="2026-05")
    assert claim_next_job(db) == job_id
    assert claim_next_job(db) is None  # running, with a fresh heartbeat
    with db.sessions() as session, session.begin():
        running = session.get(Job, job_id)
        assert running is not None
        running.heartbeat_at = utcnow() - timedelta(minutes=10)
    assert claim_next_job(db) == job_id


def test_the_web_launches_a_detached_worker_that_finishes_the_job(
    fresh_database_url: str, tmp_path: Path
) -> None:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        certificate_year(session)
        job_id = submit_job(
            session,
            JOB_KINDS,
            kind=ISSUE_CERTIFICATES,
            parameters={"symposium_code": "2026-05"},
            actor="user:admin",
        ).id
    settings = Settings.from_environment(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": fresh_database_url,
            "AUDIT_KEY": TEST_AUDIT_KEY,
            "AUDIT_ANCHOR": tmp_path / "anchor/audit_anchor.json",
        }
    )

    launch_worker(settings)

    deadline = time.monotonic() + 120
    while (
        job(database, job_id).status in (JobStatus.QUEUED, JobStatus.RUNNING) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert job(database, job_id).status == JobStatus.SUCCEEDED, (
        tmp_path / "instance/logs/worker.log"
    ).read_text()
    database.engine.dispose()
    log_file = tmp_path / "instance/logs/worker.log"
    finished = f"job {job_id} (certificates.issue) finished: 4 issued"
    while finished not in log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)  # the worker logs the end just after it records it
    lines = log_file.read_text().splitlines()
    assert any(finished in line for line in lines), lines
    assert all(" INFO " in line or " WARNING " in line for line in lines), "only log lines, no stray output"
    anchor = tmp_path / "anchor/audit_anchor.json"  # the web's anchor, not one of the worker's own
    with database.unit_of_work() as session:
        head = chain.head(session)[0]
    while not (anchor.exists() and json.loads(anchor.read_text())["sequence"] == head):
        assert time.monotonic() < deadline, "the worker did not advance the web's audit anchor"
        time.sleep(0.2)
    database.engine.dispose()


def test_eight_export_requests_start_at_most_the_configured_workers_and_all_finish(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """CME_JOB_WORKERS caps the web's workers; the jobs queued beyond it are run by the workers running."""
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        certificate_year(session)
    settings = Settings.from_environment(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": fresh_database_url,
            "AUDIT_KEY": TEST_AUDIT_KEY,
            "JOB_WORKERS": 2,
        }
    )
    job_ids, launched = [], []
    for year in (2025, 2026):
        for basis in ("calendar", "fiscal"):
            for export_format in ("csv", "json"):
                with database.unit_of_work() as session:
                    request = ExportRequest(year, YearBasis(basis), FORMATS[export_format], "user:auditor")
                    job_ids.append(
                        submit_job(
                            session,
                            JOB_KINDS,
                            kind=EXPORT_TRANSCRIPTS,
                            parameters=request.parameters(),
                            actor="user:auditor",
                        ).id
                    )
                launched.append(launch_worker(settings))
    assert 1 <= sum(launched) <= 2, launched
    assert len(list((tmp_path / "instance" / SLOTS_FOLDER).iterdir())) <= 2

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and any(
        job(database, job_id).status in (JobStatus.QUEUED, JobStatus.RUNNING) for job_id in job_ids
    ):
        time.sleep(0.5)
    log_file = tmp_path / "instance/logs/worker.log"
    assert [job(database, job_id).status for job_id in job_ids] == [JobStatus.SUCCEEDED] * 8, (
        log_file.read_text()
    )
    database.engine.dispose()


def test_a_worker_finds_no_free_slot_and_leaves_the_jobs_to_the_running_ones(
    db: Database, cli: CommandLine, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CME_JOB_WORKERS", "1")
    job_id = queue(db, symposium_code="2026-05")
    held = WorkerSlot.take(Settings.from_environment())
    assert held is not None
    with held:
        assert cli("worker", "--once", "--processes", "1").exit_code == 0
        assert job(db, job_id).status == JobStatus.QUEUED
    again = WorkerSlot.take(Settings.from_environment())
    assert again is not None  # freed
    again.release()
