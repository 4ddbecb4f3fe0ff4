"""A fixed-window request limit kept in the database, so every web worker and machine counts together.

The public verify page is open to anyone; without a limit it would let a script try verification codes.
Every visitor leaves a row; the rows of windows that have ended are swept out on one new row in
:data:`SWEEP_ONE_IN` (and by ``cme-tracker db prune`` and the long-running worker), so the table holds
about the last :data:`LONGEST_WINDOW` of visitors, not one row per visitor forever.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from cme_tracker.db import Base, conflict_insert


class RateLimitWindow(Base):
    """How many requests one client key made in the window starting at ``window_start``."""

    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int]


LONGEST_WINDOW = timedelta(minutes=10)
"""No limit counts in a longer window: a row that started longer ago than twice this has certainly ended."""
SWEEP_ONE_IN = 32
"""A new row sweeps out every ended window with this chance (1 in N): cheap, and no row outlives many."""


def hit(session: Session, key: str, now: datetime, *, window: timedelta) -> int:
    """Count one request of ``key`` and return the requests in the current window, this one included.

    One upsert, atomic on both databases; the key's windows older than the previous one are dropped on the
    way, and now and then (:data:`SWEEP_ONE_IN`) every key's ended windows.
    """
    if window > LONGEST_WINDOW:
        raise ValueError(f"a rate-limit window is at most {LONGEST_WINDOW}")
    start = datetime.fromtimestamp(
        now.timestamp() // window.total_seconds() * window.total_seconds(), tz=now.tzinfo
    )
    dialect = session.get_bind().dialect.name
    statement = conflict_insert(dialect, RateLimitWindow).values(key=key, window_start=start, hits=1)
    counted = statement.on_conflict_do_update(
        index_elements=[RateLimitWindow.key, RateLimitWindow.window_start],
        set_={"hits": RateLimitWindow.hits + 1},
    ).returning(RateLimitWindow.hits)
    hits = session.execute(counted).scalar_one()
    session.execute(
        delete(RateLimitWindow).where(
            RateLimitWindow.key == key, RateLimitWindow.window_start < start - window
        )
    )
    if hits == 1 and secrets.randbelow(SWEEP_ONE_IN) == 0:
        prune_windows(session, now)
    return int(hits)


def prune_windows(session: Session, now: datetime) -> int:
    """Delete the windows that have ended, whatever their key; how many."""
    result = session.execute(
        delete(RateLimitWindow).where(RateLimitWindow.window_start < now - 2 * LONGEST_WINDOW)
    )
    return int(getattr(result, "rowcount", 0) or 0)
