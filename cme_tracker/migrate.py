"""Alembic driven from code: `db upgrade` and `db check` use the migrations shipped with the app."""

from __future__ import annotations

import logging

import click
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cme_tracker.models import metadata
from cme_tracker.resources import resource_dir

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    log.info("migrating the %s database to %s", engine.dialect.name, revision)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info("the %s database is at %s", engine.dialect.name, revision)


def differences(engine: Engine) -> list[object]:
    """What the models have that the migrated database lacks, or the reverse; empty when they agree.

    The database must be at the head revision; a pending migration is itself a difference.
    """
    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        current = set(context.get_current_heads())
        heads = set(script.get_heads())
        if current != heads:
            return [("revision", sorted(current), "is not the head", sorted(heads))]
        return list(compare_metadata(context, metadata))


@click.group("db")
def db() -> None:
    """Database schema and upkeep: upgrade, check models against migrations, prune expired rows."""


@db.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration and install the credit policy presets that are missing."""
    from cme_tracker.console import open_database
    from cme_tracker.credits.presets import install_presets

    database = open_database()
    upgrade(database.engine)
    with database.unit_of_work() as session:
        installed = install_presets(session, actor="cme-tracker db upgrade")
    click.echo(f"database at {database.engine.url.render_as_string(hide_password=True)} is up to date")
    for version in installed:
        click.echo(f"installed credit policy {version}")


@db.command("check")
def check_command() -> None:
    """Exit 1 when the models and the migrations disagree (a migration is missing or out of date)."""
    from cme_tracker.console import open_database

    database = open_database()
    upgrade(database.engine)
    found = differences(database.engine)
    if found:
        for difference in found:
            click.echo(f"difference: {difference}", err=True)
        raise SystemExit(1)
    click.echo("models and migrations agree")


@db.command("prune")
def prune_command() -> None:
    """Delete the ended rate-limit windows and the forgotten failed-login counts (safe to run any time)."""
    from cme_tracker.console import open_database
    from cme_tracker.db import utcnow
    from cme_tracker.housekeeping import prune_expired

    with open_database().unit_of_work() as session:
        pruned = prune_expired(session, utcnow())
    click.echo(", ".join(f"{count} {table} row(s) pruned" for table, count in pruned.items()))
