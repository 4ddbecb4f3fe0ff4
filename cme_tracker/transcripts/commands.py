"""``cme-tracker transcripts``: issue a year's signed transcripts.

Verification, revocation and reissue go by serial and work for every kind of document
(:mod:`cme_tracker.documents.commands`); the CLI lists them under this group too, so that a transcript's
holder finds them under the command that issued it.
"""

from __future__ import annotations

import click

from cme_tracker.config import Settings
from cme_tracker.console import open_database, progress_bar, reports_domain_errors, year_options
from cme_tracker.documents.commands import CLI_ACTOR, report_issue
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.transcripts.issue import issue_transcripts
from cme_tracker.vocabulary import YearBasis


@click.group("transcripts")
def transcripts() -> None:
    """Signed yearly transcripts of each member's credits."""


@transcripts.command("issue")
@year_options
@click.option("--member", "member_no", help="Only this member's transcript.")
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes to render with."
)
@reports_domain_errors
def issue_command(year: int, year_basis: str, member_no: str | None, jobs: int) -> None:
    """Issue the missing transcripts of a year: one per member with credited attendance in it.

    Running it again issues only what is still missing, also after an interrupted run.
    """
    settings = Settings.from_environment()
    with progress_bar("issuing") as progress:
        report = issue_transcripts(
            open_database(),
            DocumentSetup.from_settings(settings),
            year,
            YearBasis(year_basis),
            member_no=member_no,
            jobs=jobs,
            actor=CLI_ACTOR,
            progress=progress,
        )
    report_issue(f"{year} ({year_basis})", report)
