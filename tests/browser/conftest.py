"""Fixtures of the browser tests: a live app on a committed database of its own, and Chromium tabs.

The app runs in a thread and can be stopped and started again on the same port, as when the venue's network
or server drops. Screenshots of each step go to test-artifacts/ (git-ignored; CI keeps them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from cme_tracker import create_app
from cme_tracker.db import Database
from tests.browser.live_server import CHROMIUM, CHROMIUM_ARGS, SECRET_KEY, LiveServer
from tests.conftest import TEST_AUDIT_KEY, migrated_database

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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
    if server.running:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module: Playwright's event loop runs while it is open, and later tests of the same
    worker (pyHanko's synchronous calls among them) need the thread without a running loop."""
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
