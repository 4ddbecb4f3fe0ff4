"""Alembic environment: runs on the connection the CLI (or a test) hands over, else on CME_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from cme_tracker.config import Settings
from cme_tracker.db import create_db_engine
from cme_tracker.models import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(Settings.from_environment().database_url)
    with engine.connect() as own_connection:
        _run(own_connection)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
