"""Logging for the app, the CLI and the worker: one handler on the root logger, and request ids.

Lines go to stderr, human-readable or one JSON object a line (``CME_LOG_FORMAT=json``), each with the id of
the request being served. A host that configured logging itself (pytest's caplog, an embedding server)
is left alone. Never pass a password, a token, a secret key or a verification code to a logger: lines name
logins, clients and serials only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
"""A request id taken from a client or proxy: short, and nothing that could forge or break a log line."""

LOG_FILE_BYTES = 1_000_000
LOG_FILE_BACKUPS = 3
"""A log file is rotated at 1 MB and three old ones are kept: at most 4 MB, however long it runs."""

QUIET_LOGGERS = ("fontTools", "pikepdf", "weasyprint.progress")
"""Libraries that log routine steps (font subsets, rendering steps) at INFO; only their warnings matter."""

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request this thread or task is serving; None outside a request."""


def accept_request_id(given: str | None) -> str:
    """The client's or proxy's request id when sane, so lines can be matched across hops; else a new one."""
    if given is not None and SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (``-`` outside a request), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    """``2026-05-16 09:30:00,123 INFO cme_tracker.jobs.service [request id] message``, then any traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors; a traceback is a field, so it never splits the line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


HANDLER_NAME = "cme_tracker"
"""The name of the handler :func:`configure_logging` installs, so a second call replaces it."""


def make_handler(log_format: str, log_file: Path | None = None) -> logging.Handler:
    """A handler of ``log_format`` lines with request ids: to stderr, or to a size-bounded ``log_file``."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
    handler.setFormatter(FORMATTERS[log_format]())
    handler.addFilter(RequestIdFilter())
    handler.set_name(HANDLER_NAME)
    return handler


def configure_logging(log_format: str, log_file: Path | None = None) -> None:
    """INFO and above to stderr (or ``log_file``) in ``log_format``, unless the host configured logging.

    Called by the app factory and every command; calling it again replaces the handler it installed.
    """
    root = logging.getLogger()
    own = [handler for handler in root.handlers if handler.get_name() == HANDLER_NAME]
    if len(own) < len(root.handlers):
        return
    for handler in own:
        root.removeHandler(handler)
        handler.close()
    root.addHandler(make_handler(log_format, log_file))
    root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
