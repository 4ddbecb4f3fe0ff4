"""Benchmark of POST /api/v1/checkins behind the real server, against a bare endpoint in the same run.

Run on demand (pytest does not collect it), on a quiet machine: timings are wall-clock::

    .venv/bin/python tests/bench/checkin.py [--databases sqlite,postgresql] [--postgres-url URL]

For each database it starts ``cme-tracker serve`` (gunicorn, 2 workers) on a throwaway database (a SQLite
file, or a PostgreSQL database created from ``--postgres-url`` and dropped afterwards), seeded with 5,000
members, API tokens and a symposium held today in its time zone with lectures open all day. Eight client
threads with keep-alive connections then

1. flat out: check in 2,000 distinct member/lecture pairs by their signed cards (expect 201 each),
2. flat out: scan the same 2,000 pairs again (expect 200 ``already_checked_in``),
3. steady: check in 1,000 more pairs at 50 scans a second from eight desks on a fixed schedule, latency
   counted from each scan's scheduled send time.

The same three phases run against ``tests/bench/bare_app.py`` (one INSERT, no logic) served at the same time
by gunicorn with the same settings on a database of the same kind, each phase right after the app's, so that
both meet the machine in the same state. Prints JSON: requests per second, p50/p95/p99 in ms, the
ratio of each figure to the bare endpoint's, failed scans, and whether the targets are met: p99 under 25 ms
at 50 scans a second, flat out at least half the bare endpoint's throughput, no failed scan.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from databases import throwaway_database
from sqlalchemy import insert, make_url, text

from cme_tracker.accounts.tokens import create_client
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database, create_db_engine
from cme_tracker.members.cards import card_payload
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.server import THREADS as SERVE_THREADS
from cme_tracker.vocabulary import Role

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-key"
AUDIT_KEY = "bench-audit-key"
ZONES = ("Asia/Tokyo", "Europe/Berlin")
"""The symposium is held today in whichever of these zones it is furthest from midnight, so that the run
never crosses into the next day (when scans would be refused as not on the symposium's date)."""
WORKERS = 2
THREADS = SERVE_THREADS
CLIENTS = 8
FIRST_PAIRS = 2000
STEADY_PAIRS = 1000
STEADY_RATE = 50.0
WARM_UP_PAIRS = 96
MEMBERS = 5000
LECTURES = 6
TARGET_P99_MS = 25.0
PHASES = ("warm_up", "flat_first_scans", "flat_repeat_scans", "steady_50_per_second")
TARGET_THROUGHPUT_RATIO = 0.5


@dataclass(frozen=True)
class Scan:
    """One request: the body to send and the statuses that count as answered correctly."""

    body: dict[str, Any]
    expected: tuple[int, ...]


@dataclass
class Phase:
    """The outcome of one phase: latencies in seconds, failures, wall time."""

    latencies: list[float]
    failures: list[str]
    seconds: float
    server_cpu_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return {
            "requests": len(self.latencies),
            "seconds": round(self.seconds, 2),
            "requests_per_second": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(cuts[49] * 1000, 2),
            "p95_ms": round(cuts[94] * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2),
            "server_cpu_ms_per_request": round(self.server_cpu_seconds / len(self.latencies) * 1000, 3),
            "failed": len(self.failures),
            **({"first_failures": self.failures[:5]} if self.failures else {}),
        }


def hours_from_noon(zone: ZoneInfo) -> float:
    local = datetime.now(zone)
    return abs(local.hour + local.minute / 60 - 12)


def seed(url: str) -> tuple[str, list[str], list[str]]:
    """Migrate and fill: members, a symposium today with lectures open all day; the desk token, the cards of
    the members and the lecture codes."""
    database = Database.connect(url, AUDIT_KEY)
    upgrade(database.engine)
    zone = min((ZoneInfo(name) for name in ZONES), key=hours_from_noon)
    today = datetime.now(zone).date()
    code = f"{today:%Y-%m}-B"
    now = datetime.now(UTC)
    members = [
        {
            "member_no": f"{number:06d}",
            "profession": "physician",
            "family_name": "山田",
            "given_name": "太郎",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "タロウ",
            "family_name_romaji": "Yamada",
            "given_name_romaji": "Taro",
            "search_key": f"{number:06d} やまだ たろう yamada taro",
            "card_serial": 1,
            "active": True,
            "needs_review": False,
            "created_at": now,
        }
        for number in range(1, MEMBERS + 1)
    ]
    with database.unit_of_work() as session:
        install_presets(session, actor="bench")
        session.execute(insert(Member), members)
        symposium = Symposium(
            code=code, held_on=today, timezone=zone.key, title_ja="ベンチ", title_en="Bench"
        )
        session.add(symposium)
        for position in range(1, LECTURES + 1):
            session.add(
                Lecture(
                    code=f"{code}-L{position}",
                    symposium=symposium,
                    position=position,
                    starts_at=datetime.combine(today, clock_time(0, 0), zone),
                    ends_at=datetime.combine(today, clock_time(23, 59, 59), zone),
                    field="clinical",
                    title_ja="講演",
                    speaker="講師",
                )
            )
        _client, token = create_client(session, name="bench-desk", role=Role.DESK, actor="bench")
        cards = [card_payload(SECRET, Member(member_no=row["member_no"], card_serial=1)) for row in members]
    database.engine.dispose()
    return token, cards, [f"{code}-L{position}" for position in range(1, LECTURES + 1)]


def plan(cards: list[str], lectures: list[str]) -> tuple[list[Scan], list[Scan], list[Scan], list[Scan]]:
    """Warm-up, first scans, repeats of them, steady scans: distinct pairs, a fresh nonce every scan."""
    pairs = [(card, lecture) for card in cards for lecture in lectures]
    needed = WARM_UP_PAIRS + FIRST_PAIRS + STEADY_PAIRS
    assert len(pairs) >= needed, "seed more members"
    pairs = pairs[:needed]

    def scans(chosen: list[tuple[str, str]], expected: tuple[int, ...]) -> list[Scan]:
        return [
            Scan(
                {
                    "card": card,
                    "lecture_code": lecture,
                    "direction": "in",
                    "nonce": uuid.uuid4().hex,
                    "desk": "bench",
                    "method": "qr",
                },
                expected,
            )
            for card, lecture in chosen
        ]

    warm_up = scans(pairs[:WARM_UP_PAIRS], (201,))
    first = pairs[WARM_UP_PAIRS : WARM_UP_PAIRS + FIRST_PAIRS]
    steady = pairs[WARM_UP_PAIRS + FIRST_PAIRS :]
    return warm_up, scans(first, (201,)), scans(first, (200,)), scans(steady, (201,))


@contextmanager
def served(command: list[str], url: str, port: int, health: str, cwd: Path) -> Iterator[int]:
    """A gunicorn server in its own process group, stopped at the end; yields the master's pid.

    Its access log is discarded; its error log goes to a file, shown if the server fails to start.
    """
    with (
        tempfile.TemporaryDirectory(prefix="cme-bench-instance-") as instance,
        tempfile.TemporaryFile() as errors,
    ):
        environment = {
            **os.environ,
            "CME_DATABASE_URL": url,
            "CME_SECRET_KEY": SECRET,
            "CME_AUDIT_KEY": AUDIT_KEY,
            "CME_INSTANCE_PATH": instance,
        }
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            wait_until_up(process, port, health, errors)
            yield process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_up(process: subprocess.Popen[bytes], port: int, health: str, errors: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            errors.seek(0)
            raise RuntimeError(f"server exited: {errors.read().decode(errors='replace')}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", health)
            if connection.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU time used so far by these processes (from /proc; vanished ones count 0)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def gunicorn_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(child) for child in children]


def server_processes(master: int, kind: str, admin_url: str, database_url: str) -> Callable[[], list[int]]:
    def find() -> list[int]:
        backends = postgres_backends(admin_url, database_url) if kind == "postgresql" else []
        return gunicorn_workers(master) + backends

    return find


def postgres_backends(admin_url: str, database_url: str) -> list[int]:
    """The server processes serving the database (its connection pool's backends)."""
    name = make_url(database_url).database
    engine = create_db_engine(admin_url)
    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        ).scalars()
        found = list(pids)
    engine.dispose()
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Desk:
    """One client: a keep-alive connection (reopened when the server closes it) and its own latencies."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.headers = {**headers, "Content-Type": "application/json", "Connection": "keep-alive"}

    def send(self, scan: Scan) -> str | None:
        """Send one scan; a description of what went wrong, or None."""
        try:
            self.connection.request("POST", self.path, json.dumps(scan.body), self.headers)
            response = self.connection.getresponse()
            answer = response.read()
            if response.will_close:
                self.connection.close()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            return f"{type(error).__name__}: {error}"
        if response.status not in scan.expected:
            return f"{response.status} {answer[:200].decode(errors='replace')}"
        return None


def flat_out(port: int, path: str, headers: dict[str, str], scans: list[Scan]) -> Phase:
    """Eight clients send their share of ``scans`` back to back."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def run(share: list[Scan]) -> None:
        desk = Desk(port, path, headers)
        mine: list[float] = []
        problems: list[str] = []
        start.wait()
        for scan in share:
            began = time.perf_counter()
            problem = desk.send(scan)
            mine.append(time.perf_counter() - began)
            if problem:
                problems.append(problem)
        with lock:
            latencies.extend(mine)
            failures.extend(problems)

    threads = [threading.Thread(target=run, args=(scans[index::CLIENTS],)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Phase(latencies, failures, time.perf_counter() - began)


def steady(port: int, path: str, headers: dict[str, str], scans: list[Scan]) -> Phase:
    """Scan i is due at start + i/50 s from desk i mod 8; latency runs from when it was due."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    origin = time.perf_counter() + 0.5

    def run(desk_number: int) -> None:
        desk = Desk(port, path, headers)
        mine: list[float] = []
        problems: list[str] = []
        for index in range(desk_number, len(scans), CLIENTS):
            due = origin + index / STEADY_RATE
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            problem = desk.send(scans[index])
            mine.append(time.perf_counter() - due)
            if problem:
                problems.append(problem)
        with lock:
            latencies.extend(mine)
            failures.extend(problems)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(latencies, failures, time.perf_counter() - origin)


@dataclass(frozen=True)
class Endpoint:
    """Where one of the two servers listens, and the scans it is sent."""

    port: int
    path: str
    headers: dict[str, str]
    phases: dict[str, list[Scan]]
    server_processes: Callable[[], list[int]]
    """The gunicorn workers, and on PostgreSQL the database's backends: whose CPU time serves the scans."""


def run_phases(endpoints: dict[str, Endpoint]) -> dict[str, dict[str, Any]]:
    """Each phase on each endpoint in turn, so that both meet the machine in the same state."""
    results: dict[str, dict[str, Any]] = {name: {} for name in endpoints}
    for phase in PHASES:
        for name, endpoint in endpoints.items():
            run = steady if phase.startswith("steady") else flat_out
            processes = endpoint.server_processes()
            used = cpu_seconds(processes)
            outcome = run(endpoint.port, endpoint.path, endpoint.headers, endpoint.phases[phase])
            outcome.server_cpu_seconds = cpu_seconds(processes) - used
            if phase != "warm_up":
                results[name][phase] = outcome.summary()
    return results


def bench_database(kind: str, postgres_url: str) -> dict[str, Any]:
    """The app and the bare endpoint served at once, each on its own database of the kind."""
    server_url = None if kind == "sqlite" else postgres_url
    with throwaway_database(server_url) as url, throwaway_database(server_url) as bare_url:
        token, cards, lectures = seed(url)
        upgrade_only(bare_url)
        phases = dict(zip(PHASES, plan(cards, lectures), strict=True))
        app_port, bare_port = free_port(), free_port()
        serve = [
            str(VENV_BIN / "cme-tracker"),
            "serve",
            "--port",
            str(app_port),
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
        ]
        gunicorn = [
            str(VENV_BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{bare_port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--timeout",
            "120",
            "bare_app:app",
        ]
        with (
            served(serve, url, app_port, "/api/v1/openapi.json", ROOT) as app_master,
            served(gunicorn, bare_url, bare_port, "/ping", BENCH) as bare_master,
        ):
            endpoints = {
                "checkin": Endpoint(
                    app_port,
                    "/api/v1/checkins",
                    {"Authorization": f"Bearer {token}"},
                    phases,
                    server_processes(app_master, kind, postgres_url, url),
                ),
                "bare": Endpoint(
                    bare_port,
                    "/bare",
                    {},
                    {name: [Scan(scan.body, (201,)) for scan in scans] for name, scans in phases.items()},
                    server_processes(bare_master, kind, postgres_url, bare_url),
                ),
            }
            results = run_phases(endpoints)
    checkin, bare = results["checkin"], results["bare"]
    return {
        "checkin": checkin,
        "bare": bare,
        "ratios": ratios(checkin, bare),
        "targets": targets(checkin, bare),
    }


def upgrade_only(url: str) -> None:
    database = Database.connect(url, AUDIT_KEY)
    upgrade(database.engine)
    database.engine.dispose()


FLAT_PHASES = ("flat_first_scans", "flat_repeat_scans")


def ratios(checkin: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """Each figure of the check-in endpoint divided by the bare endpoint's; ``flat_out_overall`` compares the
    throughput of both flat-out phases together (all 4,000 scans over their total time)."""
    keys = ("requests_per_second", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request")
    figures: dict[str, Any] = {
        phase: {key: round(checkin[phase][key] / bare[phase][key], 2) for key in keys if bare[phase][key]}
        for phase in checkin
    }
    figures["flat_out_overall"] = {
        "requests_per_second": round(flat_throughput(checkin) / flat_throughput(bare), 2)
    }
    return figures


def flat_throughput(results: dict[str, Any]) -> float:
    requests: int = sum(results[phase]["requests"] for phase in FLAT_PHASES)
    seconds: float = sum(results[phase]["seconds"] for phase in FLAT_PHASES)
    return requests / seconds


def targets(checkin: dict[str, Any], bare: dict[str, Any]) -> dict[str, bool]:
    """Met or not; the throughput target is read strictly, phase by phase."""
    return {
        "steady_p99_under_25_ms": checkin["steady_50_per_second"]["p99_ms"] < TARGET_P99_MS,
        "flat_out_at_least_half_of_bare": all(
            checkin[phase]["requests_per_second"]
            >= TARGET_THROUGHPUT_RATIO * bare[phase]["requests_per_second"]
            for phase in FLAT_PHASES
        ),
        "no_failed_scan": all(summary["failed"] == 0 for summary in checkin.values()),
    }


def postgres_version(url: str) -> str:
    engine = Database.connect(url, AUDIT_KEY).engine
    with engine.connect() as connection:
        version = str(connection.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    return version


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    options = parser.parse_args(argv)
    kinds = [kind.strip() for kind in options.databases.split(",") if kind.strip()]
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            **({"postgresql": postgres_version(options.postgres_url)} if "postgresql" in kinds else {}),
            "server": f"gunicorn, {WORKERS} gthread workers of {THREADS} threads (as `cme-tracker serve`)",
            "clients": f"{CLIENTS} threads, http.client keep-alive",
        },
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for kind in kinds:
        report[kind] = bench_database(kind, options.postgres_url)
        print(f"{kind} done", file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
