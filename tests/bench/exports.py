"""Benchmark of auditor exports: a society-sized year as CSV and XLSX against one query and csv.writer.

Run on demand (pytest does not collect it), on a quiet machine::

    .venv/bin/python tests/bench/exports.py [--database-url URL] [--runs N]

It builds the data set of ``tests/bench/credits.py`` (10,000 members, 8 symposia of 6 lectures, about
300,000 attendances) in a throwaway database, then measures each of these in a child process of its own, so
that the child's peak resident memory (``ru_maxrss``) is that export's alone, best of ``--runs`` (the data
set is built in a child too: Linux carries the parent's peak over into a child it forks), the kinds taking
turns so that a busy spell on a shared machine does not skew the ratios:

* ``plain``: one SQL query over the same rows (each attendance joined to its member and to every lecture it
  covers) written with ``csv.writer`` — the floor any export pays to read and write the rows;
* ``csv`` and ``xlsx``: :func:`cme_tracker.exports.services.export_transcripts` to a file, as
  ``cme-tracker export transcripts`` runs it (the CSV in as many processes as there are cores);
* ``csv_one_process``: the CSV in this process alone.

``peak_mb`` is the measuring process's peak resident memory; ``tree_peak_mb`` the most that process and
the processes it started held together (proportional set size, sampled every 20 ms: a forked child shares
its parent's loaded pages, so the sum of their resident sizes would count those twice).

Prints JSON. Targets on the 2-core development machine: CSV under 3 s and within 2x ``plain``; peak memory
under 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from credits import YEAR, seed_attendances, seed_members, seed_program
from databases import throwaway_database
from sqlalchemy import text

from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database
from cme_tracker.documents.setup import DocumentSetup
from cme_tracker.exports.formats import FORMATS
from cme_tracker.exports.parts import default_jobs
from cme_tracker.exports.services import export_transcripts
from cme_tracker.migrate import upgrade
from cme_tracker.vocabulary import YearBasis

AUDIT_KEY = "bench-audit-key"
PLAIN_QUERY = """
SELECT m.member_no, m.profession, m.family_name_romaji, m.given_name_romaji, m.family_name, m.given_name,
       s.code, s.timezone, l.code, l.field, l.starts_at, l.ends_at, a.check_in_at, a.check_out_at
FROM attendances a
JOIN members m ON m.id = a.member_id
JOIN symposia s ON s.id = a.symposium_id
JOIN lectures l ON l.id = a.lecture_id OR (a.lecture_id IS NULL AND l.symposium_id = a.symposium_id)
WHERE a.voided_at IS NULL AND s.held_on >= :first AND s.held_on < :after
ORDER BY a.member_id, l.starts_at
"""


def plain_export(database: Database, out: Path) -> int:
    """The baseline: one query, every row straight into csv.writer."""
    with database.engine.connect() as connection, out.open("w", encoding="utf-8-sig", newline="") as handle:
        rows = connection.execute(
            text(PLAIN_QUERY), {"first": f"{YEAR}-01-01", "after": f"{YEAR + 1}-01-01"}
        ).yield_per(1000)
        writer = csv.writer(handle)
        count = 0
        for partition in rows.partitions():
            writer.writerows(partition)
            count += len(partition)
    return count


def measure_child(url: str, kind: str, out: Path, instance: Path) -> dict[str, Any]:
    """One measurement in this process (the child): wall time and this process's peak memory."""
    database = Database.connect(url, AUDIT_KEY)
    started = time.perf_counter()
    if kind == "plain":
        rows = plain_export(database, out)
    else:
        report = export_transcripts(
            database,
            DocumentSetup(instance),
            YEAR,
            YearBasis.CALENDAR,
            FORMATS[kind.removesuffix("_one_process")],
            out,
            actor="bench",
            jobs=1 if kind.endswith("_one_process") else default_jobs(),
        )
        rows = report.counts.detail
    seconds = time.perf_counter() - started
    database.engine.dispose()
    return {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
        "bytes": out.stat().st_size,
    }


