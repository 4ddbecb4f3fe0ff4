"""Statements run on the driver's cursor give what SQLAlchemy's own execution gives; pooled server
connections that died while idle are replaced unnoticed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from cme_tracker import db
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import create_db_engine
from cme_tracker.driver import DriverStatement, stream_plain_rows
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import SymposiumKind, SymposiumStatus
from tests.conftest import POSTGRES_URL
from tests.factories import make_member, make_symposium

EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
WHEN = datetime(2026, 5, 16, 1, 2, 3, 456789, tzinfo=UTC)


def test_rows_come_back_typed_as_sqlalchemy_gives_them(session: Session) -> None:
    values = {
        "sequence": 10_001,
        "occurred_at": WHEN,
        "actor": "test",
        "action": "driver.check",
        "target": None,
        "details": {"nested": [1, "two"], "flag": True},
        "previous_hash": "p" * 64,
        "hash": "h" * 64,
    }
    add = DriverStatement(
        insert(EVENTS).values({name: bindparam(f"e_{name}") for name in values}).returning(EVENTS.c.sequence)
    )
    added = add.rows(session.connection(), {f"e_{name}": value for name, value in values.items()})
    assert [row.sequence for row in added] == [10_001]
    read = select(EVENTS).where(EVENTS.c.sequence == bindparam("sequence"))
    (by_driver,) = DriverStatement(read).rows(session.connection(), {"sequence": 10_001})
    by_sqlalchemy = session.execute(read, {"sequence": 10_001}).one()
    assert tuple(by_driver) == tuple(by_sqlalchemy)
    assert by_driver.occurred_at == WHEN and by_driver.occurred_at.tzinfo is not None
    assert by_driver.details == {"nested": [1, "two"], "flag": True}


def test_enum_columns_are_bound_and_read_as_their_members(session: Session) -> None:
    symposia: Table = Symposium.__table__  # type: ignore[assignment]
    make_symposium(session, kind=SymposiumKind.SPECIAL)
    read = select(symposia.c.code, symposia.c.kind, symposia.c.status).where(
        symposia.c.kind == bindparam("kind")
    )
    (by_driver,) = DriverStatement(read).rows(session.connection(), {"kind": SymposiumKind.SPECIAL})
    assert tuple(by_driver) == tuple(session.execute(read, {"kind": "special"}).one())
    assert by_driver.kind is SymposiumKind.SPECIAL and by_driver.status is SymposiumStatus.SCHEDULED
    with pytest.raises(ValueError, match="is not a SymposiumKind"):
        DriverStatement(read).rows(session.connection(), {"kind": "extraordinary"})


def test_a_plain_stream_gives_sqlalchemys_rows_in_batches_and_refuses_values_needing_conversion(
    session: Session,
) -> None:
    for number in range(7):
        make_member(session, member_no=f"stream{number}")
    plain = select(Member.id, Member.member_no).where(Member.member_no.in_(["stream1", "stream4", "stream6"]))
    streamed = list(stream_plain_rows(session.connection(), plain.order_by(Member.id), batch=2))
    assert streamed == [tuple(row) for row in session.execute(plain.order_by(Member.id))]
    assert [member_no for _, member_no in streamed] == ["stream1", "stream4", "stream6"]
    with pytest.raises(ValueError, match="created_at"):
        list(stream_plain_rows(session.connection(), select(Member.id, Member.created_at), batch=2))


def test_statement_without_returning_gives_no_rows_and_shares_the_transaction(session: Session) -> None:
    session.execute(
        insert(EVENTS).values(
            sequence=10_002,
            occurred_at=WHEN,
            actor="test",
            action="driver.check",
            details={},
            previous_hash="p" * 64,
            hash="i" * 64,
        )
    )
    rename = DriverStatement(
        update(EVENTS).where(EVENTS.c.sequence == 10_002).values(actor=bindparam("new_actor"))
    )
    assert rename.rows(session.connection(), {"new_actor": "renamed"}) == []
    assert session.scalar(select(EVENTS.c.actor).where(EVENTS.c.sequence == 10_002)) == "renamed"


@pytest.mark.skipif(not POSTGRES_URL, reason="idle pooled connections are tested only on a server")
def test_pooled_connection_killed_while_idle_is_replaced_on_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    engine = create_db_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    admin = create_db_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            first_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        with engine.connect() as connection:
            second_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second_pid != first_pid
    finally:
        engine.dispose()
        admin.dispose()


def test_busy_pooled_connection_is_not_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the idle time a checkout costs no round trip (what every request would otherwise pay)."""
    if not POSTGRES_URL:
        pytest.skip("server pools only")
    engine = create_db_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    pings: list[object] = []
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        monkeypatch.setattr(
            engine.dialect, "do_ping", lambda dbapi_connection: pings.append(dbapi_connection)
        )
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        engine.dispose()
