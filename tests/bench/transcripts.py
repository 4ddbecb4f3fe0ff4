"""Benchmark of bulk transcript issuance against a naive render-then-sign loop, in the same run.

Run on demand (pytest does not collect it)::

    .venv/bin/python tests/bench/transcripts.py [--database-url URL] [--members N] [--naive N] [--jobs J]

It builds a throwaway database with N members (realistic names from the demo generator) who each attended
two to six of the demo year's symposia, a few lectures at each. Then it times:

* naive: for a sample of members, a fresh all-WeasyPrint render of the transcript design, then a pyHanko
  signature with a fresh signer, one after another;
* real: ``cme-tracker transcripts issue --year 2026 --jobs J`` as a separate process, start-up included.

Prints JSON. Target on the 2-core machine: real at least 4x faster per transcript than naive.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from databases import throwaway_database
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from sqlalchemy import insert, select

from cme_tracker.attendance.models import Attendance
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database
from cme_tracker.demo.year import write_members, write_program
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.signing import pyhanko_signer, signature_metadata
from cme_tracker.documents.snapshot import Issue, new_serial
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.transcripts.render import check_transcript_glyphs, weasyprint_transcript
from cme_tracker.transcripts.snapshot import TranscriptContents
from cme_tracker.vocabulary import YearBasis

AUDIT_KEY = "bench-audit-key"
YEAR = 2026


def build(url: str, members: int, folder: Path) -> Database:
    database = Database.connect(url, AUDIT_KEY)
    upgrade(database.engine)
    rng = random.Random(2026)
    write_members(folder / "members.csv", rng, count=members)
    write_program(folder / "program.csv", rng)
    with database.unit_of_work() as session:
        install_presets(session, actor="bench")
        for run_import, path in (
            (import_members, folder / "members.csv"),
            (import_program, folder / "program.csv"),
        ):
            result = run_import(session, path, actor="bench")
            if not result.ok:
                raise result.rejection()
        member_ids = session.scalars(select(Member.id).order_by(Member.id)).all()
        symposia = session.scalars(select(Symposium).order_by(Symposium.held_on)).all()
        lectures = {
            symposium.id: session.scalars(select(Lecture).where(Lecture.symposium_id == symposium.id)).all()
            for symposium in symposia
        }
        rows: list[dict[str, Any]] = []
        for member_id in member_ids:
            for symposium in rng.sample(list(symposia), k=rng.randint(2, min(6, len(symposia)))):
                chosen = lectures[symposium.id]
                for lecture in rng.sample(list(chosen), k=rng.randint(min(2, len(chosen)), len(chosen))):
                    rows.append(
                        {
                            "member_id": member_id,
                            "symposium_id": symposium.id,
                            "lecture_id": lecture.id,
                            "check_in_at": lecture.starts_at - timedelta(minutes=rng.randint(1, 10)),
                            "check_out_at": lecture.ends_at + timedelta(minutes=rng.randint(0, 5)),
                            "method": "qr",
                            "created_at": datetime.now(UTC),
                        }
                    )
        session.execute(insert(Attendance), rows)
    return database


def naive(database: Database, instance: Path, sample: int) -> float:
    """Milliseconds per transcript of a fresh WeasyPrint render then a fresh signature, one after another."""
    identity = load_signing_identity(instance)
    with database.sessions() as session:
        contents = TranscriptContents(session, YEAR, YearBasis.CALENDAR)
        ids = session.scalars(select(Member.id).order_by(Member.id).limit(sample)).all()
        issue = Issue("bench", datetime.now(UTC), "https://cme.example.org")
        documents = [
            contents.content(member, result, earlier, issue, new_serial("T", YEAR))
            for member, result, earlier in contents.credited_members(ids)
        ]
    started = time.perf_counter()
    for content in documents:
        check_transcript_glyphs(content)
        pdf = weasyprint_transcript(content)
        output = BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)),
            signature_metadata(),
            signer=pyhanko_signer(identity),
            output=output,
        )
    return (time.perf_counter() - started) * 1000 / len(documents)


_PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def issue(url: str, instance: Path, jobs: int) -> tuple[float, int, int]:
    """Wall milliseconds of the real command, transcripts issued, and peak RSS (KiB) of its processes."""
    environment = {
        **os.environ,
        "CME_DATABASE_URL": url,
        "CME_INSTANCE_PATH": str(instance),
        "CME_AUDIT_KEY": AUDIT_KEY,
    }
    command = [sys.executable, "-m", "cme_tracker", "transcripts", "issue", "--year", str(YEAR)]
    measured = [sys.executable, "-c", _PEAK_RSS, *command, "--jobs", str(jobs)]
    started = time.perf_counter()
    finished = subprocess.run(measured, env=environment, capture_output=True, text=True, check=True)
    elapsed = (time.perf_counter() - started) * 1000
    issued = int(re.search(r": (\d+) issued", finished.stdout).group(1))  # type: ignore[union-attr]
    return elapsed, issued, int(finished.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL to create a throwaway database from")
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--naive", type=int, default=20, help="transcripts in the naive sample")
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args()
    with (
        throwaway_database(arguments.database_url) as url,
        tempfile.TemporaryDirectory(prefix="cme-bench-") as work,
    ):
        folder = Path(work)
        instance = folder / "instance"
        database = build(url, arguments.members, folder)
        naive_ms = naive(database, instance, arguments.naive)
        real_ms, count, rss = issue(url, instance, arguments.jobs)
        with database.sessions() as session:
            transcripts = list(session.scalars(select(Certificate)))
        pages = [
            len(re.findall(rb"/Type\s*/Page\b", (instance / t.file_path).read_bytes())) for t in transcripts
        ]
        sizes = [(instance / t.file_path).stat().st_size for t in transcripts]
        report = {
            "transcripts": count,
            "naive_ms_per_transcript": round(naive_ms, 1),
            "real_ms_per_transcript": round(real_ms / count, 1),
            "speedup_vs_naive": round(naive_ms / (real_ms / count), 2),
            "jobs": arguments.jobs,
            "peak_rss_mib": round(rss / 1024, 1),
            "pages": {"median": statistics.median(pages), "max": max(pages)},
            "file_kib": {
                "median": round(statistics.median(sizes) / 1024, 1),
                "max": round(max(sizes) / 1024, 1),
            },
            "database": url.split(":")[0],
        }
        database.engine.dispose()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
