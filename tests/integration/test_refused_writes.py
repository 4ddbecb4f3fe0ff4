"""A disk that refuses a write while documents are issued ends the run with a clear error, not a traceback:
the CLI says which file and why and exits 1, a job fails with the reason in words, the subject's lock is
released, no half-written file is left, and once the disk is fixed a rerun issues everything.

The tests run as root, for whom permissions do not fail a write; so a folder is replaced by a regular file
(a write below it fails for root too, with ENOTDIR), and a full disk (ENOSPC) is simulated where it shows up,
at the flush of the file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cme_tracker import create_app
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.db import Database
from cme_tracker.documents import storage
from cme_tracker.documents.models import Certificate
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import submit_job
from cme_tracker.jobs.web import shown_errors, shown_summary
from tests.conftest import TEST_AUDIT_KEY, CommandLine
from tests.integration.certificate_data import certificate_year

ELIGIBLE = 4
_fsync = os.fsync


def _full_for_documents(descriptor: int) -> None:
    """``os.fsync`` on a disk that is full by the time a document's PDF is flushed."""
    if os.readlink(f"/proc/self/fd/{descriptor}").endswith(storage.PARTIAL_SUFFIX):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _fsync(descriptor)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    with db.sessions() as session, session.begin():
        certificate_year(session)
    return folder


def _issued(db: Database) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Certificate)) or 0


def _files(instance: Path) -> list[str]:
    folder = instance / "certificates"
    return sorted(path.name for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []


def test_issuing_into_a_file_where_the_folder_belongs_says_what_and_exits_1(
    cli: CommandLine, db: Database, instance: Path
) -> None:
    (instance / "certificates").parent.mkdir(parents=True, exist_ok=True)
    (instance / "certificates").write_text("not a folder")

    result = cli("certificates", "issue", "--symposium", "2026-05")

    assert result.exit_code == 1
    blocked = instance / "certificates"
    assert f"error: cannot write {blocked}: a file is where a folder belongs" in result.output
    assert "Traceback" not in result.output
    assert _issued(db) == 0

    (instance / "certificates").unlink()  # the operator fixes the folder; the lock was released
    again = cli("certificates", "issue", "--symposium", "2026-05")
    assert again.exit_code == 0, again.output
    assert _issued(db) == ELIGIBLE
    assert len(_files(instance)) == ELIGIBLE


def test_a_full_disk_leaves_no_half_written_file_and_a_rerun_completes(
    cli: CommandLine, db: Database, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.os, "fsync", _full_for_documents)
    result = cli("certificates", "issue", "--symposium", "2026-05")
    monkeypatch.undo()

    assert result.exit_code == 1
    assert f"error: cannot write {instance / 'certificates' / 'attendance' / '2026-05'}/A26-" in result.output
    assert result.output.rstrip().endswith(".pdf: No space left on device")
    assert _files(instance) == [], "no partial file is left behind"
    assert _issued(db) == 0

    again = cli("certificates", "issue", "--symposium", "2026-05")
    assert again.exit_code == 0, again.output
    assert _issued(db) == ELIGIBLE


def test_an_issuing_job_on_a_full_disk_fails_with_the_reason_in_words(
    cli: CommandLine, db: Database, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.sessions() as session, session.begin():
        job_id = submit_job(
            session, JOB_KINDS, kind=ISSUE_CERTIFICATES, parameters={"symposium_code": "2026-05"}, actor="t"
        ).id

    monkeypatch.setattr(storage.os, "fsync", _full_for_documents)
    result = cli("worker", "--once", "--processes", "1")
    monkeypatch.undo()

    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.FAILED
        assert job.errors == [
            {"error": "storage_failed", "message": job.summary, "server": True, "errno": "ENOSPC"}
        ]
        app = create_app(
            {"TESTING": True, "DATABASE": db, "INSTANCE_PATH": instance, "AUDIT_KEY": TEST_AUDIT_KEY}
        )
        with app.test_request_context(headers={"Accept-Language": "en"}):
            assert shown_summary(job) == (
                "The server could not write a file: the disk is full. Nothing half-written was kept. Ask the "
                "administrator to free space or fix the instance folder (the server's log names the file), "
                "then run it again."
            )
            assert shown_errors(job)[0]["message"] == shown_summary(job)
    assert str(instance) not in str(job.errors) + (job.summary or "")
    assert _files(instance) == []
