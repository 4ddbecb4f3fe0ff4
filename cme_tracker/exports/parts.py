"""The detail CSV written by several processes at once, each a range of members, joined in member order.

Writing a year's detail table is Python work (credits per member, then text), so on a machine with more than
one core, ``jobs`` processes take a contiguous range of member ids each and write its rows to a file of
their own, which the parent appends to its own range in order: the bytes are those of a single pass.

The parent's snapshot is the export. A child reads in a transaction of its own, so it notes the audit log's
head when it starts: every change an export reads (attendance, members, program, policies) appends to that
log in its own transaction, so an equal head means the child saw what the parent sees. A child that saw
another head, failed or died leaves its range to the parent, which writes it in its own snapshot: the
children only ever save time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
from collections.abc import Hashable, Iterable
from itertools import pairwise
from multiprocessing.connection import Connection
from pathlib import Path

from cme_tracker.audit import chain
from cme_tracker.db import Database
from cme_tracker.exports.csvfile import DetailCsv, open_csv
from cme_tracker.exports.rows import MemberPart, YearExport
from cme_tracker.exports.sinks import RowCounts, Target, Written, run_pass

MEMBERS_PER_PART = 1000
"""Fewer members than this per process and starting a process costs more than it saves."""
PART_SUFFIX = ".part"
_BUFFER = 1 << 20


def write_detail_csv(target: Target) -> Written:
    """The CSV format's writer: the detail table of the target's export (read in its session's snapshot)
    to its path, in up to its ``jobs`` processes."""
    return Written(_write_detail(target.database, target.export, target.path, target.jobs))


def _write_detail(database: Database, export: YearExport, path: Path, jobs: int) -> RowCounts:
    ranges = member_ranges(export.members, jobs)
    if len(ranges) < 2 or database.on_one_connection or "fork" not in multiprocessing.get_all_start_methods():
        with open_csv(path) as handle:
            return run_pass(export, [DetailCsv(export, handle)])
    mark = chain.head(export.session)
    context = multiprocessing.get_context("fork")  # the child starts with the loaded export, at no cost
    children: list[tuple[multiprocessing.process.BaseProcess, Connection, Path]] = []
    try:
        for index, member_ids in enumerate(ranges[1:], start=1):
            receiver, sender = context.Pipe(duplex=False)
            part_path = path.with_name(f"{path.name}.{index}{PART_SUFFIX}")
            child = context.Process(
                target=_write_part,
                args=(database, export, member_ids, part_path, sender),
                name=f"export part {index}",
                daemon=True,
            )
            child.start()
            sender.close()
            children.append((child, receiver, part_path))
        with open_csv(path) as handle:
            counts = run_pass(export, [DetailCsv(export, handle)], MemberPart(ranges[0], export.session))
        with path.open("ab") as joined:
            for (process, receiver, part_path), member_ids in zip(children, ranges[1:], strict=True):
                part_counts = _child_counts(receiver, mark)
                process.join()
                if part_counts is None:
                    part_counts = _write_range(export, MemberPart(member_ids, export.session), part_path)
                with part_path.open("rb") as part:
                    shutil.copyfileobj(part, joined, _BUFFER)
                counts = _added(counts, part_counts)
    finally:
        for process, receiver, part_path in children:
            receiver.close()
            if process.is_alive():
                process.kill()
            process.join()
            part_path.unlink(missing_ok=True)
    return counts


def member_ranges(member_ids: Iterable[Hashable], jobs: int) -> list[tuple[int, int]]:
    """Member ids split into up to ``jobs`` contiguous (first, last) ranges of about as many members; one
    range or none means a single pass is quicker."""
    ids = sorted(member_id for member_id in member_ids if isinstance(member_id, int))
    parts = min(jobs, len(ids) // MEMBERS_PER_PART)
    if parts < 2:
        return []
    bounds = [len(ids) * index // parts for index in range(parts + 1)]
    return [(ids[start], ids[end - 1]) for start, end in pairwise(bounds)]


def _write_part(
    database: Database, export: YearExport, member_ids: tuple[int, int], path: Path, sender: Connection
) -> None:
    """In the child: the range in a snapshot of its own, then its audit mark and counts to the parent.

    Whatever stops it (an error, Ctrl-C) it keeps to itself: the parent then writes the range itself and
    reports what fails there, or stops too.
    """
    database.engine.dispose(close=False)  # the parent's connections are the parent's
    outcome: tuple[tuple[int, str], RowCounts] | None = None
    with contextlib.suppress(BaseException), database.snapshot() as session:
        mark = chain.head(session)
        outcome = (mark, _write_range(export, MemberPart(member_ids, session), path))
    with contextlib.suppress(OSError):
        sender.send(outcome)
    sender.close()


def _write_range(export: YearExport, part: MemberPart, path: Path) -> RowCounts:
    with path.open("w", encoding="utf-8", newline="", buffering=_BUFFER) as handle:
        return run_pass(export, [DetailCsv(export, handle, header=False)], part)


def _child_counts(receiver: Connection, mark: tuple[int, str]) -> RowCounts | None:
    """What the child wrote, or None when it saw another state of the database, failed or died."""
    try:
        reply = receiver.recv()
    except EOFError:
        return None
    if reply is None:
        return None
    child_mark, counts = reply
    return counts if child_mark == mark else None


def _added(first: RowCounts, second: RowCounts) -> RowCounts:
    return RowCounts(
        first.members + second.members, first.detail + second.detail, first.totals + second.totals
    )


def default_jobs() -> int:
    """The processes an export uses unless told: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
