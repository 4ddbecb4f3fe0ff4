"""The office in Chromium: an admin creates a desk login that then logs in, creates and revokes a token."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from cme_tracker.accounts.services import create_user
from cme_tracker.db import Database
from cme_tracker.vocabulary import Role
from tests.browser.live_server import LiveServer
from tests.integration.web_login import PASSWORD

DESK_PASSWORD = "blue heron at dawn 42"


def _log_in(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _status_with_token(server: LiveServer, token: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        json.loads(response.read())
        return response.status
    finally:
        connection.close()


def test_an_admin_creates_a_desk_login_then_creates_and_revokes_a_token(
    open_page: Callable[[str], Page],
    live_database: Database,
    live_server: LiveServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    with live_database.unit_of_work() as session:
        create_user(session, login="office", password=PASSWORD, roles=[Role.ADMIN], actor="test")
    page = open_page("en")
    _log_in(page, "office", PASSWORD)
    page.get_by_role("link", name="Users").first.click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    screenshot(page, "01-users")

    page.get_by_role("link", name="Create a login").click()
    page.fill("#login", "sato")
    page.get_by_label("Desk staff").check()
    page.fill("#password", DESK_PASSWORD)
    page.fill("#password_again", DESK_PASSWORD)
    screenshot(page, "02-new-desk-login")
    page.get_by_role("button", name="Create the login").click()
    expect(page.get_by_text("The login sato was created with the initial password.")).to_be_visible()
    expect(page.get_by_role("heading", name="sato")).to_be_visible()
    screenshot(page, "03-desk-login-created")

    desk = open_page("en")
    _log_in(desk, "sato", DESK_PASSWORD)
    expect(desk.get_by_role("heading", name="Overview")).to_be_visible()
    screenshot(desk, "04-desk-logged-in")

    page.goto("/admin/tokens")
    expect(page.locator("#valid_through")).not_to_have_value("")  # pre-filled for an admin token
    page.fill("#name", "office-sync")
    page.get_by_label("Administrator").check()
    screenshot(page, "05-new-token")
    page.get_by_role("button", name="Create the token").click()
    token = page.locator("#token-value").inner_text().strip()
    assert len(token) >= 43
    expect(page.get_by_text("it is shown this once only")).to_be_visible()
    screenshot(page, "06-token-shown-once")
    assert _status_with_token(live_server, token) == 200

    page.get_by_role("link", name="Done").click()
    assert token not in page.content()
    page.get_by_role("row", name="office-sync").get_by_role("link", name="Revoke").click()
    screenshot(page, "07-confirm-revoke")
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.get_by_text("The API token office-sync is revoked")).to_be_visible()
    screenshot(page, "08-token-revoked")
    assert _status_with_token(live_server, token) == 401
