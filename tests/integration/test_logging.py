"""Logging: JSON lines with request ids, X-Request-ID in and out, tracebacks in the log and never in a page,
jobs from start to finish, bounded log files, and no secret in any line."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker import logs
from cme_tracker.accounts import commands as account_commands
from cme_tracker.certificates.issue import ISSUE_CERTIFICATES
from cme_tracker.db import Database
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs.service import JobKind, JobProgress, submit_job
from cme_tracker.vocabulary import Role
from cme_tracker.web.security import public
from tests.conftest import TEST_AUDIT_KEY, CommandLine
from tests.integration.certificate_data import certificate_year
from tests.integration.certificate_world import World, world
from tests.integration.web_login import PASSWORD, csrf_token, log_in, make_login

__all__ = ["world"]


class JsonLines:
    """The lines the app's own JSON handler writes, attached to the root logger for one test."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    lines = JsonLines()
    handler = logs.make_handler("json")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(lines.stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def _crash() -> str:
    raise RuntimeError("a bug with a detail the page must not show")


@pytest.fixture
def crashing_app(app: Flask) -> Flask:
    probes = Blueprint("log_probes", __name__)
    probes.add_url_rule("/crash", "crash", public(_crash))
    app.register_blueprint(probes)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_json_lines_parse_and_carry_the_request_id(
    client: FlaskClient, session: Session, json_lines: JsonLines
) -> None:
    make_login(session, "alice", Role.DESK)
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"login": "alice", "password": "not the password", "csrf_token": token},
        headers={"X-Request-ID": "proxy-7f3a"},
    )

    assert response.headers["X-Request-ID"] == "proxy-7f3a"
    entries = json_lines.entries()
    failure = [entry for entry in entries if "login failed" in entry["message"]]
    assert len(failure) == 1
    assert failure[0]["request_id"] == "proxy-7f3a"
    assert failure[0]["level"] == "WARNING"
    assert failure[0]["logger"] == "cme_tracker.accounts.views"
    assert "user:alice" in failure[0]["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(failure[0])


def test_a_line_outside_a_request_has_no_request_id(json_lines: JsonLines) -> None:
    logging.getLogger("cme_tracker.test").info("between requests")
    assert json_lines.entries()[-1]["request_id"] == "-"


def test_a_sane_request_id_is_taken_and_echoed(client: FlaskClient) -> None:
    for given in ("abc", "3f2b1c1e-4a7d-4a57-9a0e-1c2d3e4f5a6b", "Root=1-5759e988-bd862e3fe1be46a9"):
        assert client.get("/login", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def test_a_missing_request_id_is_made_fresh_for_each_request(client: FlaskClient) -> None:
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/login").headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize(
    "hostile",
    ["x" * 10_000, "abc\nINFO forged line", "abc\r\nSet-Cookie: a=b", "<script>", "", " abc", "a b"],
)
def test_a_hostile_request_id_is_replaced(client: FlaskClient, hostile: str) -> None:
    response = client.get("/login", environ_overrides={"HTTP_X_REQUEST_ID": hostile})
    echoed = response.headers["X-Request-ID"]
    assert echoed != hostile
    assert len(echoed) == 32 and int(echoed, 16) >= 0


def test_accept_request_id_bounds_length_and_characters() -> None:
    assert logs.accept_request_id("a" * 128) == "a" * 128
    assert logs.accept_request_id("a" * 129) != "a" * 129
    assert logs.accept_request_id("abc\n") != "abc\n"
    assert logs.accept_request_id(None) != logs.accept_request_id(None)


def test_an_unexpected_error_logs_its_traceback_and_the_page_shows_none(
    crashing_app: Flask, json_lines: JsonLines
) -> None:
    response = crashing_app.test_client().get("/crash", headers={"Accept-Language": "en"})

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "a detail the page must not show" not in page
    assert "Traceback" not in page and "RuntimeError" not in page
    logged = [entry for entry in json_lines.entries() if "traceback" in entry]
    assert len(logged) == 1, "logged once, with its traceback"
    assert logged[0]["level"] == "ERROR"
    assert logged[0]["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError: a bug with a detail the page must not show" in logged[0]["traceback"]
    assert "_crash" in logged[0]["traceback"]


def test_an_unexpected_error_in_the_api_logs_its_traceback_and_answers_plain_json(
    crashing_app: Flask, json_lines: JsonLines
) -> None:
    crashing_app.add_url_rule("/api/v1/crash", "api_crash", public(_crash))
    response = crashing_app.test_client().get("/api/v1/crash")
    assert response.status_code == 500
    assert "a detail" not in response.get_data(as_text=True)
    assert any("RuntimeError" in entry.get("traceback", "") for entry in json_lines.entries())


def _queue(db: Database, symposium_code: str) -> int:
    with db.sessions() as session, session.begin():
        return submit_job(
            session,
            JOB_KINDS,
            kind=ISSUE_CERTIFICATES,
            parameters={"symposium_code": symposium_code},
            actor="user:admin",
        ).id


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("CME_INSTANCE_PATH", str(folder))
    return folder


def test_a_job_logs_its_start_progress_and_finish(
    db: Database, cli: CommandLine, instance: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with db.sessions() as session, session.begin():
        certificate_year(session)
    job_id = _queue(db, "2026-05")

    assert cli("worker", "--once", "--processes", "1").exit_code == 0

    messages = [record.getMessage() for record in caplog.records if record.name == "cme_tracker.jobs.service"]
    assert messages[0] == f"job {job_id} ({ISSUE_CERTIFICATES}) started for user:admin: " + str(
        {"symposium_code": "2026-05"}
    )
    assert f"job {job_id}: 5 of 5 done" in messages
    assert messages[-1] == (
        f"job {job_id} ({ISSUE_CERTIFICATES}) finished: 4 issued, 1 without credited attendance; 0 error(s)"
    )
    assert "documents of attendance/2026-05: 4 issued, 1 without credited attendance" in caplog.messages


def test_job_progress_is_logged_at_each_tenth_not_at_each_unit(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id = _queue(db, "2026-05")
    progress = JobProgress(db, job_id)
    for done in range(201):
        progress(done, 200)
    lines = [record.getMessage() for record in caplog.records if record.name == "cme_tracker.jobs.service"]
    assert lines == [f"job {job_id}: {done} of 200 done" for done in range(20, 201, 20)]


def test_a_failed_job_is_logged_with_its_reason_and_a_crash_with_its_traceback(
    db: Database,
    cli: CommandLine,
    instance: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    failing = _queue(db, "1999-01")
    cli("worker", "--once", "--processes", "1")
    refused = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in refused] == [
        f"job {failing} ({ISSUE_CERTIFICATES}) failed: no symposium with code 1999-01"
    ]

    def crash(*_args: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(JOB_KINDS, ISSUE_CERTIFICATES, JobKind(crash))
    crashing = _queue(db, "2026-07")
    cli("worker", "--once", "--processes", "1")
    crashed = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(crashed) == 1
    assert crashed[0].getMessage() == f"job {crashing} ({ISSUE_CERTIFICATES}) stopped by an unexpected error"
    assert crashed[0].exc_info is not None and "disk on fire" in str(crashed[0].exc_info[1])


def test_an_unexpected_error_in_a_command_is_logged_with_its_traceback(
    cli: CommandLine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(account_commands, "revoke_client", broken)
    result = cli("tokens", "revoke", "desk-a")
    assert result.exit_code == 1
    assert "stopped by an unexpected error" in result.output
    assert "the database went away" not in result.output
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert record.exc_info is not None and "the database went away" in str(record.exc_info[1])


def test_a_rotating_log_file_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "worker.log"
    handler = logs.make_handler("text", path)
    logger = logging.Logger("bounded")
    logger.addHandler(handler)
    for number in range(60_000):  # about 6 MB of lines
        logger.info("line %06d %s", number, "x" * 60)
    handler.close()

    files = sorted(path.parent.iterdir())
    assert [file.name for file in files] == ["worker.log", "worker.log.1", "worker.log.2", "worker.log.3"]
    assert all(file.stat().st_size <= logs.LOG_FILE_BYTES for file in files)
    assert "line 059999" in path.read_text()


def test_configure_logging_leaves_a_host_configuration_alone() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    assert before, "pytest configured logging"
    logs.configure_logging("json")
    assert root.handlers == before and root.level == level


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as in a process nothing configured; pytest's handlers are put back afterwards.

    A context in the test's body: pytest adds its handlers for the test's call after the fixtures ran.
    """
    root = logging.getLogger()
    handlers, level = root.handlers, root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    root.handlers = []
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = handlers
        root.setLevel(level)
        for name, quiet_level in quiet.items():
            logging.getLogger(name).setLevel(quiet_level)


def test_configure_logging_installs_one_handler_and_replaces_its_own(tmp_path: Path) -> None:
    with bare_root() as root:
        _configure_twice_then_to_a_file(root, tmp_path / "app.log")


def _configure_twice_then_to_a_file(root: logging.Logger, path: Path) -> None:
    logs.configure_logging("text")
    logs.configure_logging("json")
    [handler] = root.handlers
    assert isinstance(handler.formatter, logs.JsonFormatter)
    assert root.level == logging.INFO
    logs.configure_logging("text", path)
    [handler] = root.handlers
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert logging.getLogger("fontTools").level == logging.WARNING


def test_logs_hold_no_password_token_key_or_verification_code(
    world: World, json_lines: JsonLines, caplog: pytest.LogCaptureFixture
) -> None:
    """A login (failed, then right), a token created and revoked, and a certificate verified."""
    caplog.set_level(logging.DEBUG)
    wrong_password = "wrong-horse-battery-staple"
    app = world.app()
    client = app.test_client()
    login = world.login(Role.ADMIN)
    assert log_in(client, login, wrong_password).status_code == 200
    assert log_in(client, "correct horse battery staple as a login", wrong_password).status_code == 200
    assert log_in(client, login).status_code == 302
    command_line = CommandLine(world.database)
    created = command_line("tokens", "create", "desk-logging", "--role", "desk")
    token = created.stdout.strip()
    assert created.exit_code == 0 and len(token) > 20
    api = app.test_client().get("/api/v1/symposia/2026-05/attendance", headers={"Authorization": "Bearer x"})
    assert api.status_code == 401
    assert command_line("tokens", "revoke", "desk-logging").exit_code == 0
    issued = world.issued["valid"]
    assert app.test_client().get(f"/verify/{issued.serial}?c={issued.code}").status_code == 200
    assert app.test_client().get(f"/verify/{issued.serial}.json?c={issued.code}").status_code == 200

    logged = json_lines.text() + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    assert "login failed" in logged and "API client desk-logging" in logged
    for secret in (
        PASSWORD,
        wrong_password,
        "correct horse battery staple as a login",
        token,
        issued.code,
        "test-secret",
        TEST_AUDIT_KEY,
    ):
        assert secret not in logged, f"a secret is in the log: {secret[:4]}..."
