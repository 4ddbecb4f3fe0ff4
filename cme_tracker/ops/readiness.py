"""Whether this process can serve: each check names what a load balancer (or an operator) must know.

``/readyz`` runs them all: the database answers, its migrations are current, the instance folder takes a
file, and the keys the documents and the audit chain depend on are present. A failing check says why in a
sentence, never with a secret or a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cme_tracker.config import AUDIT_KEY_FILE, Settings
from cme_tracker.db import Database
from cme_tracker.keys import generated_identity_dir
from cme_tracker.migrate import alembic_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@functools.cache
def _head_revisions() -> frozenset[str]:
    """The migrations' heads: they change only with the code, so they are read once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _database(database: Database, _settings: Settings) -> Check:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("readiness: the database does not answer: %s", error)
        return Check("database", False, "the database does not answer")
    return Check("database", True)


def _migrations(database: Database, _settings: Settings) -> Check:
    try:
        with database.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return Check("migrations", False, "the database does not answer")
    if current != _head_revisions():
        return Check(
            "migrations",
            False,
            f"the database is at {', '.join(sorted(current)) or 'no revision'}, the code needs "
            f"{', '.join(sorted(_head_revisions()))}: run `cme-tracker db upgrade`",
        )
    return Check("migrations", True)


def _instance_folder(_database: Database, settings: Settings) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=settings.instance_path, prefix=".ready-"):
            pass
    except OSError as error:
        return Check("instance_folder", False, f"the instance folder takes no file: {error.strerror}")
    return Check("instance_folder", True)


def _keys(_database: Database, settings: Settings) -> Check:
    missing = []
    if not os.environ.get("CME_AUDIT_KEY") and not (settings.instance_path / AUDIT_KEY_FILE).exists():
        missing.append("the audit key")
    if settings.signing_p12 is not None:
        if not settings.signing_p12.exists():
            missing.append("the signing identity (CME_SIGNING_P12)")
    elif not generated_identity_dir(settings.instance_path).exists():
        missing.append("the signing identity")
    if missing:
        return Check("keys", False, f"{' and '.join(missing)} missing: restore them from the key backup")
    return Check("keys", True)


CHECKS: tuple[Callable[[Database, Settings], Check], ...] = (_database, _migrations, _instance_folder, _keys)


def readiness(database: Database, settings: Settings) -> list[Check]:
    """Every check, in order; the migrations are not asked when the database does not answer."""
    results: list[Check] = []
    for check in CHECKS:
        if check is _migrations and not results[0].ok:
            results.append(Check("migrations", False, "the database does not answer"))
            continue
        results.append(check(database, settings))
    return results
