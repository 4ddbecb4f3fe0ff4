"""Fixtures shared by every test: the database under test (SQLite or PostgreSQL), the app, the CLI.

``CME_TEST_DATABASE_URL`` picks the database: unset means a SQLite file; CI also runs the suite with
``postgresql://postgres@127.0.0.1:5432/test``. Each pytest-xdist worker migrates a database of its own once;
in-process tests then run inside an outer transaction and roll back a savepoint, so they never see each other.
Every app's test client checks its answers to /api/v1 requests against the OpenAPI document (api_contract.py).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import make_url, text

from cme_tracker import create_app
from cme_tracker.cli import main
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database, create_db_engine, session_factory
from cme_tracker.migrate import upgrade
from tests.api_contract import ContractClient

pytest_plugins = ["tests.smtp_server"]
"""Fixtures of their own modules: the SMTP server of the mail tests."""

TEST_AUDIT_KEY = "test-audit-key"
POSTGRES_URL = os.environ.get("CME_TEST_DATABASE_URL", "")


class DatabaseFactory:
    """Creates empty databases of the kind under test, and drops them at the end of the session."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.created: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return POSTGRES_URL.startswith("postgresql")

    def create(self, label: str) -> str:
        name = f"cme_{re.sub(r'[^a-z0-9]', '_', label.lower())}_{uuid.uuid4().hex[:8]}"
        if not self.is_postgres:
            return f"sqlite:///{self.base / (name + '.sqlite3')}"
        admin = create_db_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_db_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


def migrated_database(url: str) -> Database:
    """A database at the newest migration with the credit policy presets installed, committed."""
    database = Database.connect(url, TEST_AUDIT_KEY)
    upgrade(database.engine)
    with database.unit_of_work() as session:
        install_presets(session, actor="test setup")
    return database


@pytest.fixture(scope="session")
def worker_database(database_factory: DatabaseFactory) -> Iterator[Database]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    database = migrated_database(database_factory.create(f"worker_{worker}"))
    yield database
    database.engine.dispose()


@pytest.fixture
def fresh_database_url(database_factory: DatabaseFactory, request: pytest.FixtureRequest) -> str:
    """An empty, unmigrated database of its own, for tests that commit or run other processes."""
    return database_factory.create(request.node.name[:20])


@pytest.fixture
def db(worker_database: Database) -> Iterator[Database]:
    """The worker's database inside an outer transaction: whatever a test commits is rolled back after it."""
    connection = worker_database.engine.connect()
    outer = connection.begin()
    yield Database(
        engine=worker_database.engine,
        sessions=session_factory(connection, TEST_AUDIT_KEY, join_transaction_mode="create_savepoint"),
    )
    outer.rollback()
    connection.close()


@pytest.fixture
def session(db: Database) -> Iterator[Any]:
    with db.sessions() as session:
        yield session


@pytest.fixture(autouse=True, scope="session")
def api_contract() -> Iterator[None]:
    """Every Flask app of the session, those tests create themselves too, gets the checking test client."""
    original = Flask.test_client_class
    Flask.test_client_class = ContractClient
    yield
    Flask.test_client_class = original


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Settings a directory's conftest adds to the app's (integration tests: their ``CLOCK``)."""
    return {}


@pytest.fixture
def app(db: Database, tmp_path: Path, app_settings: dict[str, Any]) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-secret",
            "AUDIT_KEY": TEST_AUDIT_KEY,
            **app_settings,
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class CommandLine:
    """Runs ``cme-tracker`` in-process against the test database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), obj=self.db, input=input, catch_exceptions=False)


@pytest.fixture
def cli(db: Database) -> CommandLine:
    return CommandLine(db)
