"""Benchmark of the office's pages at society scale: every admin page and API list, timed at the server.

Run on demand (pytest does not collect it)::

    .venv/bin/python tests/bench/office.py [--database-url URL] [--runs N]

It builds the credits benchmark's year (10,000 members, 8 symposia, about 300,000 attendances) in a throwaway
database, logs an administrator in, and times every GET route under ``/admin`` and every list under
``/api/v1`` that an office worker opens (their URL arguments filled with real values), through the app in
this process: the time at the server, without a network. Each figure is the median of ``--runs`` requests
after one warm-up, and its ratio to ``/healthz`` (the bare answer of the same app) measured in the same run.
Target: every page under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from credits import seed_attendances, seed_members, seed_program
from databases import throwaway_database
from flask import Flask
from sqlalchemy import select, text

from cme_tracker import create_app
from cme_tracker.accounts.services import create_user
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import Role

PASSWORD = "bench admin password 2026"
SKIPPED_SUFFIXES = (".pdf", ".csv", ".json", ".js", ".css", ".svg", ".png")


def samples(database: Database) -> dict[str, str]:
    """A real value for each URL argument the office's routes take."""
    with database.sessions() as session:
        member_no = session.scalar(select(Member.member_no).order_by(Member.member_no).limit(1))
        symposium = session.scalar(select(Symposium.code).order_by(Symposium.held_on.desc()).limit(1))
        lecture = session.scalar(select(Lecture.code).order_by(Lecture.id).limit(1))
    assert member_no and symposium and lecture
    return {
        "member_no": member_no,
        "code": symposium,
        "symposium_code": symposium,
        "lecture_code": lecture,
        "login": "bench-admin",
    }


def office_urls(app: Flask, values: dict[str, str]) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.endswith(SKIPPED_SUFFIXES):
            continue
        if not (rule.rule.startswith("/admin") or rule.rule.startswith("/api/v1")):
            continue
        if rule.rule.startswith("/api/v1") and rule.arguments - {"code", "member_no"}:
            continue
        if not rule.arguments <= set(values):
            continue
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, **{name: values[name] for name in rule.arguments}))
    urls.append(f"/admin/members?q={values['member_no'][:3]}")
    return sorted(set(urls))


def median_ms(client: Any, url: str, runs: int) -> tuple[float, int]:
    status = client.get(url).status_code
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(timings), status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="a PostgreSQL server URL to create a throwaway database from")
    parser.add_argument("--runs", type=int, default=5, help="requests of each page; the median counts")
    arguments = parser.parse_args(argv)
    rng = random.Random(2026)
    with throwaway_database(arguments.database_url) as url, tempfile.TemporaryDirectory() as instance:
        database = Database.connect(url, audit_key="bench-audit-key")
        try:
            upgrade(database.engine)
            with database.unit_of_work() as session:
                install_presets(session, actor="bench")
                create_user(
                    session, login="bench-admin", password=PASSWORD, roles=[Role.ADMIN], actor="bench"
                )
            seed_members(database.engine, rng)
            seed_attendances(database.engine, rng, seed_program(database.engine, rng))
            if database.engine.dialect.name == "postgresql":
                with database.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            app = create_app(
                {
                    "DATABASE": database,
                    "INSTANCE_PATH": Path(instance),
                    "SECRET_KEY": "bench",
                    "AUDIT_KEY": "bench-audit-key",
                    "WTF_CSRF_ENABLED": False,
                }
            )
            client = app.test_client()
            assert (
                client.post("/login", data={"login": "bench-admin", "password": PASSWORD}).status_code == 302
            )
            baseline, _ = median_ms(client, "/healthz", arguments.runs * 4)
            pages = {}
            for page in office_urls(app, samples(database)):
                milliseconds, status = median_ms(client, page, arguments.runs)
                pages[page] = {
                    "ms": round(milliseconds, 1),
                    "status": status,
                    "ratio": round(milliseconds / baseline, 1),
                }
        finally:
            database.engine.dispose()
    slowest = max(pages, key=lambda page: pages[page]["ms"])
    report = {
        "database": url.split(":", 1)[0],
        "members": 10_000,
        "healthz_ms": round(baseline, 2),
        "slowest": {"page": slowest, **pages[slowest]},
        "over_300_ms": sorted(page for page, figures in pages.items() if figures["ms"] > 300),
        "pages": pages,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
