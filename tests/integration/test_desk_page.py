"""The attendance desk page: who may open it, which symposia it offers, and its offline shell."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cme_tracker.vocabulary import Role
from tests.factories import make_lecture, make_member, make_symposium
from tests.integration.web_login import log_in, make_login

ENGLISH = {"Accept-Language": "en"}
_CONFIG = re.compile(r"data-config='([^']*)'")


def _today(zone: str = "Asia/Tokyo") -> Any:
    return datetime.now(ZoneInfo(zone)).date()


def _config(page: str) -> dict[str, Any]:
    match = _CONFIG.search(page)
    assert match is not None, "the desk page has no data-config attribute"
    config: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return config


def _logged_in(client: FlaskClient, session: Session, *roles: Role) -> None:
    member = make_member(session) if Role.MEMBER in roles else None
    make_login(session, "clerk", *roles, member=member)
    log_in(client, "clerk")


@pytest.mark.parametrize("role", [Role.DESK, Role.ADMIN])
def test_desk_staff_and_admins_open_the_desk_page(client: FlaskClient, session: Session, role: Role) -> None:
    _logged_in(client, session, role)
    response = client.get("/desk/", headers=ENGLISH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Attendance desk</h1>" in page
    assert 'id="desk-input"' in page
    assert 'aria-live="assertive"' in page
    assert 'href="/desk/"' in page, "the header links to the desk"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUDITOR])
def test_members_and_auditors_may_not_open_the_desk_page(
    client: FlaskClient, session: Session, role: Role
) -> None:
    _logged_in(client, session, role)
    assert client.get("/desk/").status_code == 403
    assert 'href="/desk/"' not in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_the_login_form_and_back(client: FlaskClient) -> None:
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/desk/")


def test_anonymous_visitor_may_not_register_a_walk_in(client: FlaskClient) -> None:
    assert client.post("/desk/walk-ins", json={}).status_code in (302, 400)


def test_desk_staff_see_only_todays_scheduled_symposia(client: FlaskClient, session: Session) -> None:
    today = make_symposium(session, "2026-T1", _today(), title_en="Today's symposium")
    make_lecture(session, today, "10:00", "11:00", title_en="Morning lecture")
    make_symposium(session, "2026-T2", _today() - timedelta(days=30), title_en="Last month")
    make_symposium(session, "2026-T3", _today(), title_en="Closed today", status="closed")
    _logged_in(client, session, Role.DESK)
    config = _config(client.get("/desk/", headers=ENGLISH).get_data(as_text=True))
    assert [symposium["code"] for symposium in config["symposia"]] == ["2026-T1"]
    lecture = config["symposia"][0]["lectures"][0]
    assert lecture == {"code": "2026-T1-L1", "title": "Morning lecture", "starts": "10:00", "ends": "11:00"}
    assert config["symposia"][0]["timezone"] == "Asia/Tokyo"


def test_today_is_the_symposiums_own_day_in_its_time_zone(client: FlaskClient, session: Session) -> None:
    """A day in Berlin starts eight or seven hours after the day in Tokyo."""
    make_symposium(session, "2026-B1", _today("Europe/Berlin"), timezone="Europe/Berlin")
    make_symposium(session, "2026-B2", _today("Europe/Berlin") + timedelta(days=1), timezone="Europe/Berlin")
    _logged_in(client, session, Role.DESK)
    config = _config(client.get("/desk/").get_data(as_text=True))
    assert [symposium["code"] for symposium in config["symposia"]] == ["2026-B1"]


def test_admins_may_also_pick_other_days_for_corrections(client: FlaskClient, session: Session) -> None:
    make_symposium(session, "2026-T1", _today())
    make_symposium(session, "2026-T2", _today() - timedelta(days=30), status="closed")
    _logged_in(client, session, Role.ADMIN)
    config = _config(client.get("/desk/").get_data(as_text=True))
    assert [symposium["code"] for symposium in config["symposia"]] == ["2026-T1", "2026-T2"]


def test_desk_page_without_a_symposium_today_says_so_and_disables_scanning(
    client: FlaskClient, session: Session
) -> None:
    _logged_in(client, session, Role.DESK)
    page = client.get("/desk/", headers=ENGLISH).get_data(as_text=True)
    assert "No symposium is held today" in page
    assert re.search(r'<input id="desk-input"[^>]*\sdisabled', page)


def test_desk_page_hands_its_scripts_the_phrases_in_the_users_language(
    client: FlaskClient, session: Session
) -> None:
    _logged_in(client, session, Role.DESK)
    config = _config(client.get("/desk/", headers={"Accept-Language": "ja"}).get_data(as_text=True))
    assert config["lang"] == "ja"
    assert config["phrases"]["checked_in"] == "受付しました"
    assert config["phrases"]["not_own_scan"].startswith("受付で取り消せるのは")
    assert config["professions"]["dentist"] == "歯科医師"
    assert config["api"] == "/api/v1"
    assert config["undoMinutes"] == 10
    assert config["csrfToken"]


def test_desk_page_loads_its_scripts_as_files_the_csp_allows(client: FlaskClient, session: Session) -> None:
    _logged_in(client, session, Role.DESK)
    response = client.get("/desk/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert '<script type="module" src="/static/desk/desk.js"></script>' in page
    with client.get("/static/desk/desk.js") as script:
        assert script.status_code == 200


def test_service_worker_is_served_from_the_desk_so_its_scope_covers_the_page(client: FlaskClient) -> None:
    with client.get("/desk/sw.js") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert "no-cache" in response.headers["Cache-Control"]
        assert "addEventListener('fetch'" in response.get_data(as_text=True)


def test_service_worker_keeps_every_script_the_desk_page_loads() -> None:
    """A script missing from the offline shell would break the page when it is reloaded offline."""
    static = Path(__file__).resolve().parents[2] / "cme_tracker" / "static"
    worker = (static / "desk" / "sw.js").read_text(encoding="utf-8")
    cached = set(re.findall(r"'((?:desk|css|img)/[^']+)'", worker))
    scripts = {f"desk/{path.name}" for path in (static / "desk").glob("*.js") if path.name != "sw.js"}
    assert scripts <= cached
    assert {"css/site.css", "img/seal.svg"} <= cached


def test_only_admins_get_the_time_field_for_corrections(client: FlaskClient, session: Session) -> None:
    make_symposium(session, "2026-T1", _today(), title_ja="学術講演会")
    _logged_in(client, session, Role.DESK)
    assert 'id="desk-time"' not in client.get("/desk/").get_data(as_text=True)
    make_login(session, "root", Role.ADMIN)
    log_in(client, "root")
    page = client.get("/desk/").get_data(as_text=True)
    assert 'id="desk-time"' in page
    assert _config(page)["symposia"][0] | {"lectures": []} == {
        "code": "2026-T1",
        "title": "学術講演会",
        "heldOn": _today().isoformat(),
        "today": True,
        "timezone": "Asia/Tokyo",
        "lectures": [],
    }
