"""The pieces of the browser tests that are not fixtures: the Chromium to drive and the app's live server.

Never a downloaded browser: Playwright is pointed at Debian's /usr/bin/chromium, and the tests are skipped,
saying why, where it is missing.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET_KEY = "browser-test-secret"
"""The live app's secret: the tests sign member cards with it, as the admin's card sheets do."""

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium; CI has it)",
)


class _ClosingHandler(WSGIRequestHandler):
    """HTTP/1.0: each answer closes its connection, so a stopped server answers nothing more."""

    protocol_version = "HTTP/1.0"


class LiveServer:
    """The app on 127.0.0.1 in a thread, stoppable and restartable on the same port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server(
            "127.0.0.1", self.port, self.app, threaded=True, request_handler=_ClosingHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None
