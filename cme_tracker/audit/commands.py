from __future__ import annotations

import click

from cme_tracker.audit.chain import verify
from cme_tracker.console import open_database


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
def verify_command() -> None:
    """Exit 0 when the chain is intact; 1 naming the first edited, missing or cut-off event."""
    with open_database().unit_of_work() as session:
        report = verify(session)
    if report.intact:
        click.echo(f"audit log intact: {report.events_checked} events")
        return
    click.echo(f"audit log broken at event {report.broken_sequence}: {report.reason}", err=True)
    raise SystemExit(1)
