"""`cme-tracker serve`: the app behind gunicorn, the production server."""

from __future__ import annotations

from typing import Any

import click
from gunicorn.app.base import BaseApplication

DEFAULT_THREADS = 1
"""Threads per worker of `cme-tracker serve` unless told otherwise (1: gunicorn's sync workers)."""


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


def gunicorn_options(host: str, port: int, workers: int, threads: int = DEFAULT_THREADS) -> dict[str, Any]:
    """The gunicorn settings of `cme-tracker serve`: sync workers, or gthread workers when threads > 1."""
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "forwarded_allow_ips": "127.0.0.1",
        "timeout": 120,
    }
    if threads > 1:
        options["worker_class"] = "gthread"
        options["threads"] = threads
    return options


def run_gunicorn(host: str, port: int, workers: int, threads: int = DEFAULT_THREADS) -> None:
    _Gunicorn(gunicorn_options(host, port, workers, threads)).run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker; above 1 the workers are gunicorn's gthread workers.",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (put a reverse proxy with HTTPS in front in production)."""
    run_gunicorn(host, port, workers, threads)
