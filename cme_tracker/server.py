"""`cme-tracker serve`: the app behind gunicorn, the production server."""

from __future__ import annotations

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


def run_gunicorn(host: str, port: int, workers: int) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
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
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (put a reverse proxy with HTTPS in front in production)."""
    run_gunicorn(host, port, workers)
