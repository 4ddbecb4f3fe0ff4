"""One run at a time per subject (a symposium's certificates, a year's transcripts), across processes.

PostgreSQL holds a session advisory lock on a connection kept for the run; SQLite, which lives on one machine,
an exclusive lock on a file in the instance folder. Both vanish with the process, so a killed run never leaves
a lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from cme_tracker.errors import Conflict


class RunInProgress(Conflict):
    code = "run_in_progress"


@contextmanager
def subject_lock(engine: Engine, instance_path: Path, subject: str) -> Iterator[None]:
    """Hold the lock of ``subject`` for the block, or raise :class:`RunInProgress` at once."""
    busy = RunInProgress(
        f"another run is already issuing {subject}; wait for it to finish", details={"subject": subject}
    )
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(subject.encode()).digest()[:8], "big", signed=True)
        with engine.connect() as connection:
            acquired = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            connection.commit()
            if not acquired:
                raise busy
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    folder = instance_path / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / (subject.replace("/", "_") + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield
    finally:
        os.close(descriptor)
