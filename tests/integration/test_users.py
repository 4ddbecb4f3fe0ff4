from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import authenticate
from cme_tracker.audit.models import AuditEvent
from cme_tracker.cli import main
from cme_tracker.db import Database
from tests.conftest import CommandLine
from tests.factories import make_member


def test_users_create_reads_the_password_from_stdin_and_stores_an_argon2_hash(
    cli: CommandLine, session: Session
) -> None:
    result = cli(
        "users", "create", "tanaka", "--role", "desk", "--role", "auditor", input="correct horse battery\n"
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.login == "tanaka"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert {role.value for role in user.roles} == {"desk", "auditor"}
    assert authenticate(session, "tanaka", "correct horse battery") is not None
    assert authenticate(session, "tanaka", "wrong password!") is None


def test_users_create_is_audited(cli: CommandLine, session: Session) -> None:
    cli("users", "create", "auditor1", "--role", "auditor", input="a long password\n")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event is not None
    assert event.target == "user:auditor1"
    assert event.details["roles"] == ["auditor"]


def test_member_login_is_linked_to_its_member(cli: CommandLine, session: Session) -> None:
    member = make_member(session, member_no="004711")
    session.commit()
    result = cli(
        "users", "create", "yamada", "--role", "member", "--member-no", "004711", input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.login == "yamada"))
    assert user is not None and user.member_id == member.id


def test_member_login_without_member_number_is_rejected_with_exit_1(
    cli: CommandLine, session: Session
) -> None:
    result = cli("users", "create", "nobody", "--role", "member", input="a long password\n")
    assert result.exit_code == 1
    assert "--member-no" in result.stderr
    assert session.scalar(select(User).where(User.login == "nobody")) is None


def test_short_password_and_taken_login_are_rejected(cli: CommandLine) -> None:
    assert cli("users", "create", "x", "--role", "admin", input="short\n").exit_code == 1
    assert cli("users", "create", "admin2", "--role", "admin", input="long enough pw\n").exit_code == 0
    taken = cli("users", "create", "admin2", "--role", "admin", input="long enough pw\n")
    assert taken.exit_code == 1
    assert "taken" in taken.stderr


def test_users_create_and_set_password_refuse_a_weak_password_saying_why(
    cli: CommandLine, session: Session
) -> None:
    common = cli("users", "create", "x", "--role", "admin", input="Password123456\n")
    assert (common.exit_code, "common passwords" in common.stderr) == (1, True)
    repeated = cli("users", "create", "x", "--role", "admin", input="zzzzzzzzzzzzzz\n")
    assert (repeated.exit_code, "one character repeated" in repeated.stderr) == (1, True)
    eleven = cli("users", "create", "x", "--role", "admin", input="elevenchars\n")
    assert (eleven.exit_code, "at least 12 characters" in eleven.stderr) == (1, True)
    assert session.scalar(select(User).where(User.login == "x")) is None
    assert cli("users", "create", "x", "--role", "admin", input="long enough pw\n").exit_code == 0
    weak = cli("users", "set-password", "x", input="qwertyuiopas\n")
    assert (weak.exit_code, "common passwords" in weak.stderr) == (1, True)
    assert authenticate(session, "x", "long enough pw") is not None


def test_unknown_role_is_a_usage_error(cli: CommandLine) -> None:
    assert cli("users", "create", "x", "--role", "superuser", input="long enough pw\n").exit_code == 2


@pytest.mark.parametrize(
    ("arguments", "environment"),
    [
        (["--language", "ja"], {}),
        ([], {"CME_LANGUAGE": "ja"}),
        ([], {"CME_LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "ja_JP.UTF-8"}),
    ],
)
def test_the_password_policy_speaks_japanese_when_the_command_is_asked_to(
    db: Database, arguments: list[str], environment: dict[str, str | None]
) -> None:
    def run(*command: str, password: str) -> Result:
        return CliRunner().invoke(
            main, [*command, *arguments], obj=db, input=f"{password}\n", env=environment
        )

    short = run("users", "create", "x", "--role", "admin", password="elevenchars")
    assert (short.exit_code, short.stderr) == (1, "error: パスワードは12文字以上にしてください\n")
    repeated = run("users", "create", "x", "--role", "admin", password="zzzzzzzzzzzzzz")
    assert "同じ1文字の繰り返し" in repeated.stderr
    assert run("users", "create", "x", "--role", "admin", password="long enough pw").exit_code == 0
    common = run("users", "set-password", "x", password="qwertyuiopas")
    assert (common.exit_code, "よく使われるパスワード" in common.stderr) == (1, True)


def test_the_password_policy_speaks_english_by_default_and_in_the_c_locale(db: Database) -> None:
    unset: dict[str, str | None] = {"CME_LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
    for environment in (unset, {**unset, "LANG": "C.UTF-8"}):
        refused = CliRunner().invoke(
            main, ["users", "create", "x", "--role", "admin"], obj=db, input="elevenchars\n", env=environment
        )
        assert refused.stderr == "error: the password must have at least 12 characters\n"


def test_users_list_disable_enable_and_roles_commands(cli: CommandLine, session: Session) -> None:
    assert cli("users", "create", "chief", "--role", "admin", input="a long password\n").exit_code == 0
    assert cli("users", "create", "sato", "--role", "desk", input="a long password\n").exit_code == 0
    listed = [line.split("\t") for line in cli("users", "list").stdout.splitlines()]
    assert [line[:4] for line in listed] == [
        ["chief", "admin", "-", "active"],
        ["sato", "desk", "-", "active"],
    ]
    assert listed[1][4:] == ["never logged in", "not locked"]
    assert cli("users", "roles", "sato", "--role", "desk", "--role", "auditor").exit_code == 0
    assert cli("users", "disable", "sato").exit_code == 0
    session.expire_all()
    sato = session.scalar(select(User).where(User.login == "sato"))
    assert sato is not None and not sato.active and {role.value for role in sato.roles} == {"desk", "auditor"}
    assert authenticate(session, "sato", "a long password") is None
    assert cli("users", "enable", "sato").exit_code == 0
    assert authenticate(session, "sato", "a long password") is not None


def test_the_last_admin_cannot_be_disabled_or_demoted_from_the_command_line(cli: CommandLine) -> None:
    cli("users", "create", "chief", "--role", "admin", input="a long password\n")
    disabled = cli("users", "disable", "chief")
    assert (disabled.exit_code, "last active administrator" in disabled.stderr) == (1, True)
    demoted = cli("users", "roles", "chief", "--role", "desk")
    assert (demoted.exit_code, "last active administrator" in demoted.stderr) == (1, True)
    assert cli("users", "disable", "nobody").exit_code == 1
