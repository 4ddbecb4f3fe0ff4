"""The app's clock: what the views take as "now" and hand to the services as their ``now`` argument.

``create_app({"CLOCK": callable})`` replaces it (tests set and move the time this way); by default it is
:func:`cme_tracker.db.utcnow`. The services never read a clock of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app

from cme_tracker.db import utcnow

_EXTENSION = "cme_clock"


def now() -> datetime:
    """The current instant, aware, by the app's clock."""
    clock: Callable[[], datetime] = current_app.extensions[_EXTENSION]
    return clock()


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = app.config.get("CLOCK") or utcnow
