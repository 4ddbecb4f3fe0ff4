"""``cme-tracker export``: auditor exports of a year, and checking an export's audit checkpoint later."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cme_tracker.config import Settings
from cme_tracker.console import open_database, progress_bar, reports_domain_errors, year_options
from cme_tracker.documents.commands import CLI_ACTOR
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.parts import default_jobs
from cme_tracker.vocabulary import YearBasis


def _format_help() -> str:
    """Each format's description, formats of the same description named together, in registry order."""
    names: dict[str, list[str]] = {}
    for export_format in FORMATS.values():
        names.setdefault(export_format.description, []).append(export_format.name)
    return "; ".join(f"{', '.join(group)}: {description}" for description, group in names.items()) + "."


@click.group("export")
def export() -> None:
    """Exports for auditors."""


@export.command("transcripts")
@year_options
@click.option(
    "--format",
    "export_format",
    type=click.Choice(list(FORMATS)),
    required=True,
    help=_format_help(),
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write."
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes writing the CSV and issuing the bundle's missing transcripts  [default: the cores].",
)
@reports_domain_errors
def transcripts_command(year: int, year_basis: str, export_format: str, out: Path, jobs: int | None) -> None:
    """Every member's credits of a year, lecture by lecture, with what an auditor needs to recompute them."""
    from cme_tracker.documents.setup import DocumentSetup
    from cme_tracker.exports.services import export_transcripts  # pyHanko: loaded when the command runs

    if not out.parent.is_dir():
        raise click.BadParameter(f"folder {out.parent} does not exist", param_hint="--out")
    with progress_bar("exporting") as progress:
        report = export_transcripts(
            open_database(),
            DocumentSetup.from_settings(Settings.from_environment()),
            year,
            YearBasis(year_basis),
            FORMATS[export_format],
            out,
            actor=CLI_ACTOR,
            jobs=jobs or default_jobs(),
            progress=progress,
        )
    click.echo(report.summary())


@export.command("check-checkpoint")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_domain_errors
def check_checkpoint_command(file: Path) -> None:
    """Exit 0 when the audit log is intact and still holds the head FILE (audit-checkpoint.json) names."""
    from cme_tracker.exports.checkpoint import check_checkpoint  # pyHanko: loaded when the command runs

    with open_database().sessions() as session:
        problem = check_checkpoint(session, file.read_bytes())
    if problem is None:
        click.echo("audit log intact and extends the checkpoint")
        return
    click.echo(f"checkpoint not matched: {problem}", err=True)
    sys.exit(1)
