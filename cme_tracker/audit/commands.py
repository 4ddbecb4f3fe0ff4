from __future__ import annotations

import click

from cme_tracker.audit import anchor
from cme_tracker.audit.chain import anchor_head, verify
from cme_tracker.console import open_database, reports_domain_errors


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


@audit.command("anchor")
@reports_domain_errors
def anchor_command() -> None:
    """Key the head of a log from before the head was keyed, and write its anchor, once the chain verifies."""
    database = open_database()
    with database.write_unit() as session:
        done = anchor_head(session, actor="cme-tracker audit anchor")
    anchor.flush()
    if done is None:
        click.echo("audit log already keyed and anchored: nothing to do")
        return
    fixed = [
        what
        for what, needed in (("keyed the head", done.keyed_head), ("wrote the anchor", done.wrote_anchor))
        if needed
    ]
    click.echo(
        f"verified {done.verified} events; {' and '.join(fixed)} at event {done.sequence} (audit.anchor)"
    )
