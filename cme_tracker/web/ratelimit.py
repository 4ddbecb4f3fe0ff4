"""A fixed-window request limit kept in the database, so every web worker and machine counts together.

The public verify page is open to anyone; without a limit it would let a script try verification codes.
"""

from __future__ import annotations

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


def hit(session: Session, key: str, now: datetime, *, window: timedelta) -> int:
    """Count one request of ``key`` and return the requests in the current window, this one included.

    One upsert, atomic on both databases; windows older than the previous one are dropped on the way.
    """
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
    return int(hits)
