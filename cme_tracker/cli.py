"""The ``cme-tracker`` command. Each feature adds its commands here; exit 0 success, 1 rejected, 2 usage."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.errors import DomainError

Command = TypeVar("Command", bound=Callable[..., Any])


def open_database() -> Database:
    """The database handed to the group (``main(obj=database)``, as tests do), else the configured one."""
    context = click.get_current_context(silent=True)
    given = context.find_root().obj if context is not None else None
    if isinstance(given, Database):
        return given
    settings = Settings.from_environment()
    return Database.connect(settings.database_url, settings.audit_key)


def reports_domain_errors(command: Command) -> Command:
    """A domain error ends the command with its message on stderr and exit code 1, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            click.echo(f"error: {error.message}", err=True)
            sys.exit(1)

    return run  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cme-tracker")
def main() -> None:
    """Continuing-medical-education credits of the International Medical Society of Japan."""


def _register_commands() -> None:
    from cme_tracker.accounts.commands import users
    from cme_tracker.audit.commands import audit
    from cme_tracker.credits.commands import credits
    from cme_tracker.demo.command import demo
    from cme_tracker.imports import import_files
    from cme_tracker.migrate import db
    from cme_tracker.server import serve

    for command in (db, users, audit, import_files, credits, demo, serve):
        main.add_command(command)


_register_commands()
