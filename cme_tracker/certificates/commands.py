"""``cme-tracker certificates``: issue a symposium's certificates, verify a file, revoke or reissue one.

WeasyPrint and pyHanko load inside the commands that need them, so other commands start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cme_tracker.certificates.models import RevocationCategory
from cme_tracker.config import Settings
from cme_tracker.console import open_database, progress_bar, reports_domain_errors

if TYPE_CHECKING:
    from cme_tracker.certificates.issue import IssueReport

CLI_ACTOR = "cli"


@click.group("certificates")
def certificates() -> None:
    """Signed PDF certificates of attendance."""


def report_issue(subject: str, report: IssueReport) -> None:
    """What an issuing run did, each failure on stderr; exit 1 when a document could not be made."""
    click.echo(f"{subject}: {report.summary()}")
    for failure in report.failed:
        click.echo(f"error: member {failure['member_no']}: {failure['message']}", err=True)
    if report.failed:
        sys.exit(1)


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
    from cme_tracker.certificates.issue import DocumentSetup, issue_attendance_certificates

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


@certificates.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_domain_errors
def verify_command(file: Path) -> None:
    """Check FILE.pdf: signature, nothing added after signing, the issued file and its status. 0: valid."""
    from cme_tracker.certificates.identity import load_signing_identity
    from cme_tracker.certificates.verify import verify_file

    settings = Settings.from_environment()
    identity = load_signing_identity(settings.instance_path, settings.signing_p12, settings.signing_password)
    with open_database().sessions() as session:
        result = verify_file(session, identity, file.read_bytes())
    if result.valid:
        click.echo(f"valid: {result.message}")
        return
    click.echo(f"not valid ({result.problem or result.verdict.value}): {result.message}")
    sys.exit(1)


@certificates.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why; kept in the audit log, not shown publicly.")
@click.option(
    "--category",
    type=click.Choice([category.value for category in RevocationCategory]),
    default=RevocationCategory.OTHER.value,
    show_default=True,
    help="What the public verify page says.",
)
@reports_domain_errors
def revoke_command(serial: str, reason: str, category: str) -> None:
    """Revoke the certificate SERIAL."""
    from cme_tracker.certificates.issue import revoke_certificate

    with open_database().unit_of_work() as session:
        revoke_certificate(
            session, serial, category=RevocationCategory(category), reason=reason, actor=CLI_ACTOR
        )
    click.echo(f"revoked {serial}")


@certificates.command("reissue")
@click.argument("serial")
@reports_domain_errors
def reissue_command(serial: str) -> None:
    """Replace SERIAL with a certificate of the attendance as it is now; the old one is superseded."""
    from cme_tracker.certificates.issue import DocumentSetup, reissue_certificate

    settings = Settings.from_environment()
    successor = reissue_certificate(
        open_database(), DocumentSetup.from_settings(settings), serial, actor=CLI_ACTOR
    )
    click.echo(f"{serial} superseded by {successor.serial}")
