"""A worker asked to stop (SIGTERM, Ctrl-C) finishes the unit of work it is on, hands its job back to the
queue, and exits; the next worker goes on from there, since every job kind does only what is missing.

The request is a flag the signal handler sets; a job's progress callback, which runs between units, checks it
and raises :class:`WorkerStopping`, which the job runner turns into a requeue.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP = threading.Event()


class WorkerStopping(Exception):
    """Raised between two units of a job once the worker was asked to stop."""


def stop_between_units() -> None:
    if STOP.is_set():
        raise WorkerStopping


def _request_stop(_signal: int, _frame: FrameType | None) -> None:
    STOP.set()


def stop_on_signals() -> None:
    """SIGTERM (systemd's stop) and SIGINT (Ctrl-C) ask the worker to stop after the current unit."""
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
