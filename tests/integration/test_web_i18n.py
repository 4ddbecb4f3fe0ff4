"""Japanese by default, English on request: the switch's cookie first, then the browser's preference."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from tests.integration.web_login import csrf_token


def _login_page(client: FlaskClient, **headers: str) -> str:
    return client.get("/login", headers=headers).get_data(as_text=True)


def test_japanese_is_the_default_language(client: FlaskClient) -> None:
    page = _login_page(client)
    assert '<html lang="ja">' in page
    assert "ログインID" in page
    assert "パスワード" in page


def test_browser_asking_for_english_gets_english(client: FlaskClient) -> None:
    page = _login_page(client, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page
    assert "Login ID" in page
    assert "ログインID" not in page


@pytest.mark.parametrize(
    ("accept", "expected"), [("de-DE,de;q=0.9,en;q=0.5", "en"), ("de", "ja"), ("ja,en", "ja")]
)
def test_browser_preferences_pick_the_best_supported_language(
    client: FlaskClient, accept: str, expected: str
) -> None:
    assert f'<html lang="{expected}">' in _login_page(client, **{"Accept-Language": accept})


def test_language_switch_remembers_the_choice_over_the_browsers(client: FlaskClient) -> None:
    response = client.get("/language/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    cookie = client.get_cookie("lang")
    assert cookie is not None
    assert cookie.value == "en"
    assert cookie.http_only
    assert "Login ID" in _login_page(client, **{"Accept-Language": "ja"})
    client.get("/language/ja?next=/login")
    assert "ログインID" in _login_page(client, **{"Accept-Language": "en"})


def test_every_page_offers_the_switch_back_to_where_it_was(client: FlaskClient) -> None:
    page = _login_page(client, **{"Accept-Language": "ja"})
    assert 'href="/language/en?next=/login"' in page
    assert "日本語" in page


def test_language_switch_never_redirects_to_another_site(client: FlaskClient) -> None:
    response = client.get("/language/en?next=//evil.example/")
    assert response.headers["Location"] == "/"


def test_unknown_language_is_not_found_and_sets_nothing(client: FlaskClient) -> None:
    assert client.get("/language/xx?next=/login").status_code == 404
    assert client.get_cookie("lang") is None


def test_responses_tell_caches_they_vary_by_language(client: FlaskClient) -> None:
    vary = client.get("/login").headers["Vary"]
    assert "Accept-Language" in vary
    assert "Cookie" in vary


def test_switch_on_a_form_answer_returns_to_the_form_with_its_query(client: FlaskClient) -> None:
    form = {"login": "nobody", "password": "wrong", "csrf_token": csrf_token(client)}
    page = client.post("/login?next=/me/credits", data=form).get_data(as_text=True)
    switch = re.search(r'href="(/language/en[^"]*)"', page)
    assert switch is not None
    response = client.get(html.unescape(switch.group(1)))
    assert response.headers["Location"] == "/login?next=/me/credits"
