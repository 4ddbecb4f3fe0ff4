"""Several desks scanning the same people at the same instant: one attendance each, never a 5xx.

A real threaded HTTP server on a database of its own (committed, as in production), and eight threads that
race through the same 200 member/lecture pairs; half of them resend the same nonce, as a desk retrying.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from cme_tracker import create_app
from cme_tracker.accounts.tokens import create_client
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import Database
from cme_tracker.vocabulary import Role
from tests.conftest import TEST_AUDIT_KEY, migrated_database
from tests.factories import make_lecture, make_member, make_symposium, tokyo
from tests.integration.checkin_data import DAY, SECRET, Clock

pytestmark = pytest.mark.slow

DESKS = 8
MEMBERS = 100
LECTURES = ("2026-05-L1", "2026-05-L2")
PAIRS = [(f"{number:06d}", lecture) for number in range(1, MEMBERS + 1) for lecture in LECTURES]


@dataclass
class Server:
    database: Database
    port: int
    token: str


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[Server]:
    database = migrated_database(fresh_database_url)
    with database.unit_of_work() as session:
        symposium = make_symposium(session, "2026-05", DAY)
        make_lecture(session, symposium, "09:30", "12:00")
        make_lecture(session, symposium, "09:30", "12:00")
        for number in range(1, MEMBERS + 1):
            make_member(session, member_no=f"{number:06d}")
        _client, token = create_client(session, name="desk", role=Role.DESK, actor="test")
    app = create_app(
        {
            "CLOCK": Clock(tokyo(DAY, "10:00")),
            "DATABASE": database,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": SECRET,
            "AUDIT_KEY": TEST_AUDIT_KEY,
        }
    )
    http_server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(database, http_server.server_port, token)
    finally:
        http_server.shutdown()
        thread.join()
        database.engine.dispose()


Answer = tuple[str, int, Any]
"""The pair a scan was for, the HTTP status and the JSON body of the answer."""


def desk_run(
    server: Server, desk: int, direction: str, start: threading.Barrier, answers: list[Answer]
) -> None:
    """Scan every pair once; desks 0-3 send the same nonce for a pair (one desk's retries), 4-7 their own."""
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    start.wait()
    for member_no, lecture in PAIRS:
        nonce = f"{direction}-{member_no}-{lecture}" + ("" if desk < DESKS // 2 else f"-desk{desk}")
        body = {"member_no": member_no, "lecture_code": lecture, "direction": direction, "nonce": nonce}
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.request("POST", "/api/v1/checkins", json.dumps(body), headers)
            response = connection.getresponse()
            answers.append((f"{member_no}/{lecture}", response.status, json.loads(response.read())))
        finally:
            connection.close()


def race(server: Server, direction: str) -> list[Answer]:
    """Eight desks scanning the same pairs in the same order, started at the same instant."""
    answers: list[Answer] = []
    start = threading.Barrier(DESKS)
    desks = [
        threading.Thread(target=desk_run, args=(server, desk, direction, start, answers))
        for desk in range(DESKS)
    ]
    for desk in desks:
        desk.start()
    for desk in desks:
        desk.join()
    assert len(answers) == DESKS * len(PAIRS)
    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) <= {200, 201}, statuses
    created = Counter(pair for pair, status, _ in answers if status == 201)
    assert created == dict.fromkeys(created, 1) and len(created) == len(PAIRS)
    attendance_ids = {pair: body["attendance"]["id"] for pair, _, body in answers}
    assert all(body["attendance"]["id"] == attendance_ids[pair] for pair, _, body in answers)
    return answers


def test_desks_racing_for_the_same_200_pairs_make_one_attendance_each(server: Server) -> None:
    answers = race(server, "in")
    repeats = [body["status"] for _, status, body in answers if status == 200]
    assert repeats == ["already_checked_in"] * (DESKS - 1) * len(PAIRS)

    with server.database.sessions() as session:
        live = session.execute(
            select(Attendance.member_id, Attendance.lecture_id, func.count())
            .where(Attendance.voided_at.is_(None))
            .group_by(Attendance.member_id, Attendance.lecture_id)
        ).all()
        assert len(live) == len(PAIRS)
        assert {count for _, _, count in live} == {1}
        scans = session.scalar(select(func.count()).select_from(Scan))
        assert scans == len(PAIRS) * (DESKS // 2 + 1)
        first = session.scalar(select(func.min(Attendance.check_in_at)))
        assert first == datetime(2026, 5, 16, 1, 0, tzinfo=UTC)


def test_desks_racing_to_check_the_same_200_pairs_out_close_each_attendance_once(server: Server) -> None:
    race(server, "in")
    answers = race(server, "out")
    repeats = [body["status"] for _, status, body in answers if status == 200]
    assert repeats == ["already_checked_out"] * (DESKS - 1) * len(PAIRS)
    with server.database.sessions() as session:
        spans = session.execute(select(Attendance.check_in_at, Attendance.check_out_at)).all()
        assert len(spans) == len(PAIRS)
        assert {check_out for _, check_out in spans} == {datetime(2026, 5, 16, 1, 0, tzinfo=UTC)}
        audited = session.scalar(select(func.count()).where(AuditEvent.action == "attendance.out"))
        assert audited == len(PAIRS)
