"""``cme-tracker mail``: deliver the queued mail now, and check the mail settings with a test message."""

from __future__ import annotations

import click
from sqlalchemy import select

from cme_tracker.config import Settings
from cme_tracker.console import open_database, reports_domain_errors
from cme_tracker.mail.compose import LANGUAGES
from cme_tracker.mail.models import OutgoingMail
from cme_tracker.mail.service import deliver_due, queue_mail
from cme_tracker.mail.transport import MailServer


@click.group("mail")
def mail() -> None:
    """Outgoing mail."""


@mail.command("deliver")
@reports_domain_errors
def deliver_command() -> None:
    """Deliver every message due now, in the foreground; exit 1 when one failed for good."""
    settings = Settings.from_environment()
    report = deliver_due(open_database(), settings)
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


@mail.command("test")
@click.option("--to", "recipient", required=True, help="The address to send the test message to.")
@click.option("--language", type=click.Choice(LANGUAGES), default="en", show_default=True)
@reports_domain_errors
def test_command(recipient: str, language: str) -> None:
    """Send a test message to --to at once, through CME_MAIL_URL or into the outbox, and say how it went."""
    settings = Settings.from_environment()
    database = open_database()
    with database.unit_of_work() as session:
        queued = queue_mail(
            session,
            kind="check",
            recipient=recipient,
            language=language,
            context={"operator": "cme-tracker mail test"},
            site_url=settings.public_url,
            actor="cme-tracker mail test",
        )
        mail_id = queued.id
    report = deliver_due(database, settings, only=mail_id)
    where = (
        str(MailServer.from_url(settings.mail_url))
        if settings.mail_url
        else str(settings.instance_path / "outbox")
    )
    if report.sent:
        click.echo(f"sent to {recipient} via {where}")
        return
    with database.sessions() as session:
        reason = session.scalar(select(OutgoingMail.last_error).where(OutgoingMail.id == mail_id))
    raise click.ClickException(f"the test message to {recipient} was not delivered via {where}: {reason}")
