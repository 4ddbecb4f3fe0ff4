"""The anchor file when several processes append at once, as the server's workers and the CLI do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cme_tracker.audit import chain
from cme_tracker.db import Database
from tests.conftest import TEST_AUDIT_KEY, migrated_database

PROCESSES = 3
EVENTS = 30
APPENDER = """
import sys
from pathlib import Path
from cme_tracker.audit import chain
from cme_tracker.db import Database

database = Database.connect(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
for number in range(int(sys.argv[4])):
    with database.unit_of_work() as session:
        chain.record(session, actor="process", action="member.update", target=f"member:{number}")
"""


def test_processes_appending_at_once_leave_the_anchor_at_the_head(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """Each process writes the anchor after its commits, never moving it back: at the end it names the
    head."""
    migrated_database(fresh_database_url).engine.dispose()
    path = tmp_path / "audit_anchor.json"
    command = [sys.executable, "-c", APPENDER, fresh_database_url, TEST_AUDIT_KEY, str(path), str(EVENTS)]
    appenders = [subprocess.Popen(command) for _ in range(PROCESSES)]
    assert [appender.wait(timeout=120) for appender in appenders] == [0] * PROCESSES
    database = Database.connect(fresh_database_url, TEST_AUDIT_KEY, path)
    try:
        with database.unit_of_work() as session:
            report = chain.verify(session)
            sequence, head_hash = chain.head(session)
    finally:
        database.engine.dispose()
    assert report.intact, report
    assert json.loads(path.read_text())["sequence"] == sequence
    assert json.loads(path.read_text())["hash"] == head_hash
