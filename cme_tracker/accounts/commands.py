from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from cme_tracker.accounts.services import (
    create_user,
    list_users,
    set_password,
    update_user,
    user_by_login,
)
from cme_tracker.accounts.throttle import locked_logins, unlock
from cme_tracker.accounts.tokens import (
    ADMIN_TOKEN_DAYS,
    TOKEN_NAME,
    TOKEN_NAME_RULE,
    create_client,
    last_valid_day,
    list_clients,
    revoke_client,
)
from cme_tracker.console import (
    cli_gettext,
    cli_language,
    language_option,
    open_database,
    reports_domain_errors,
)
from cme_tracker.db import begin_write
from cme_tracker.vocabulary import TOKEN_ROLES, Role


def _read_password() -> str:
    """From the prompt (asked twice), or from the first line of stdin when piped, so scripts can set one."""
    if sys.stdin.isatty():
        gettext = cli_gettext(cli_language())
        password: str = click.prompt(
            gettext("Password"), hide_input=True, confirmation_prompt=gettext("Repeat for confirmation")
        )
        return password
    return sys.stdin.readline().rstrip("\n")


@click.group("users")
def users() -> None:
    """Logins and their roles."""


@users.command("create")
@click.argument("login")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([role.value for role in Role])
)
@click.option("--member-no", help="The member a `member` login belongs to.")
@language_option
@reports_domain_errors
def create_command(login: str, roles: tuple[str, ...], member_no: str | None, language: str | None) -> None:
    """Create LOGIN; the password comes from the prompt, or from the first line of stdin when piped."""
    # ``language`` is read where the messages are written (console.cli_language)
    password = _read_password()
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


@users.command("set-password")
@click.argument("login")
@language_option
@reports_domain_errors
def set_password_command(login: str, language: str | None) -> None:
    """Give LOGIN a new password (prompt or stdin, as for create); every session of LOGIN ends."""
    # ``language`` is read where the messages are written (console.cli_language)
    password = _read_password()
    with open_database().unit_of_work() as session:
        set_password(session, login=login, password=password, actor="cme-tracker users set-password")
    click.echo(f"set a new password for {login}")


@users.command("unlock")
@click.argument("login")
@reports_domain_errors
def unlock_command(login: str) -> None:
    """Lift the lock that failed logins put on LOGIN, so its right password works again at once."""
    with open_database().unit_of_work() as session:
        unlock(session, login, actor="cme-tracker users unlock")
    click.echo(f"unlocked {login}")


@users.command("list")
def list_users_command() -> None:
    """Every login: login, roles, member, active or disabled, last login, locked by failed logins."""
    now = datetime.now(UTC)
    with open_database().unit_of_work() as session:
        users = list_users(session, limit=1_000_000).users
        locked = locked_logins(session, [user.login for user in users], now)
        for user in users:
            roles = ",".join(sorted(role.value for role in user.roles))
            member = user.member.member_no if user.member else "-"
            state = "active" if user.active else "disabled"
            if not user.has_password:
                state += ", no password yet"
            seen = f"{user.last_login_at:%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never logged in"
            lock = f"locked until {locked[user.login]:%H:%M} UTC" if user.login in locked else "not locked"
            click.echo(f"{user.login}\t{roles}\t{member}\t{state}\t{seen}\t{lock}")


def _edit(login: str, command: str, *, roles: list[Role] | None = None, active: bool | None = None) -> None:
    """One edit of LOGIN's current version, with the write lock from the start (as the office's pages)."""
    with open_database().sessions() as session:
        begin_write(session)
        current = user_by_login(session, login).row_version
        update_user(
            session,
            login,
            expected_version=current,
            actor=f"cme-tracker users {command}",
            roles=roles,
            active=active,
        )
        session.commit()


@users.command("disable")
@click.argument("login")
@reports_domain_errors
def disable_command(login: str) -> None:
    """Disable LOGIN and end its sessions; the last active administrator cannot be disabled."""
    _edit(login, "disable", active=False)
    click.echo(f"disabled {login}")


@users.command("enable")
@click.argument("login")
@reports_domain_errors
def enable_command(login: str) -> None:
    """Let a disabled LOGIN log in again."""
    _edit(login, "enable", active=True)
    click.echo(f"enabled {login}")


@users.command("roles")
@click.argument("login")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([role.value for role in Role])
)
@reports_domain_errors
def roles_command(login: str, roles: tuple[str, ...]) -> None:
    """Give LOGIN exactly these roles; the last active administrator keeps the admin role."""
    _edit(login, "roles", roles=[Role(role) for role in roles])
    click.echo(f"{login}: {', '.join(sorted(set(roles)))}")


@click.group("tokens")
def tokens() -> None:
    """API tokens for desk devices and auditors' scripts."""


def _token_name(_context: click.Context, _parameter: click.Parameter, name: str) -> str:
    if not TOKEN_NAME.fullmatch(name):
        raise click.BadParameter(f"use {TOKEN_NAME_RULE}")
    return name


@tokens.command("create")
@click.argument("name", callback=_token_name)
@click.option("--role", required=True, type=click.Choice([role.value for role in TOKEN_ROLES]))
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d"]),
    help=f"The last day the token works (default: none; {ADMIN_TOKEN_DAYS} days for an admin token).",
)
@reports_domain_errors
def create_token_command(name: str, role: str, expires: datetime | None) -> None:
    """Create the API client NAME and print its token, alone on stdout: it is shown this once only."""
    with open_database().unit_of_work() as session:
        _client, token = create_client(
            session,
            name=name,
            role=Role(role),
            actor="cme-tracker tokens create",
            valid_through=expires.date() if expires else None,
        )
    click.echo(token)


@tokens.command("revoke")
@click.argument("name")
@reports_domain_errors
def revoke_token_command(name: str) -> None:
    """Revoke the token of the API client NAME; its next request answers 401."""
    with open_database().unit_of_work() as session:
        revoke_client(session, name=name, actor="cme-tracker tokens revoke")
    click.echo(f"revoked {name}")


@tokens.command("list")
def list_tokens_command() -> None:
    """Every API client: name, role, created, state (active, expires, expired or revoked), last use."""
    now = datetime.now(UTC)
    with open_database().unit_of_work() as session:
        clients = list_clients(session)
    for client in clients:
        last_day = last_valid_day(client)
        if client.revoked_at:
            state = f"revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC"
        elif client.expires_at is not None:
            state = f"expired after {last_day}" if client.expires_at <= now else f"active through {last_day}"
        else:
            state = "active"
        used = f"{client.last_used_at:%Y-%m-%d %H:%M} UTC" if client.last_used_at else "never used"
        click.echo(f"{client.name}\t{client.role}\t{client.created_at:%Y-%m-%d %H:%M} UTC\t{state}\t{used}")
