"""The declarative base, column types shared by every model, and the engine and session factory."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapper, Session, sessionmaker
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


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A closed set (a ``StrEnum``) stored as its value in a ``VARCHAR(length)``.

    The code reads and writes members, while the schema stays the plain string column whose CHECK constraint
    keeps the set; a bound value must be a member or exactly a member's value, so a slip is refused before
    the database sees it.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self._members: dict[str, E] = {member.value: member for member in enum}

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        member = self._members.get(value)
        if member is None or (value.__class__ is not str and value.__class__ is not self.enum):
            raise ValueError(f"{value!r} is not a {self.enum.__name__}")
        return member.value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        member = self._members.get(value)
        if member is None:
            raise ValueError(f"{value!r} in the database is not a {self.enum.__name__}")
        return member

    def assigned(self, _target: object, value: Any, _old: object, _initiator: object) -> Any:
        """What an attribute of this type holds when ``value`` is assigned: the member for its value's
        string; anything else as it is, for the flush to refuse."""
        return self._members.get(value, value) if value.__class__ is str else value


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def conflict_insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` that knows ``ON CONFLICT``: both databases have it, each in its dialect."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


@event.listens_for(Base, "mapper_configured", propagate=True)
def _enum_members_on_assignment(mapper: Mapper[Any], class_: type) -> None:
    """An :class:`EnumString` attribute holds a member as soon as it is assigned, also when an importer
    assigns the value's string, so that it is what its ``Mapped[...]`` says before the row is read back."""
    for attribute in mapper.column_attrs:
        column_type = attribute.columns[0].type
        if isinstance(column_type, EnumString):
            event.listen(getattr(class_, attribute.key), "set", column_type.assigned, retval=True)


BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite connection waits for another one's write lock before giving up."""


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this app relies on: foreign keys and a busy wait on SQLite; on a server,
    connections recycled and tested after sitting idle."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **{"pool_recycle": POOL_RECYCLE_SECONDS, **kwargs})
    _ping_idle_connections(engine)
    return engine


POOL_RECYCLE_SECONDS = 1800
"""Server connections are replaced after half an hour, before idle timeouts of servers and firewalls."""
IDLE_PING_SECONDS = 5.0
"""A pooled server connection unused for longer than this is tested before it is handed out."""
_IDLE_SINCE = "cme_idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, but only for connections that sat idle in the pool.

    Pinging on every checkout costs a round trip per request, while a connection that served a request a
    moment ago is alive. One that breaks while in use fails its request and SQLAlchemy then replaces the
    pool's older connections; the desk retries such a scan with its nonce.
    """
    dialect = engine.dialect

    def note_idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"an idle pooled connection is gone: {error}") from error

    event.listen(engine, "checkin", note_idle_since)
    event.listen(engine, "checkout", ping_if_idle)


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
    lock instead, so writers declare themselves up front (:func:`begin_write`)."""
    if connection.get_execution_options().get(WRITE_LOCK, False):
        driver_connection = connection.connection.driver_connection
        assert isinstance(driver_connection, sqlite3.Connection)
        _take_write_lock(driver_connection)
    else:
        connection.exec_driver_sql("BEGIN")


def _take_write_lock(dbapi_connection: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, tried again every fraction of a millisecond while another connection writes.

    SQLite's own busy handler sleeps 1, 2, 5, 10, ... ms between tries, so a writer queued behind a short
    transaction sleeps on long after the lock was freed, and under load the database idles most of the time.
    Polling in steps of at most a millisecond hands the lock on at once, within the same busy timeout.
    """
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        pause = 0.00005
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")


def begin_write(session: Session) -> None:
    """Make ``session``'s transaction a writer's: on SQLite, one holding the write lock from its start.

    On SQLite a transaction already open (e.g. the one in which a request's access check read the user or the
    API client) is committed first, so call this before the unit of work writes anything. PostgreSQL needs
    nothing: its writers wait for each other's row locks instead of failing.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_LOCK: True})


def session_factory(
    bind: Engine | Connection, audit_key: str, anchor: Path | None = None, **kwargs: Any
) -> sessionmaker[Session]:
    """Sessions that carry the audit key, so every service can append to the audit chain, and the path of the
    chain's anchor file outside the database (none: the chain is not anchored, as in most tests)."""
    return sessionmaker(
        bind=bind, expire_on_commit=False, info={"audit_key": audit_key, "audit_anchor": anchor}, **kwargs
    )


@dataclass
class Database:
    """The engine and session factory of one app or CLI run."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, audit_key: str, anchor: Path | None = None) -> Database:
        engine = create_db_engine(url)
        return cls(engine=engine, sessions=session_factory(engine, audit_key, anchor))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @property
    def on_one_connection(self) -> bool:
        """Whether every session runs on one connection (a test's outer transaction) rather than on the
        engine's pool: then nothing else can see what the sessions see, nor choose an isolation level."""
        return not isinstance(self.sessions.kw.get("bind"), Engine)

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session for reading much: every read sees the database as the first one did, whatever commits
        meanwhile (PostgreSQL's REPEATABLE READ; a SQLite transaction in WAL mode does so already)."""
        with self.sessions() as session:
            if self.engine.dialect.name != "sqlite" and not self.on_one_connection:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def write_unit(self) -> Iterator[Session]:
        """A unit of work that writes: on SQLite it holds the write lock from its first statement."""
        with self.sessions() as session:
            begin_write(session)
            yield session
            session.commit()
