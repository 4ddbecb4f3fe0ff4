"""``cme-tracker worker``: runs the jobs the web pages queue (bulk certificates, transcripts, exports)."""

from __future__ import annotations

import os
import time

import click

from cme_tracker.config import Settings
from cme_tracker.console import open_database
from cme_tracker.jobs.service import run_queued_jobs

POLL_SECONDS = 2.0


@click.command("worker")
@click.option(
    "--once", is_flag=True, help="Run the queued jobs, then exit (the web starts workers this way)."
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=lambda: os.cpu_count() or 1,
    show_default="the number of CPUs",
    help="Worker processes a bulk job renders and signs with.",
)
def worker(once: bool, processes: int) -> None:
    """Run queued jobs; without --once, keep waiting for new ones until interrupted."""
    database = open_database()
    settings = Settings.from_environment()
    while True:
        ran = run_queued_jobs(database, settings, processes=processes)
        if ran:
            click.echo(f"ran {ran} job(s)")
        if once:
            return
        time.sleep(POLL_SECONDS)
