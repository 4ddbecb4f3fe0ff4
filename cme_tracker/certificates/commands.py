"""``cme-tracker certificates``: issue a symposium's certificates, check that every issued file is there.

The commands on one document by its serial (verify, revoke, reissue) are the kernel's
(:mod:`cme_tracker.documents.commands`); the CLI lists them under this group too.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from cme_tracker.certificates.issue import issue_attendance_certificates
from cme_tracker.config import Settings
from cme_tracker.console import open_database, progress_bar, reports_domain_errors
from cme_tracker.documents.commands import CLI_ACTOR, report_issue
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.documents.storage import CertificateStore
from cme_tracker.keys import stray_root_key, stray_root_key_warning


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


@certificates.command("check")
@reports_domain_errors
def check_command() -> None:
    """List the issued documents whose PDF file is missing from the instance folder; exit 1 when any.

    Such a row answers its downloads with 410; restore the file from the backup of the instance folder. A
    society root's private key left in the signing folder by an older version is named too (and exits 1).
    """
    instance_path = Settings.from_environment().instance_path
    store = CertificateStore(instance_path)
    with open_database().sessions() as session:
        rows = session.execute(
            select(Certificate.serial, Certificate.file_path).order_by(Certificate.serial)
        ).all()
    missing = [(serial, path) for serial, path in rows if not store.has(path)]
    for serial, path in missing:
        click.echo(f"missing {serial} {path}")
    click.echo(f"{len(rows)} document(s) checked, {len(missing)} file(s) missing")
    stray = stray_root_key(instance_path)
    if stray is not None:
        click.echo(f"warning: {stray_root_key_warning(stray)}", err=True)
    if missing or stray is not None:
        sys.exit(1)
