"""The ``cme-tracker`` command. Each feature adds its commands here; exit 0 success, 1 rejected, 2 usage.

A command's module is imported only when that command runs (click's lazy group pattern), so ``--help`` and
light commands start without loading SQLAlchemy, WeasyPrint or pyHanko. The group's own help lists each
command's summary from :data:`COMMANDS`; a test checks that every summary matches its command's docstring.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import click

from cme_tracker import config, logs


class LazyCommand(NamedTuple):
    """Where a command lives (``module:attribute``) and the summary ``cme-tracker --help`` shows for it."""

    path: str
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "audit": LazyCommand("cme_tracker.audit.commands:audit", "The hash-chained audit log."),
    "backup": LazyCommand(
        "cme_tracker.ops.commands:backup",
        "Write one archive of the database, the issued files and the keys, with a manifest of hashes.",
    ),
    "certificates": LazyCommand(
        "cme_tracker.document_commands:certificate_commands", "Signed PDF certificates of attendance."
    ),
    "credits": LazyCommand("cme_tracker.credits.commands:credits", "Credits earned by members."),
    "db": LazyCommand(
        "cme_tracker.migrate:db",
        "Database schema and upkeep: upgrade, check models against migrations, prune expired rows.",
    ),
    "demo": LazyCommand(
        "cme_tracker.demo.command:demo",
        "Set up the instance folder, migrate, seed the IMSJ year 2026, print the logins and serve.",
    ),
    "export": LazyCommand("cme_tracker.exports.commands:export", "Exports for auditors."),
    "import": LazyCommand(
        "cme_tracker.imports:import_files",
        "Import members, the program or attendance from CSV (UTF-8) or XLSX; all or nothing.",
    ),
    "mail": LazyCommand("cme_tracker.mail.commands:mail", "Outgoing mail."),
    "restore": LazyCommand(
        "cme_tracker.ops.commands:restore",
        "Restore an archive into an empty instance and database, or with --check tell what it holds.",
    ),
    "serve": LazyCommand(
        "cme_tracker.server:serve",
        "Serve the app with gunicorn (put a reverse proxy with HTTPS in front in production).",
    ),
    "tokens": LazyCommand(
        "cme_tracker.accounts.commands:tokens", "API tokens for desk devices and auditors' scripts."
    ),
    "transcripts": LazyCommand(
        "cme_tracker.document_commands:transcript_commands",
        "Signed yearly transcripts of each member's credits.",
    ),
    "users": LazyCommand("cme_tracker.accounts.commands:users", "Logins and their roles."),
    "worker": LazyCommand(
        "cme_tracker.job_kinds:worker",
        "Run queued jobs; without --once, keep waiting for new ones until interrupted.",
    ),
}
"""Every command of ``cme-tracker``: a feature adds its line here."""


class LazyGroup(click.Group):
    """A group whose commands are imported from :data:`COMMANDS` when they are looked up to run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute = entry.path.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.path} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries, without importing a single command's module."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=entry.summary).get_short_help_str(limit))
            for name, entry in sorted(COMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cme-tracker")
def main() -> None:
    """Continuing-medical-education credits of the International Medical Society of Japan."""
    config.make_files_private()
    try:
        log_format = config.log_format()
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    logs.configure_logging(log_format)
