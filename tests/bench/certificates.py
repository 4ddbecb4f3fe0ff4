"""Benchmark of bulk certificate issuance against a naive render-then-sign loop, in the same run.

Run on demand (pytest does not collect it)::

    .venv/bin/python tests/bench/certificates.py [--database-url URL] [--certificates N] [--naive N]

It builds a throwaway database with N members (realistic names from the demo generator) who all attended the
lectures of one symposium, and a quarter as many at a second one. Then it times:

* naive: for a sample of certificates, a fresh WeasyPrint render of the certificate design, then a pyHanko
  signature with a fresh signer, one after another (the way a first version would do it);
* real: ``cme-tracker certificates issue --jobs 2`` as a separate process, start-up included, for the small
  symposium and then the large one; peak memory (RSS of the largest process) of both runs shows whether memory
  stays flat as the count grows.

Finally it checks a sample of issued files: every character the embedded fonts can draw appears in the file's
own text (no glyphs of other members), and each attached certificate.json names only its own member.
Targets on the 2-core machine: real at least 5x faster per certificate than naive; flat memory.
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
from xml.etree import ElementTree

import pikepdf
from certificate_render import naive_render
from databases import throwaway_database
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload

from cme_tracker.attendance.models import Attendance
from cme_tracker.certificates.snapshot import AttendanceContents
from cme_tracker.credits.presets import install_presets
from cme_tracker.db import Database
from cme_tracker.demo.year import write_members, write_program
from cme_tracker.documents.identity import load_signing_identity
from cme_tracker.documents.models import Certificate
from cme_tracker.documents.render import design_folder
from cme_tracker.documents.signing import pyhanko_signer, signature_metadata
from cme_tracker.documents.snapshot import Issue, new_serial
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.migrate import upgrade
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture, Symposium

AUDIT_KEY = "bench-audit-key"
LARGE, SMALL = "2026-05", "2026-03"


def build(url: str, members: int, folder: Path) -> Database:
    """Members, the demo program, and attendances: everyone at LARGE, a quarter of them at SMALL."""
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
        rows: list[dict[str, Any]] = []
        for code, share in ((LARGE, 1.0), (SMALL, 0.25)):
            symposium = session.scalars(select(Symposium).where(Symposium.code == code)).one()
            lectures = session.scalars(select(Lecture).where(Lecture.symposium_id == symposium.id)).all()
            for member_id in member_ids[: int(len(member_ids) * share)]:
                for lecture in rng.sample(list(lectures), k=rng.randint(2, len(lectures))):
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
    """Milliseconds per certificate of a fresh render then a fresh signature, one after another."""
    identity = load_signing_identity(instance)
    with database.sessions() as session:
        symposium = session.scalars(select(Symposium).where(Symposium.code == LARGE)).one()
        contents = AttendanceContents(session, symposium)
        issue = Issue("bench", datetime.now(UTC), "https://cme.example.org")
        documents = [
            contents.content(member, result, issue, new_serial("A", 2026))
            for member, result in list(contents.credited_members())[:sample]
        ]
    started = time.perf_counter()
    for content in documents:
        pdf = naive_render(content)
        output = BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)),
            signature_metadata(),
            signer=pyhanko_signer(identity),
            output=output,
        )
    return (time.perf_counter() - started) * 1000 / len(documents)


def issue(url: str, instance: Path, code: str, jobs: int) -> tuple[float, int, int]:
    """Wall milliseconds of the real command, certificates issued, and peak RSS (KiB) of its processes."""
    environment = {
        **os.environ,
        "CME_DATABASE_URL": url,
        "CME_INSTANCE_PATH": str(instance),
        "CME_AUDIT_KEY": AUDIT_KEY,
    }
    command = [
        sys.executable,
        "-m",
        "cme_tracker",
        "certificates",
        "issue",
        "--symposium",
        code,
        "--jobs",
        str(jobs),
    ]
    measured = [sys.executable, "-c", _PEAK_RSS, *command]
    started = time.perf_counter()
    finished = subprocess.run(measured, env=environment, capture_output=True, text=True, check=True)
    elapsed = (time.perf_counter() - started) * 1000
    issued = int(re.search(r": (\d+) issued", finished.stdout).group(1))  # type: ignore[union-attr]
    return elapsed, issued, int(finished.stdout.split()[-1])


_PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)
"""Runs a command and prints the peak RSS (KiB) of its largest process, pool workers included."""


def font_characters(pdf: pikepdf.Pdf) -> set[str]:
    """Every character the embedded fonts map in their ToUnicode tables."""
    characters: set[str] = set()
    for page in pdf.pages:
        for font in _fonts(page.obj):
            cmap = font.get("/ToUnicode")
            if cmap is None:
                continue
            text = cmap.read_bytes().decode("latin-1")
            for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
                for target in re.findall(r"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", block):
                    characters.add(bytes.fromhex(target).decode("utf-16-be"))
            for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
                for low, high, start in re.findall(
                    r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
                ):
                    first = int.from_bytes(
                        bytes.fromhex(start).decode("utf-16-be").encode("utf-32-be"), "big"
                    )
                    characters.update(
                        chr(first + offset) for offset in range(int(high, 16) - int(low, 16) + 1)
                    )
    return characters


def _fonts(node: pikepdf.Object, seen: set[tuple[int, int]] | None = None) -> list[pikepdf.Dictionary]:
    """Fonts of a page and of the form XObjects it draws, however deeply nested."""
    seen = set() if seen is None else seen
    found = []
    resources = node.get("/Resources") or {}
    for font in (resources.get("/Font") or {}).values():
        found.append(font)
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.objgen in seen or xobject.get("/Subtype") != "/Form":
            continue
        seen.add(xobject.objgen)
        found.extend(_fonts(xobject, seen))
    return found


def only_own_text(database: Database, instance: Path, sample: int) -> dict[str, Any]:
    """Checks files of the large symposium: fonts draw nothing the file does not say; the data is its own.

    The seal's ring text is the one fixed text that poppler does not extract (it is set along a path).
    """
    with database.sessions() as session:
        certificates = session.scalars(
            select(Certificate)
            .join(Symposium)
            .where(Symposium.code == LARGE)
            .options(joinedload(Certificate.member))
            .order_by(Certificate.id)
        ).all()
    chosen = random.Random(7).sample(list(certificates), k=min(sample, len(certificates)))
    design = set("".join(ElementTree.parse(design_folder() / "seal.svg").getroot().itertext()))
    foreign = []
    for certificate in chosen:
        path = instance / certificate.file_path
        text = subprocess.run(
            ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
        with pikepdf.open(path) as pdf:
            extra = {char for char in font_characters(pdf) if not char.isspace()} - set(text) - design
            attached = json.loads(pdf.attachments["certificate.json"].get_file().read_bytes())
        if extra or attached["holder"]["member_no"] != certificate.member.member_no:
            foreign.append({"serial": certificate.serial, "characters_not_in_text": sorted(extra)[:20]})
    return {"checked": len(chosen), "with_foreign_glyphs_or_data": foreign}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL to create a throwaway database from")
    parser.add_argument("--certificates", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=40, help="certificates in the naive sample")
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args()
    with (
        throwaway_database(arguments.database_url) as url,
        tempfile.TemporaryDirectory(prefix="cme-bench-") as work,
    ):
        folder = Path(work)
        instance = folder / "instance"
        database = build(url, arguments.certificates, folder)
        naive_ms = naive(database, instance, arguments.naive)
        small_ms, small_count, small_rss = issue(url, instance, SMALL, arguments.jobs)
        large_ms, large_count, large_rss = issue(url, instance, LARGE, arguments.jobs)
        sizes = [(instance / c.file_path).stat().st_size for c in _all(database)]
        report = {
            "certificates": large_count,
            "naive_ms_per_certificate": round(naive_ms, 1),
            "real_ms_per_certificate": round(large_ms / large_count, 1),
            "speedup_vs_naive": round(naive_ms / (large_ms / large_count), 2),
            "jobs": arguments.jobs,
            "small_run": {
                "certificates": small_count,
                "ms_per_certificate": round(small_ms / small_count, 1),
            },
            "peak_rss_mib": {
                "small_run": round(small_rss / 1024, 1),
                "large_run": round(large_rss / 1024, 1),
            },
            "memory_growth_large_over_small": round(large_rss / small_rss, 2),
            "file_kib": {
                "median": round(statistics.median(sizes) / 1024, 1),
                "max": round(max(sizes) / 1024, 1),
            },
            "own_text_only": only_own_text(database, instance, 40),
            "database": url.split(":")[0],
        }
        database.engine.dispose()
    print(json.dumps(report, indent=2, ensure_ascii=False))


def _all(database: Database) -> list[Certificate]:
    with database.sessions() as session:
        return list(session.scalars(select(Certificate)))


if __name__ == "__main__":
    main()
