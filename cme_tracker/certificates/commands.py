"""``cme-tracker certificates``: issue a symposium's certificates.

The commands on one document by its serial (verify, revoke, reissue) are the kernel's
(:mod:`cme_tracker.documents.commands`); the CLI lists them under this group too.
"""

from __future__ import annotations

import click

from cme_tracker.certificates.issue import issue_attendance_certificates
from cme_tracker.config import Settings
from cme_tracker.console import open_database, progress_bar, reports_domain_errors
from cme_tracker.documents.commands import CLI_ACTOR, report_issue
from cme_tracker.documents.setup import DocumentSetup


@click.group("certificates")
def certificates() -> None:
    """Signed PDF certificates of attendance."""


@certificates.command("issue")
@click.option("--symposium", "symposium_code", required=True, help="The symposium's code, e.g. 2026-11.")
@click.option("--member", "member_no", help="Only this member's certificate.")
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes to render with."
)
@reports_domain_errors
def issue_command(symposium_code: str, member_no: str | None, jobs: int) -> None:
    """Issue the missing certificates of a symposium: one per member with credited attendance.

    Running it again issues only what is still missing, also after an interrupted run.
    """
    settings = Settings.from_environment()
    with progress_bar("issuing") as progress:
        report = issue_attendance_certificates(
            open_database(),
            DocumentSetup.from_settings(settings),
            symposium_code,
            member_no=member_no,
            jobs=jobs,
            actor=CLI_ACTOR,
            progress=progress,
        )
    report_issue(symposium_code, report)
