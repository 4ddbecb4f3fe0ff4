from __future__ import annotations

import sys

import click

from cme_tracker.accounts.services import create_user
from cme_tracker.console import open_database, reports_domain_errors
from cme_tracker.vocabulary import Role


@click.group("users")
def users() -> None:
    """Logins and their roles."""


@users.command("create")
@click.argument("login")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([role.value for role in Role])
)
@click.option("--member-no", help="The member a `member` login belongs to.")
@reports_domain_errors
def create_command(login: str, roles: tuple[str, ...], member_no: str | None) -> None:
    """Create LOGIN; the password comes from the prompt, or from the first line of stdin when piped."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    with open_database().unit_of_work() as session:
        create_user(
            session,
            login=login,
            password=password,
            roles=[Role(role) for role in roles],
            member_no=member_no,
            actor="cme-tracker users create",
        )
    click.echo(f"created {login} ({', '.join(sorted(roles))})")


@click.group("tokens")
def tokens() -> None:
    """PLACEHOLDER: API tokens for desk devices and auditors' scripts."""
