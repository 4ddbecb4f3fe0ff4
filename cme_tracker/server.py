"""`cme-tracker serve`: the app behind gunicorn, the production server.

Each worker process serves with a pool of threads (gunicorn's ``gthread`` class), so that a few clients that
send their requests slowly hold a thread each, not the whole process: with the sync workers, two such clients
stopped the site. Put nginx in front in production: it buffers whole requests before passing them on.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import click
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    """gunicorn driven from code, so the console script needs no separate gunicorn command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from cme_tracker import create_app

        return create_app()


ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s" %({x-request-id}o)s'
"""gunicorn's access line without the query string or the referrer, which can hold a certificate's
verification code (``/verify/SERIAL?c=CODE``), and with the request id the app answered with."""


THREADS = 4
"""Threads per worker process: the requests one process serves at once. Measured with the check-in
benchmark on SQLite (2 workers, 8 desks): 4 threads serve 1.4x the first scans of 1 thread at the same
p99; 8 threads add no throughput and raise the p99 at 50 scans a second from 18 to 30 ms, as more writers
wait for the lock."""


def _metrics_folder() -> None:
    """Give the workers a fresh folder for their metrics files, before any of them starts counting."""
    from cme_tracker import config

    folder = config.instance_path() / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _worker_exited(_server: Any, worker: Any) -> None:
    """A worker's live gauges no longer count once it is gone (the client library's multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def run_gunicorn(host: str, port: int, workers: int, threads: int = THREADS) -> None:
    _metrics_folder()
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "child_exit": _worker_exited,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "forwarded_allow_ips": "127.0.0.1",
            "timeout": 120,
        }
    ).run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=THREADS,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads per worker: how many requests each worker serves at once.",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (put a reverse proxy with HTTPS in front in production)."""
    run_gunicorn(host, port, workers, threads)
