"""Two admins demoting the society's last two administrators at the same moment: one of them is refused.

Each demotion alone leaves another admin, so only serialising the two (PostgreSQL's advisory lock, SQLite's
write lock held from the start) lets the second see what the first committed. A database of its own, with
two real connections: the first holds its demotion open while the second starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import LastAdmin, create_user, update_user
from cme_tracker.db import Database, begin_write
from cme_tracker.vocabulary import Role
from tests.conftest import migrated_database

PASSWORD = "correct horse battery staple"


@pytest.fixture
def database(fresh_database_url: str) -> Iterator[Database]:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        for login in ("kimura", "mori"):
            create_user(session, login=login, password=PASSWORD, roles=[Role.ADMIN, Role.DESK], actor="test")
    yield database
    database.engine.dispose()


def _demote(database: Database, login: str, outcome: dict[str, str], hold: float = 0.0) -> None:
    """Take the admin role from ``login`` as the office's page does (write lock first), keeping the
    transaction open ``hold`` seconds before committing."""
    try:
        with database.sessions() as session:
            begin_write(session)
            update_user(session, login, expected_version=1, actor="test", roles=[Role.DESK])
            outcome[f"{login}:edited"] = "yes"
            time.sleep(hold)
            session.commit()
        outcome[login] = "demoted"
    except LastAdmin:
        outcome[login] = "last_admin"


@pytest.mark.slow
def test_two_concurrent_demotions_of_the_last_two_admins_leave_one_admin(database: Database) -> None:
    outcome: dict[str, str] = {}
    first = threading.Thread(target=_demote, args=(database, "kimura", outcome, 1.0))
    first.start()
    deadline = time.monotonic() + 10
    while "kimura:edited" not in outcome and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "kimura:edited" in outcome  # the first demotion is made, not committed yet
    second = threading.Thread(target=_demote, args=(database, "mori", outcome))
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert (outcome["kimura"], outcome["mori"]) == ("demoted", "last_admin")
    with database.sessions() as session:
        admins = [
            user.login for user in session.scalars(select(User)) if user.active and Role.ADMIN in user.roles
        ]
    assert admins == ["mori"]
