"""Access fails closed: every route declares who may reach it, and one that does not answers 403 to all."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.vocabulary import Role
from cme_tracker.web.security import declared_access
from tests.integration.web_login import log_in, make_login

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_route_of_the_app_declares_its_access(app: Flask) -> None:
    undeclared = sorted(
        f"{rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and declared_access(app.view_functions[rule.endpoint]) is None
    )
    assert undeclared == [], "add @roles_required(...) or @public to these views"


def test_route_without_a_declaration_answers_403_even_to_an_administrator(
    app: Flask, session: Session
) -> None:
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    client = app.test_client()
    assert client.get("/forgotten").status_code == 403
    make_login(session, "root", Role.ADMIN)
    log_in(client, "root")
    assert client.get("/forgotten").status_code == 403


def test_pages_carry_a_content_security_policy_without_inline_code(client: FlaskClient) -> None:
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_templates_use_no_inline_scripts_or_styles_the_policy_would_block() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if path.parent.name != "mail"  # mail is read by mail programs, which ignore style sheets
        and inline.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
