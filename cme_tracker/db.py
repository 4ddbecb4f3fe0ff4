"""The declarative base, column types shared by every model, and the engine and session factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every database.

    SQLite keeps no offset, so values are normalised to UTC on the way in and marked UTC on the way out;
    a naive datetime is a programming error and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times are stored timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this app relies on: foreign keys and a busy wait on SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Take transaction control away from the sqlite3 module, which would otherwise begin transactions
    late and let SAVEPOINT commit on its own (SQLAlchemy's documented pysqlite recipe)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


WRITE_LOCK = "cme_write_lock"
"""Execution option: the transaction will write, so on SQLite it begins with ``BEGIN IMMEDIATE``."""


def _begin_sqlite(connection: Connection) -> None:
    """A deferred ``BEGIN`` that reads first and writes later cannot wait for the write lock: SQLite answers
    "database is locked" at once when another connection wrote in between. ``BEGIN IMMEDIATE`` queues for the
    lock under the busy timeout instead, so writers declare themselves up front (:func:`begin_write`)."""
    immediate = connection.get_execution_options().get(WRITE_LOCK, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session: Session) -> None:
    """Start ``session``'s next transaction as a writer (the write lock on SQLite, a plain begin elsewhere).

    A transaction already open is committed first: call this before the unit of work writes anything, e.g.
    after a request's access check has read the user or the API client.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_LOCK: True})


def session_factory(bind: Engine | Connection, audit_key: str, **kwargs: Any) -> sessionmaker[Session]:
    """Sessions that carry the audit key, so every service can append to the audit chain."""
    return sessionmaker(bind=bind, expire_on_commit=False, info={"audit_key": audit_key}, **kwargs)


@dataclass
class Database:
    """The engine and session factory of one app or CLI run."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, audit_key: str) -> Database:
        engine = create_db_engine(url)
        return cls(engine=engine, sessions=session_factory(engine, audit_key))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back when it raises."""
        with self.sessions() as session, session.begin():
            yield session
