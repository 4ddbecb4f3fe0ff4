"""gunicorn's access log line (``cme-tracker serve``) holds no verification code: neither the query string of
``/verify/SERIAL?c=CODE`` nor a referrer that carries one, but the path, the status and the request id."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from cme_tracker.server import ACCESS_LOG_FORMAT

CODE = "K7QM-2XWP"


def _access_line(access_log_format: str) -> str:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", access_log_format)
    logger = Logger(config)
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger.access_log.addHandler(Keep())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/verify/A26-7K3M-Q9XP?c={CODE}",
        "PATH_INFO": "/verify/A26-7K3M-Q9XP",
        "QUERY_STRING": f"c={CODE}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_REFERER": f"https://imsj.example/verify/A26-7K3M-Q9XP?c={CODE}",
        "HTTP_USER_AGENT": "pytest",
    }
    response = SimpleNamespace(status="200 OK", headers=[("X-Request-Id", "req-1")], sent=512)
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, dt.timedelta(milliseconds=12))
    assert len(lines) == 1
    return lines[0]


def test_the_access_line_names_the_path_status_and_request_id_but_no_verification_code() -> None:
    line = _access_line(ACCESS_LOG_FORMAT)
    assert '"GET /verify/A26-7K3M-Q9XP HTTP/1.1" 200 512' in line
    assert line.endswith(" req-1")
    assert CODE not in line


@pytest.mark.parametrize("atom", ["%(r)s", "%(q)s", "%(f)s", "%({referer}i)s"])
def test_the_atoms_that_would_carry_the_code_do_carry_it(atom: str) -> None:
    """So that the check above would catch a format that logged them."""
    assert CODE in _access_line(f"{ACCESS_LOG_FORMAT} {atom}")
