"""`cme-tracker demo`: a working instance in one command, safe to run again."""

from __future__ import annotations

from dataclasses import dataclass

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import create_user
from cme_tracker.config import Settings
from cme_tracker.console import reports_domain_errors
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database
from cme_tracker.errors import DomainError
from cme_tracker.keys import ensure_instance_keys
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.services import close_past_symposia
from cme_tracker.server import run_gunicorn
from cme_tracker.society import society_today
from cme_tracker.vocabulary import Role

ACTOR = "cme-tracker demo"


@dataclass(frozen=True)
class DemoLogin:
    login: str
    password: str
    roles: tuple[Role, ...]
    member_no: str | None = None
    description: str = ""


# Fixed, printed passwords: the demo runs on 127.0.0.1 with made-up people, never in production.
DEMO_LOGINS = (
    DemoLogin("admin", "demo-admin-2026", (Role.ADMIN,), description="society administrator"),
    DemoLogin("desk", "demo-desk-2026", (Role.DESK,), description="check-in desk"),
    DemoLogin("auditor", "demo-auditor-2026", (Role.AUDITOR,), description="read-only auditor"),
    DemoLogin("member", "demo-member-2026", (Role.MEMBER,), "001001", "physician, member 001001"),
    DemoLogin("dentist", "demo-dentist-2026", (Role.MEMBER,), None, "dentist (first dentist of the year)"),
)


def seed(session: Session, settings: Settings) -> list[str]:
    """Import the demo year and create the logins that are missing; returns one summary line per step."""
    from cme_tracker.attendance.importer import import_attendance
    from cme_tracker.demo.year import write_year
    from cme_tracker.members.importer import import_members
    from cme_tracker.program.importer import import_program

    files = write_year(settings.instance_path / "demo-data")
    _refuse_foreign_data(session, files.member_numbers)
    summaries = []
    for run_import, path in (
        (import_members, files.members),
        (import_program, files.program),
        (import_attendance, files.attendance),
    ):
        result = run_import(session, path, actor=ACTOR)
        if not result.ok:
            raise result.rejection()
        summaries.append(result.summary)
    today = society_today()
    summaries.extend(
        f"closed symposium {code}" for code in close_past_symposia(session, today=today, actor=ACTOR)
    )
    for login in DEMO_LOGINS:
        if session.scalar(select(User.id).where(User.login == login.login)) is not None:
            continue
        member_no = login.member_no
        if Role.MEMBER in login.roles and member_no is None:
            member_no = _first_dentist(session)
        create_user(
            session,
            login=login.login,
            password=login.password,
            roles=list(login.roles),
            member_no=member_no,
            actor=ACTOR,
        )
    return summaries


def _refuse_foreign_data(session: Session, member_numbers: frozenset[str]) -> None:
    """Stop before touching a database that holds real data: the demo's logins have printed passwords."""
    members = session.scalars(
        select(Member.member_no)
        .where(Member.member_no.not_in(member_numbers))
        .order_by(Member.member_no)
        .limit(3)
    ).all()
    demo_logins = [login.login for login in DEMO_LOGINS]
    users = session.scalars(
        select(User.login).where(User.login.not_in(demo_logins)).order_by(User.login).limit(3)
    ).all()
    if members or users:
        found = ", ".join(
            [*(f"member {number}" for number in members), *(f"user {login}" for login in users)]
        )
        raise DomainError(
            f"this database holds data that is not the demo's ({found}): the demo runs only on an empty "
            "database or on its own; set CME_DATABASE_URL to another database",
            code="not_a_demo_database",
        )


def _first_dentist(session: Session) -> str:
    member_no = session.scalar(
        select(Member.member_no).where(Member.profession == "dentist").order_by(Member.member_no).limit(1)
    )
    assert member_no is not None, "the demo year has dentists"
    return member_no


DEMO_CERTIFICATES = ("2026-01", "2026-03")
"""Symposia whose certificates the demo issues, so members, the verify page and the admin pages have some."""


def issue_demo_certificates(database: Database, settings: Settings) -> list[str]:
    """Issue the certificates of the first symposia that are missing (none on a second run)."""
    from cme_tracker.certificates.issue import issue_attendance_certificates
    from cme_tracker.documents.setup import DocumentSetup

    setup = DocumentSetup.from_settings(settings)
    return [
        f"certificates {code}: "
        + issue_attendance_certificates(database, setup, code, actor=ACTOR, jobs=2).summary()
        for code in DEMO_CERTIFICATES
    ]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up and seed, then exit instead of serving.")
@reports_domain_errors
def demo(host: str, port: int, no_serve: bool) -> None:
    """Set up the instance folder, migrate, seed the IMSJ year 2026, print the logins and serve."""
    settings = ensure_instance_keys(Settings.from_environment())
    database = Database.connect(settings.database_url, settings.audit_key, settings.audit_anchor)
    upgrade(database.engine)
    with database.unit_of_work() as session:
        install_presets(session, actor=ACTOR)
        for line in seed(session, settings):
            click.echo(line)
    for line in issue_demo_certificates(database, settings):
        click.echo(line)
    database.engine.dispose()
    url = f"http://{host}:{port}/"
    click.echo(f"\ninstance folder: {settings.instance_path}")
    click.echo(f"open {url} and log in as:")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.login:<9} {login.password:<20} {login.description}")
    if not no_serve:
        run_gunicorn(host, port, workers=2)
