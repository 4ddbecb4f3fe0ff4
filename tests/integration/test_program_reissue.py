"""After a program change, the documents it leaves behind: named before the change is saved, listed after it,
and reissued by a job that does each only once, however often it runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from cme_tracker.certificates.issue import issue_attendance_certificates
from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.program_office import editing
from cme_tracker.program_office.editing import LectureValues, parse_lecture
from cme_tracker.program_office.impact import affected_documents, preview
from cme_tracker.program_office.reissue import REISSUE_DOCUMENTS, reissue_runner, submit_reissue
from cme_tracker.transcripts.issue import issue_transcripts
from cme_tracker.vocabulary import YearBasis
from tests.conftest import CommandLine
from tests.factories import attend, make_lecture, make_member, make_symposium

DAY = date(2026, 5, 16)
URL = "https://cme.example.org"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    monkeypatch.setenv("CME_PUBLIC_URL", URL)
    return folder


def _issued_day(db: Database, instance: Path) -> None:
    with db.sessions() as session, session.begin():
        symposium = make_symposium(session, "2026-05", DAY)
        first = make_lecture(session, symposium, "10:00", "11:00")
        second = make_lecture(session, symposium, "13:00", "14:00")
        attend(session, make_member(session, member_no="P00001"), first, "10:00", "11:00")
        attend(session, make_member(session, member_no="P00002"), second, "13:00", "14:00")
    setup = DocumentSetup(instance, public_url=URL)
    issue_attendance_certificates(db, setup, "2026-05", actor="test")
    issue_transcripts(db, setup, 2026, YearBasis.CALENDAR, actor="test")


def _valid(db: Database) -> dict[tuple[str, CertificateKind], Certificate]:
    with db.sessions() as session:
        rows = session.scalars(select(Certificate).where(Certificate.status == CertificateStatus.VALID)).all()
        return {(row.member.member_no, CertificateKind(row.kind)): row for row in rows}


def test_an_earlier_end_names_the_documents_it_changes_and_the_job_reissues_each_once(
    db: Database, cli: CommandLine, instance: Path
) -> None:
    _issued_day(db, instance)
    before = _valid(db)
    assert len(before) == 4
    with db.sessions() as session:
        lecture = editing.find_lecture(session, "2026-05-L1")
        symposium = lecture.symposium
        values = parse_lecture({"ends_at": "10:45"}, LectureValues.of(lecture))
        impact = preview(
            session,
            KINDS,
            symposium,
            {DAY},
            lambda: editing.write_lecture(session, lecture, values),
            lecture_code="2026-05-L1",
        )
    named = {
        (document.member_no, document.kind, document.reason, document.covers_lecture)
        for document in impact.documents
    }
    assert named == {
        ("P00001", CertificateKind.ATTENDANCE, "changed", True),
        ("P00001", CertificateKind.TRANSCRIPT, "changed", True),
    }
    assert _valid(db).keys() == before.keys()

    with db.sessions() as session, session.begin():
        lecture = editing.find_lecture(session, "2026-05-L1")
        editing.update_lecture(session, lecture, values, actor="user:office", expected_version=1)
    with db.sessions() as session, session.begin():
        symposium = editing.find_symposium(session, "2026-05")
        left = affected_documents(session, KINDS, symposium, {DAY}, lecture_code="2026-05-L1")
        assert sorted(document.serial for document in left) == sorted(
            document.serial for document in impact.documents
        )
        job_id = submit_reissue(
            session, JOB_KINDS, [document.serial for document in left], actor="user:office", reason="test"
        ).id

    result = cli("worker", "--once", "--processes", "1")

    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.kind, job.status, job.summary) == (REISSUE_DOCUMENTS, JobStatus.SUCCEEDED, "2 reissued")
    after = _valid(db)
    certificate = after[("P00001", CertificateKind.ATTENDANCE)]
    assert certificate.content["replaces"] == before[("P00001", CertificateKind.ATTENDANCE)].serial
    assert certificate.content["lectures"][0]["minutes"] == 45
    assert (
        after[("P00002", CertificateKind.ATTENDANCE)].serial
        == before[("P00002", CertificateKind.ATTENDANCE)].serial
    )

    again = reissue_runner(KINDS)(
        db, Settings.from_environment(), job_id, dict(job.parameters), "user:office", 1
    )
    assert again == ("0 reissued, 2 already reissued or revoked", [])
    with db.sessions() as session:
        symposium = editing.find_symposium(session, "2026-05")
        assert affected_documents(session, KINDS, symposium, {DAY}) == ()
