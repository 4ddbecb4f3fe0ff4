"""Outgoing mail: delivered to a real SMTP server (or the outbox folder), in the recipient's language, retried
with back-off when the server is away, failed at once when it refuses, and never kept with its body."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.models import Job, JobStatus
from cme_tracker.jobs.service import run_queued_jobs
from cme_tracker.mail.models import MailStatus, OutgoingMail
from cme_tracker.mail.service import MAX_ATTEMPTS, deliver_due, queue_mail
from cme_tracker.vocabulary import Role
from tests.conftest import TEST_AUDIT_KEY, CommandLine
from tests.integration.web_login import log_in, log_out, make_login
from tests.smtp_server import REFUSED_DOMAIN, Inbox, free_port

SITE = "https://cme.imsj.example"


def _settings(tmp_path: Path, mail_url: str | None) -> Settings:
    return Settings(
        instance_path=tmp_path,
        database_url="",
        secret_key="test",
        audit_key=TEST_AUDIT_KEY,
        public_url=SITE,
        mail_url=mail_url,
        mail_from="IMSJ CME <cme@imsj.example>",
    )


def _queue(db: Database, recipient: str, language: str = "en") -> int:
    with db.unit_of_work() as session:
        mail = queue_mail(
            session,
            kind="check",
            recipient=recipient,
            language=language,
            context={"operator": "office"},
            site_url=SITE,
            actor="test",
        )
        return mail.id


def _row(db: Database, mail_id: int) -> OutgoingMail:
    with db.sessions() as session:
        row = session.get(OutgoingMail, mail_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_message_reaches_the_smtp_server_as_text_and_html_in_japanese(
    db: Database, tmp_path: Path, smtp_server: Inbox
) -> None:
    mail_id = _queue(db, "hanako@example.jp", "ja")
    report = deliver_due(db, _settings(tmp_path, smtp_server.url))
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [message] = smtp_server.to("hanako@example.jp")
    assert message["From"] == "IMSJ CME <cme@imsj.example>"
    assert message["Subject"] == "cme-tracker からのテストメッセージ"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "国際医学会" in text.get_content() and SITE in text.get_content()
    assert f'<a href="{SITE}">' in html.get_content()
    row = _row(db, mail_id)
    assert row.status is MailStatus.SENT and row.sent_at is not None and row.attempts == 1
    assert row.body_text is None and row.body_html is None, "the body is not kept after delivery"
    assert row.message_id == message["Message-ID"]


def test_without_a_mail_url_the_message_is_written_whole_to_the_outbox(db: Database, tmp_path: Path) -> None:
    mail_id = _queue(db, "max.mueller@example.de")
    deliver_due(db, _settings(tmp_path, None))
    [written] = (tmp_path / "outbox").iterdir()
    assert written.name == f"{mail_id:08d}-check.eml"
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["To"] == "max.mueller@example.de"
    assert message["Subject"] == "Test message from cme-tracker"
    assert _row(db, mail_id).status is MailStatus.SENT


def test_a_server_that_is_away_gets_the_message_again_later_with_growing_waits(
    db: Database, tmp_path: Path
) -> None:
    mail_id = _queue(db, "away@example.jp")
    settings = _settings(tmp_path, f"smtp://127.0.0.1:{free_port()}")
    waits = []
    for _attempt in range(MAX_ATTEMPTS - 1):
        before = utcnow()
        assert deliver_due(db, settings).retrying == 1
        row = _row(db, mail_id)
        assert row.status is MailStatus.QUEUED and row.last_error
        waits.append(round((row.next_attempt_at - before).total_seconds() / 60))
        assert deliver_due(db, settings).retrying == 0, "not due again before its wait is over"
        with db.unit_of_work() as session:
            session.execute(update(OutgoingMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert waits == [1, 2, 4, 8, 16]
    assert deliver_due(db, settings).failed == 1
    row = _row(db, mail_id)
    assert row.status is MailStatus.FAILED and row.attempts == MAX_ATTEMPTS and row.body_text is None


def test_a_refused_recipient_fails_at_once_with_the_servers_answer(
    db: Database, tmp_path: Path, smtp_server: Inbox
) -> None:
    mail_id = _queue(db, f"nobody@{REFUSED_DOMAIN}")
    assert deliver_due(db, _settings(tmp_path, smtp_server.url)).failed == 1
    row = _row(db, mail_id)
    assert row.status is MailStatus.FAILED and row.attempts == 1
    assert row.last_error is not None and "550" in row.last_error
    assert smtp_server.messages == []


def test_mail_queued_in_a_transaction_that_rolls_back_is_never_sent(
    db: Database, tmp_path: Path, smtp_server: Inbox
) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        queue_mail(
            session,
            kind="check",
            recipient="ghost@example.jp",
            language="en",
            context={"operator": "office"},
            site_url=SITE,
            actor="test",
        )
        raise RuntimeError("the change behind the message failed")
    assert deliver_due(db, _settings(tmp_path, smtp_server.url)).sent == 0
    assert smtp_server.messages == []


def test_a_worker_queues_and_runs_the_delivery_job_when_mail_is_due(
    db: Database, tmp_path: Path, smtp_server: Inbox
) -> None:
    _queue(db, "due@example.jp")
    assert run_queued_jobs(db, _settings(tmp_path, smtp_server.url), JOB_KINDS) == 1
    assert len(smtp_server.to("due@example.jp")) == 1
    with db.sessions() as session:
        job = session.scalar(select(Job).where(Job.kind == "mail.deliver"))
        assert (
            job is not None
            and job.status is JobStatus.SUCCEEDED
            and job.summary == "1 sent, 0 to retry, 0 failed"
        )
    assert run_queued_jobs(db, _settings(tmp_path, smtp_server.url), JOB_KINDS) == 0, "nothing due: no job"


def test_mail_test_command_sends_through_the_configured_server(
    cli: CommandLine, smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CME_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CME_MAIL_URL", smtp_server.url)
    result = cli("mail", "test", "--to", "office@imsj.example")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"sent to office@imsj.example via {smtp_server.url}\n"
    assert len(smtp_server.to("office@imsj.example")) == 1
    refused = cli("mail", "test", "--to", f"x@{REFUSED_DOMAIN}")
    assert refused.exit_code == 1 and "550" in refused.stderr


def test_the_office_sees_failed_mail_with_the_servers_answer_and_others_may_not_look(
    db: Database, session: Session, client: FlaskClient, tmp_path: Path, smtp_server: Inbox
) -> None:
    _queue(db, f"nobody@{REFUSED_DOMAIN}")
    _queue(db, "hanako@example.jp", "ja")
    deliver_due(db, _settings(tmp_path, smtp_server.url))
    _queue(db, "later@example.jp")
    make_login(session, "office", Role.ADMIN)
    make_login(session, "desk", Role.DESK)
    log_in(client, "desk")
    assert client.get("/admin/mail").status_code == 403
    log_out(client)
    log_in(client, "office")
    client.get("/language/en")
    page = client.get("/admin/mail").get_data(as_text=True)
    assert f"nobody@{REFUSED_DOMAIN}" in page and "550 5.1.1 no such mailbox" in page
    assert "Sent (1)" in page and "Failed (1)" in page and "Waiting (1)" in page
    failed_only = client.get("/admin/mail?status=failed").get_data(as_text=True)
    assert f"nobody@{REFUSED_DOMAIN}" in failed_only and "hanako@example.jp" not in failed_only
    assert client.get("/admin/mail?status=lost").status_code == 400
    assert client.get("/admin/mail?before=99999999999999999999").status_code == 400
