"""One database session per request, opened on first use and closed (rolled back if uncommitted) at the end.

Views commit once, after the service succeeded; a failed request leaves the database as it was. The app's
database and settings are read here too, so that views need no other feature's module to reach them.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from cme_tracker.config import Settings
from cme_tracker.db import Database


def database() -> Database:
    db: Database = current_app.extensions["cme_db"]
    return db


def settings() -> Settings:
    configured: Settings = current_app.extensions["cme_settings"]
    return configured


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = database().sessions()
    session: Session = g.db_session
    return session


def _close(_exception: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
