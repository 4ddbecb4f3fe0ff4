"""Behind a reverse proxy the app sees the client's address, so per-client limits count clients."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request

from cme_tracker import create_app
from cme_tracker.db import Database
from cme_tracker.web.security import public
from tests.conftest import TEST_AUDIT_KEY


def app_with_address_page(db: Database, tmp_path: Path, hops: int) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-secret",
            "AUDIT_KEY": TEST_AUDIT_KEY,
            "PROXY_HOPS": hops,
        }
    )

    @public
    def address() -> str:
        return request.remote_addr or ""

    app.add_url_rule("/address", view_func=address)
    return app


def test_a_trusted_proxy_passes_on_the_client_address(db: Database, tmp_path: Path) -> None:
    client = app_with_address_page(db, tmp_path, hops=1).test_client()
    answer = client.get(
        "/address", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert answer.text == "203.0.113.7"


def test_without_a_proxy_a_forwarded_header_is_ignored(db: Database, tmp_path: Path) -> None:
    client = app_with_address_page(db, tmp_path, hops=0).test_client()
    answer = client.get(
        "/address", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert answer.text == "10.0.0.2"
