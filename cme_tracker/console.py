"""What every command shares: the database it works on and how a domain error ends it.

Kept apart from cli.py, which names every feature's commands, so feature modules can import this freely.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cme_tracker.config import Settings
from cme_tracker.errors import DomainError
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.db import Database

Command = TypeVar("Command", bound=Callable[..., Any])

log = logging.getLogger(__name__)

CLI_LANGUAGES = ("en", "ja")
"""The languages a command's translated messages come in; English unless asked otherwise."""
LANGUAGE_VARIABLES = ("CME_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

language_option = click.option(
    "--language",
    type=click.Choice(CLI_LANGUAGES),
    help="The language of the messages (default: CME_LANGUAGE, else the locale's LANG if ja, else en).",
)
"""The ``--language`` of a command whose messages are in the catalogue (see :func:`cli_gettext`)."""


def cli_language() -> str:
    """The running command's ``--language``, else the first of ``CME_LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``
    and ``LANG`` that is set (``ja_JP.UTF-8`` is ja; a language without a catalogue, such as C, is en)."""
    context = click.get_current_context(silent=True)
    chosen = context.params.get("language") if context is not None else None
    if isinstance(chosen, str):
        return chosen
    for name in LANGUAGE_VARIABLES:
        value = os.environ.get(name)
        if value:
            language = value.split(".")[0].split("_")[0].lower()
            return language if language in CLI_LANGUAGES else "en"
    return "en"


@cache
def cli_gettext(language: str) -> Callable[[str], str]:
    """The catalogue's ``gettext`` for ``language``, the same Japanese catalogue as the web pages'."""
    from babel.support import Translations

    if language == "en":
        return str
    folder = Path(__file__).parent / "translations"
    translations = Translations.load(str(folder), [language])
    return translations.gettext


def open_database() -> Database:
    """The database handed to the group (``main(obj=database)``, as tests do), else the configured one."""
    # deferred: SQLAlchemy is heavy; commands import this module, and their --help needs no database
    from cme_tracker.db import Database
    from cme_tracker.keys import LostKeysError, ensure_instance_keys

    context = click.get_current_context(silent=True)
    given = context.find_root().obj if context is not None else None
    if isinstance(given, Database):
        return given
    try:
        settings = ensure_instance_keys(Settings.from_environment())
    except LostKeysError as error:  # every command that opens the database stops here, not with a traceback
        raise click.ClickException(error.message) from error
    return Database.connect(settings.database_url, settings.audit_key, settings.audit_anchor)


def reports_domain_errors(command: Command) -> Command:
    """A domain error ends the command with its message on stderr and exit code 1, never a traceback.

    Any other error is a bug or an outage: logged with its traceback for the operator, then exit code 1.
    """

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            click.echo(f"error: {error.localized(cli_gettext(cli_language()))}", err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception:
            name = click.get_current_context().command_path
            log.exception("%s stopped by an unexpected error", name)
            click.echo(f"error: {name} stopped by an unexpected error (logged with its traceback)", err=True)
            sys.exit(1)

    return run  # type: ignore[return-value]


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, fed with (done, total); it appears once the total is known."""
    shown = 0
    bar: Any = None

    def advance(done: int, total: int) -> None:
        nonlocal shown, bar
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def year_options(command: Command) -> Command:
    """The ``--year`` and ``--year-basis`` options of every command over one calendar or fiscal year."""
    command = click.option(
        "--year-basis",
        type=click.Choice([basis.value for basis in YearBasis]),
        default=YearBasis.CALENDAR.value,
        show_default=True,
        help="fiscal: 1 April YYYY to 31 March YYYY+1.",
    )(command)
    return click.option(
        "--year", type=click.IntRange(1900, 9999), required=True, help="The calendar or fiscal year."
    )(command)
