"""The audit chain's SQL for appending an event, run on the database driver.

Every change appends an event in its own transaction, a check-in included: an ORM flush of the event cost
more than the rest of a check-in, so these statements are built once and run through
:class:`cme_tracker.driver.DriverStatement` (two round trips on PostgreSQL, three statements on SQLite).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, update

from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.driver import DriverStatement

_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(sequence=_HEAD.c.sequence + 1)
    .returning(_HEAD.c.sequence, _HEAD.c.hash)
)
_INSERT_EVENT = insert(_EVENTS).values({column: bindparam(f"event_{column.key}") for column in _EVENTS.c})
_SET_HEAD_HASH = (
    update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("event_hash"), mac=bindparam("head_mac"))
)
_APPEND = _SET_HEAD_HASH.add_cte(_INSERT_EVENT.cte("event"))
"""PostgreSQL inserts the event and moves the head's hash on in one statement (a data-modifying CTE)."""
_ADVANCE = DriverStatement(_ADVANCE_HEAD)
_WRITE = {
    "postgresql": (DriverStatement(_APPEND),),
    "sqlite": (DriverStatement(_INSERT_EVENT), DriverStatement(_SET_HEAD_HASH)),
}


def advance_head(connection: Connection) -> tuple[int, str]:
    """Move the head on by one: the new event's sequence and the previous event's hash. Updating the head row
    first takes the write lock, which serialises concurrent appends on both databases."""
    (head,) = _ADVANCE.rows(connection)
    return head.sequence, head.hash


def write_event(connection: Connection, values: Mapping[str, Any], head_mac: str) -> None:
    """Insert the event (every column of ``audit_events``) and make its hash the head's, keyed by
    ``head_mac``."""
    parameters = {f"event_{name}": value for name, value in values.items()}
    parameters["head_mac"] = head_mac
    for statement in _WRITE[connection.dialect.name]:
        statement.rows(connection, parameters)
