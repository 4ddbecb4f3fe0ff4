"""Card sheets of many members are printed by a job: the page follows it and offers the PDF, which a worker
wrote privately into the instance folder; a few cards still come at once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import Database
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.members.card_jobs import SHEETS_FOLDER
from cme_tracker.vocabulary import Role
from tests.factories import make_member
from tests.integration.card_reading import pdf_page_count, pdf_text
from tests.integration.web_login import csrf_token, log_in, make_login

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def app(app: Flask, db: Database) -> Flask:
    """The app, with a worker that runs the queued jobs at once, in the test's transaction."""
    app.config["JOB_LAUNCHER"] = lambda settings: run_queued_jobs(db, settings, JOB_KINDS)
    return app


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    make_login(session, "office", Role.ADMIN)
    log_in(client, "office")
    return client


def test_a_large_selection_is_printed_by_a_job_whose_page_offers_the_pdf(
    admin: FlaskClient, session: Session, tmp_path: Path
) -> None:
    numbers = [f"J{number:03d}" for number in range(25, 0, -1)]
    for number in numbers:
        make_member(session, member_no=number)
    session.commit()
    response = admin.post(
        "/admin/cards",
        data={"csrf_token": csrf_token(admin, "/"), "scope": "selected", "numbers": " ".join(numbers)},
        headers=ENGLISH,
    )
    assert response.status_code == 303
    job = session.scalars(select(Job).where(Job.kind == "cards.sheet")).one()
    assert response.headers["Location"] == f"/admin/jobs/{job.id}"
    session.refresh(job)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert (job.done, job.total) == (25, 25)

    page = admin.get(f"/admin/jobs/{job.id}", headers=ENGLISH).get_data(as_text=True)
    assert "Printing card sheets" in page
    assert f'href="/admin/cards/{job.id}.pdf"' in page

    download = admin.get(f"/admin/cards/{job.id}.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Cache-Control"] == "private, no-store"
    pdf = download.data
    download.close()
    assert pdf_page_count(pdf) == 3
    text = pdf_text(pdf, layout=True)
    assert text.index("J025") < text.index("J001")
    assert all(number in text for number in numbers)

    written = list((tmp_path / "instance" / SHEETS_FOLDER / str(job.id)).iterdir())
    assert [path.name for path in written] == ["imsj-member-cards-25.pdf"]
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o600
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target == f"job:{job.id}").order_by(AuditEvent.sequence)
    ).all()
    assert actions == ["job.submit", "job.succeeded", "cards.sheet_download"]


def test_a_sheet_not_written_yet_is_not_offered(app: Flask, admin: FlaskClient, session: Session) -> None:
    app.config["JOB_LAUNCHER"] = lambda _settings: None
    for number in range(21):
        make_member(session, member_no=f"K{number:03d}")
    session.commit()
    response = admin.post("/admin/cards", data={"csrf_token": csrf_token(admin, "/"), "scope": "all"})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = admin.get(f"/admin/jobs/{job_id}", headers=ENGLISH).get_data(as_text=True)
    assert "data-job-succeeded hidden" in page
    assert admin.get(f"/admin/cards/{job_id}.pdf").status_code == 404
    assert admin.get("/admin/cards/999999.pdf").status_code == 404


def test_a_few_cards_still_come_at_once(admin: FlaskClient, session: Session) -> None:
    for number in range(20):
        make_member(session, member_no=f"L{number:03d}")
    session.commit()
    response = admin.post("/admin/cards", data={"csrf_token": csrf_token(admin, "/"), "scope": "all"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert pdf_page_count(response.data) == 2
    assert session.scalars(select(Job)).all() == []


@pytest.mark.parametrize("role", [Role.DESK, Role.AUDITOR, Role.MEMBER])
def test_other_roles_cannot_download_a_card_sheet(
    app: Flask, admin: FlaskClient, session: Session, role: Role
) -> None:
    for number in range(21):
        make_member(session, member_no=f"M{number:03d}")
    session.commit()
    response = admin.post("/admin/cards", data={"csrf_token": csrf_token(admin, "/"), "scope": "all"})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    other = app.test_client()
    make_login(session, "someone", role, member=make_member(session) if role is Role.MEMBER else None)
    log_in(other, "someone")
    assert other.get(f"/admin/cards/{job_id}.pdf").status_code == 403
    assert other.get(f"/admin/jobs/{job_id}").status_code == 403
