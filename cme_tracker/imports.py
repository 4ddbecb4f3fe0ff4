"""``cme-tracker import members|program|attendance FILE [--dry-run]``: the importers on the command line.

Each problem goes to stderr as ``FILE:LINE:COLUMN: reason`` on a line of its own, so editors and grep can jump
to it; the summary goes to stdout. Exit 0 when imported (or, on a dry run, when it would be), 1 when rejected.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from sqlalchemy.exc import IntegrityError

from cme_tracker.console import open_database, reports_domain_errors
from cme_tracker.import_runs.importers import IMPORTERS
from cme_tracker.tabular.loading import ImportRejected

log = logging.getLogger(__name__)


@click.group("import")
def import_files() -> None:
    """Import members, the program or attendance from CSV (UTF-8) or XLSX; all or nothing."""


def _run(kind: str, file: Path, dry_run: bool) -> None:
    """One import in one transaction: committed when the file is valid, rolled back on any error."""
    importer = IMPORTERS[kind]
    try:
        with open_database().unit_of_work() as session:
            result = importer(
                session, file, actor=f"cme-tracker import {kind}", dry_run=dry_run, name=str(file)
            )
            if result.errors:
                for error in result.errors:
                    click.echo(str(error), err=True)
                log.warning("import of %s: %s", kind, result.summary)
                raise result.rejection()
    except IntegrityError as error:
        log.warning("import of %s: %s refused by the database (%s)", kind, file, error.orig)
        raise ImportRejected(
            f"{file}: the database refused the import ({error.orig}); nothing was imported",
            code="import_conflict",
        ) from None
    log.info("import of %s: %s", kind, result.summary)
    click.echo(result.summary)


def _command(kind: str, help_text: str) -> click.Command:
    @import_files.command(kind, help=help_text)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--dry-run", is_flag=True, help="Check the file and report what would change; write nothing."
    )
    @reports_domain_errors
    def command(file: Path, dry_run: bool) -> None:
        _run(kind, file, dry_run)

    return command


members = _command("members", "Add or update members (by member_no) from FILE.")
program = _command("program", "Add or update symposia and lectures (by code) from FILE, one row a lecture.")
attendance = _command(
    "attendance", "Add or complete attendances (by member, target and check-in time) from FILE."
)
