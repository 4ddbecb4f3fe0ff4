"""The commands on one document by its serial, whatever its kind: verify a file, revoke or reissue one.

They are listed under each kind's command group (``certificates verify``, ``transcripts verify``), so that a
holder finds them under the command that issued the document; the CLI adds them there. Reissuing computes the
successor with the document's own kind, so :func:`reissue_command` is given the registry of kinds.
WeasyPrint and pyHanko load inside the commands that need them, so other commands start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cme_tracker.config import Settings
from cme_tracker.console import open_database, reports_domain_errors
from cme_tracker.documents.issue import IssueReport, reissue_certificate, revoke_certificate
from cme_tracker.documents.kinds import DocumentKinds
from cme_tracker.documents.models import RevocationCategory
from cme_tracker.documents.setup import DocumentSetup

CLI_ACTOR = "cli"


def report_issue(subject: str, report: IssueReport) -> None:
    """What an issuing run did, each failure on stderr; exit 1 when a document could not be made."""
    click.echo(f"{subject}: {report.summary()}")
    for failure in report.failed:
        click.echo(f"error: member {failure['member_no']}: {failure['message']}", err=True)
    if report.failed:
        sys.exit(1)


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_domain_errors
def verify_command(file: Path) -> None:
    """Check FILE.pdf: signature, nothing added after signing, the issued file and its status. 0: valid."""
    # cryptography and pyHanko: loaded by the command that uses them, so other commands start fast
    from cme_tracker.documents.identity import load_signing_identity
    from cme_tracker.documents.verify import verify_file

    settings = Settings.from_environment()
    identity = load_signing_identity(settings.instance_path, settings.signing_p12, settings.signing_password)
    with open_database().sessions() as session:
        result = verify_file(session, identity, file.read_bytes())
    if result.valid:
        click.echo(f"valid: {result.message}")
        return
    click.echo(f"not valid ({result.problem or result.verdict.value}): {result.message}")
    sys.exit(1)


@click.command("revoke")
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
    with open_database().unit_of_work() as session:
        revoke_certificate(
            session, serial, category=RevocationCategory(category), reason=reason, actor=CLI_ACTOR
        )
    click.echo(f"revoked {serial}")


def reissue_command(kinds: DocumentKinds) -> click.Command:
    """The ``reissue`` command for documents of ``kinds``."""

    @click.command("reissue")
    @click.argument("serial")
    @reports_domain_errors
    def reissue(serial: str) -> None:
        """Replace SERIAL with a certificate of the attendance as it is now; the old one is superseded."""
        settings = Settings.from_environment()
        successor = reissue_certificate(
            open_database(), DocumentSetup.from_settings(settings), kinds, serial, actor=CLI_ACTOR
        )
        click.echo(f"{serial} superseded by {successor.serial}")

    return reissue
