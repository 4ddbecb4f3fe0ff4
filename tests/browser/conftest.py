"""Browser tests: the real app served on a port of its own, driven by Debian's Chromium through Playwright.

Never a downloaded browser: Playwright is pointed at /usr/bin/chromium, and the tests are skipped, saying why,
where it is missing. The app runs in a thread on a committed database of its own, and can be stopped and
started again on the same port, as when the venue's network or server drops.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from cme_tracker import create_app
from cme_tracker.db import Database
from tests.conftest import TEST_AUDIT_KEY, migrated_database

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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET_KEY = "browser-test-secret"

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


@pytest.fixture
def live_database(fresh_database_url: str) -> Iterator[Database]:
    """A migrated database of the test's own, committed to for real: the server's threads all see it."""
    database = migrated_database(fresh_database_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def live_app(live_database: Database, tmp_path: Path) -> Flask:
    return create_app(
        {
            "DATABASE": live_database,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": SECRET_KEY,
            "AUDIT_KEY": TEST_AUDIT_KEY,
        }
    )


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app)
    server.start()
    yield server
    if server._server is not None:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """Opens a tab in a fresh browser profile speaking ``locale``; fails the test if its scripts raised."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_in(locale: str) -> Page:
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": 1180, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_in
    for context in contexts:
        context.close()
    assert errors == [], "the page's scripts raised"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Saves a full-page screenshot as test-artifacts/<test name>/<step>.png (git-ignored, kept by CI)."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Page, step: str) -> Path:
        path = folder / f"{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
