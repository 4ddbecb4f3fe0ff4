"""Rows that only matter for a while: the verify page's rate-limit windows and the failed-login counts.

Both tables sweep themselves now and then as they are written; :func:`prune_expired` sweeps them at once, for
``cme-tracker db prune`` (a cron job, say) and the long-running ``cme-tracker worker``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from cme_tracker.accounts.throttle import prune_failures
from cme_tracker.db import Database, utcnow
from cme_tracker.web.ratelimit import prune_windows

log = logging.getLogger(__name__)


def prune_expired(session: Session, now: datetime) -> dict[str, int]:
    """Delete the ended rate-limit windows and the forgotten, unlocked login failures; how many of each."""
    return {
        "rate_limit_windows": prune_windows(session, now),
        "login_failures": prune_failures(session, now),
    }


def prune_database(database: Database) -> dict[str, int]:
    """:func:`prune_expired` in a write transaction of its own, logged."""
    with database.write_unit() as session:
        pruned = prune_expired(session, utcnow())
    log.info("pruned %s", ", ".join(f"{count} {table}" for table, count in pruned.items()))
    return pruned
