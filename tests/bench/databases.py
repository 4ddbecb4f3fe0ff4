"""Throwaway databases for the benchmarks: each run measures a database of its own, then drops it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from cme_tracker.db import create_db_engine


@contextmanager
def throwaway_database(url: str | None) -> Iterator[str]:
    """A new empty database: a SQLite file that vanishes, or a PostgreSQL database dropped at the end."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="cme-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    name = f"cme_bench_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
