"""Queueing mail in the caller's transaction, and delivering what is due, one message at a time.

A message is queued by the service that decides to send it, in its transaction: it is sent if and only if the
change behind it commits. A worker delivers it later (the ``mail.deliver`` job): each message is claimed by a
compare-and-set on its row, handed to the server, and then marked sent, in short transactions of their own, so
that a crash never loses a message. A message handed over just before a crash is sent again (at least once).
A temporary failure (server down, 4xx) is retried after 1, 2, 4, 8 and 16 minutes; a refusal (5xx, a bounced
recipient) or a sixth failure marks the message failed, for the office to see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import func, or_, select, true, update
from sqlalchemy.orm import Session

from cme_tracker.config import Settings
from cme_tracker.db import Database, utcnow
from cme_tracker.mail.compose import compose
from cme_tracker.mail.models import MailStatus, OutgoingMail
from cme_tracker.mail.transport import MailServer, PermanentFailure, TemporaryFailure, write_to_outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
CLAIM_EXPIRES = timedelta(minutes=10)
"""A message claimed longer ago than this lost its worker, and is due again."""
OUTBOX = "outbox"
DELIVER_MAIL = "mail.deliver"
"""The job kind that delivers what is due (cme_tracker/job_kinds.py)."""


def queue_mail(
    session: Session,
    *,
    kind: str,
    recipient: str,
    language: str,
    context: dict[str, Any],
    site_url: str,
    actor: str,
) -> OutgoingMail:
    """Compose ``kind`` for ``recipient`` in ``language`` and queue it in the caller's transaction."""
    composed = compose(kind, language, context, site_url=site_url)
    mail = OutgoingMail(
        kind=kind,
        recipient=recipient,
        language=language,
        subject=composed.subject[:300],
        body_text=composed.text,
        body_html=composed.html,
        status=MailStatus.QUEUED,
        next_attempt_at=utcnow(),
        created_by=actor,
    )
    session.add(mail)
    session.flush()
    return mail


def _due(now: datetime) -> Any:
    return or_(
        (OutgoingMail.status == MailStatus.QUEUED) & (OutgoingMail.next_attempt_at <= now),
        (OutgoingMail.status == MailStatus.SENDING) & (OutgoingMail.claimed_at < now - CLAIM_EXPIRES),
    )


def mail_due(database: Database, now: datetime | None = None) -> bool:
    """Whether any message waits for delivery now: the workers then queue a ``mail.deliver`` job."""
    with database.sessions() as session:
        return session.scalar(select(OutgoingMail.id).where(_due(now or utcnow())).limit(1)) is not None


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def deliver_due(
    database: Database, settings: Settings, *, limit: int | None = None, only: int | None = None
) -> DeliveryReport:
    """Deliver every message due now (at most ``limit``; ``only`` the one with that id), to the SMTP server or
    the outbox folder."""
    server = MailServer.from_url(settings.mail_url) if settings.mail_url else None
    report = DeliveryReport()
    while limit is None or report.sent + report.retrying + report.failed < limit:
        claimed = _claim_next(database, only)
        if claimed is None:
            break
        outcome = _deliver(database, settings, server, claimed)
        setattr(report, outcome, getattr(report, outcome) + 1)
    if report.sent or report.retrying or report.failed:
        log.info("mail delivery: %s", report.summary())
    return report


def _claim_next(database: Database, only: int | None) -> int | None:
    now = utcnow()
    with database.unit_of_work() as session:
        candidates = session.scalars(
            select(OutgoingMail.id)
            .where(_due(now), true() if only is None else OutgoingMail.id == only)
            .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
            .limit(8)
        ).all()
        for mail_id in candidates:
            claimed = session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id, _due(now))
                .values(status=MailStatus.SENDING, claimed_at=now, attempts=OutgoingMail.attempts + 1)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return mail_id
    return None


def _message(settings: Settings, mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    domain = Address(addr_spec=_address_of(settings.mail_from)).domain or "localhost"
    message["Message-ID"] = mail.message_id or make_msgid(f"mail{mail.id}", domain=domain)
    message.set_content(mail.body_text or "")
    message.add_alternative(mail.body_html or "", subtype="html")
    return message


def _address_of(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or "cme-tracker@localhost"


def _deliver(database: Database, settings: Settings, server: MailServer | None, mail_id: int) -> str:
    """Hand one claimed message over; record how it went. Returns the report's field to count it in."""
    with database.sessions() as session:
        mail = session.get(OutgoingMail, mail_id)
        assert mail is not None
        message = _message(settings, mail)
        attempts = mail.attempts
    error: str | None = None
    try:
        if server is None:
            path = write_to_outbox(settings.instance_path / OUTBOX, message, f"{mail_id:08d}-{mail.kind}")
            log.info("mail %s to %s written to %s (no CME_MAIL_URL)", mail_id, mail.recipient, path)
        else:
            server.send(message)
            log.info("mail %s (%s) sent to %s via %s", mail_id, mail.kind, mail.recipient, server)
        outcome, status = "sent", MailStatus.SENT
    except PermanentFailure as failure:
        error, outcome, status = str(failure), "failed", MailStatus.FAILED
    except (TemporaryFailure, OSError) as failure:
        error = str(failure)
        outcome, status = (
            ("failed", MailStatus.FAILED) if attempts >= MAX_ATTEMPTS else ("retrying", MailStatus.QUEUED)
        )
    now = utcnow()
    values: dict[str, Any] = {"status": status, "claimed_at": None, "last_error": error}
    values["message_id"] = str(message["Message-ID"])
    if status is MailStatus.SENT:
        values |= {"sent_at": now, "body_text": None, "body_html": None}
    elif status is MailStatus.FAILED:
        values |= {"body_text": None, "body_html": None}
        log.warning(
            "mail %s to %s failed for good after %s attempt(s): %s", mail_id, mail.recipient, attempts, error
        )
    else:
        values["next_attempt_at"] = now + FIRST_RETRY * 2 ** (attempts - 1)
        log.warning(
            "mail %s to %s will be retried at %s: %s",
            mail_id,
            mail.recipient,
            values["next_attempt_at"],
            error,
        )
    with database.unit_of_work() as session:
        session.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id).values(**values))
    return outcome


def mail_counts(session: Session) -> dict[MailStatus, int]:
    """How many messages are in each state, for the office's mail page."""
    rows = session.execute(select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all()
    counts = {status: 0 for status in MailStatus}
    counts.update({status: count for status, count in rows})
    return counts