def run_child(url: str, kind: str, folder: Path, *, sample: bool = False) -> dict[str, Any]:
    """One measurement in a child process of its own; with ``sample``, its process tree's memory is sampled
    meanwhile (reading /proc takes the processes' memory lock, which slows their page faults: that run's
    time does not count)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--database-url", url, "--folder", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    tree_peak_kib = 0
    while sample and child.poll() is None:
        tree_peak_kib = max(tree_peak_kib, tree_pss_kib(child.pid))
        time.sleep(SAMPLE_SECONDS)
    child.wait()
    stdout = child.stdout.read() if child.stdout else ""
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args, stdout)
    result: dict[str, Any] = json.loads(stdout)
    result["tree_peak_mb"] = tree_peak_kib / 1024
    return result


SAMPLE_SECONDS = 0.02


def tree_pss_kib(pid: int) -> int:
    """The proportional set size of a process and its descendants: each page shared by n of them counts
    1/n, so the sum is the memory they hold together (a forked child shares its parent's pages)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
        pending.extend(int(child) for child in children)
    return total


def measure(url: str, kinds: tuple[str, ...], folder: Path, runs: int) -> dict[str, dict[str, Any]]:
    """Best time of ``runs`` child processes per kind, and the highest peak memory among them; the memory
    of the process tree comes from one more run per kind, sampled and not timed.

    The kinds take turns (plain, csv, xlsx, plain, ...) rather than running back to back, so that a busy
    spell on a shared machine slows one run of each rather than every run of one, and the ratios hold.
    """
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for _ in range(runs):
        for kind in kinds:
            results[kind].append(run_child(url, kind, folder))
    sampled = {kind: run_child(url, kind, folder, sample=True) for kind in kinds}
    return {
        kind: {
            "seconds": round(min(result["seconds"] for result in measured), 3),
            "peak_mb": round(max(result["peak_mb"] for result in measured), 1),
            "tree_peak_mb": round(sampled[kind]["tree_peak_mb"], 1),
            "rows": measured[0]["rows"],
            "megabytes": round(measured[0]["bytes"] / 1e6, 1),
        }
        for kind, measured in results.items()
    }


def build(url: str, seed: int) -> float:
    started = time.perf_counter()
    rng = random.Random(seed)
    database = Database.connect(url, AUDIT_KEY)
    upgrade(database.engine)
    with database.unit_of_work() as session:
        install_presets(session, actor="bench")
    seed_members(database.engine, rng)
    program = seed_program(database.engine, rng)
    seed_attendances(database.engine, rng, program)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    database.engine.dispose()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="a PostgreSQL server URL to create a throwaway database from")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--child", choices=["build", "plain", "csv", "csv_one_process", "xlsx"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child == "build":
        print(json.dumps(build(arguments.database_url, arguments.seed)))
        return 0
    if arguments.child:
        folder = arguments.folder
        out = folder / f"{arguments.child}.out"
        print(json.dumps(measure_child(arguments.database_url, arguments.child, out, folder / "instance")))
        return 0
    with throwaway_database(arguments.database_url) as url, tempfile.TemporaryDirectory() as scratch:
        setup_seconds = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "build",
                    "--database-url",
                    url,
                    "--seed",
                    str(arguments.seed),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        folder = Path(scratch)
        (folder / "instance").mkdir()
        report: dict[str, Any] = {"database": url.split(":", 1)[0], "setup_seconds": round(setup_seconds, 1)}
        report["cores"] = default_jobs()
        report |= measure(url, ("plain", "csv", "csv_one_process", "xlsx"), folder, arguments.runs)
        report["csv_to_plain"] = round(report["csv"]["seconds"] / report["plain"]["seconds"], 2)
        report["csv_one_process_to_plain"] = round(
            report["csv_one_process"]["seconds"] / report["plain"]["seconds"], 2
        )
        report["xlsx_to_plain"] = round(report["xlsx"]["seconds"] / report["plain"]["seconds"], 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
