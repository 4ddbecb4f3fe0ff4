"""``cme-tracker worker``: runs the jobs the web pages queue (bulk certificates, transcripts, exports)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import click

from cme_tracker import config, logs
from cme_tracker.config import Settings
from cme_tracker.console import open_database, reports_domain_errors
from cme_tracker.db import Database
from cme_tracker.jobs.service import JobKinds, run_in_slot, run_queued_jobs
from cme_tracker.jobs.slots import WorkerSlot
from cme_tracker.jobs.stopping import STOP, stop_on_signals

POLL_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 600.0
"""How often the long-running worker does the database's upkeep (see ``housekeeping``)."""

log = logging.getLogger(__name__)


def worker_command(
    kinds: JobKinds, housekeeping: Callable[[Database], object] | None = None
) -> click.Command:
    """The ``worker`` command running ``kinds``: the CLI gets it from :mod:`cme_tracker.job_kinds`.

    Without ``--once`` it also runs ``housekeeping`` on start and every :data:`HOUSEKEEPING_SECONDS`.
    """

    @click.command("worker")
    @click.option(
        "--once",
        is_flag=True,
        help="Run the queued jobs in a free worker slot, then exit (the web starts workers this way).",
    )
    @click.option(
        "--processes",
        type=click.IntRange(1, 64),
        default=lambda: os.cpu_count() or 1,
        show_default="the number of CPUs",
        help="Worker processes a bulk job renders and signs with.",
    )
    @click.option(
        "--log-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Log to FILE instead of stderr, rotated at 1 MB, 3 old files kept (the web's workers do).",
    )
    @click.option("--slot-fd", type=int, hidden=True, help="The worker slot the web took for this worker.")
    @reports_domain_errors
    def worker(once: bool, processes: int, log_file: Path | None, slot_fd: int | None) -> None:
        """Run queued jobs; without --once, keep waiting for new ones until interrupted."""
        stop_on_signals()
        if log_file is not None:
            logs.configure_logging(config.log_format(), log_file)
        database = open_database()
        settings = Settings.from_environment()
        if once:
            slot = None if slot_fd is None else WorkerSlot(slot_fd)
            _report(run_in_slot(database, settings, kinds, slot, processes=processes))
            return
        log.info("worker waiting for jobs (%s processes a job)", processes)
        kept_at: float | None = None
        while not STOP.is_set():
            if housekeeping is not None and (
                kept_at is None or time.monotonic() - kept_at >= HOUSEKEEPING_SECONDS
            ):
                housekeeping(database)
                kept_at = time.monotonic()
            _report(run_queued_jobs(database, settings, kinds, processes=processes))
            STOP.wait(POLL_SECONDS)
        log.info("worker stopped")

    return worker


def _report(ran: int) -> None:
    if ran:
        log.info("worker ran %s job(s)", ran)
        click.echo(f"ran {ran} job(s)")
