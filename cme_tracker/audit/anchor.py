"""The audit chain's head, keyed, in a small file outside the database.

Someone with database access only could cut the newest events and roll the head row back to an older, validly
keyed state (or wipe the table); the anchor file remembers how far the chain had come. It is advanced after
the transaction that appended commits (never before: a rolled-back append must not move it), so it is at or
behind the database's head, never ahead of it unless the database lost events.

Writing it durably (fsync) costs some milliseconds, ten times the append itself, so a check-in does not wait
for it: a thread of the process writes the newest committed mark, coalescing the marks committed meanwhile,
and a process flushes it before it verifies and when it exits. A crash can thus leave the anchor a few events
behind (the window is the time of one write), which verification accepts as long as the chain extends it.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import hmac
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

ANCHOR = "audit_anchor"
"""The ``Session.info`` entry holding the anchor file's path (None: not anchored)."""
_PENDING = "audit_anchor_pending"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Mark:
    """A point of the chain: the sequence of an event and its hash."""

    sequence: int
    hash: str


def head_mac(key: bytes, mark: Mark) -> str:
    """The key's HMAC over the head row's sequence and hash: editing the head row without the key shows."""
    return _mac(key, "head", mark)


def anchor_mac(key: bytes, mark: Mark) -> str:
    """The key's HMAC over the anchor file's mark (another label than the head's, so neither stands in for
    the other)."""
    return _mac(key, "anchor", mark)


def note_append(session: Session, mark: Mark) -> None:
    """Remember the session's newest event, to anchor it once the transaction commits."""
    if session.info.get(ANCHOR) is not None:
        session.info[_PENDING] = mark


def read(path: Path, key: bytes) -> Mark | str | None:
    """The anchored mark; None when there is no file yet; a reason when the file is not a valid anchor."""
    try:
        document = json.loads(path.read_bytes())
        mark = Mark(int(document["sequence"]), str(document["hash"]))
        mac = str(document["mac"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return "the anchor file outside the database is unreadable"
    if not hmac.compare_digest(mac, anchor_mac(key, mark)):
        return "the anchor file outside the database is not keyed with the audit key"
    return mark


def advance(path: Path, key: bytes, mark: Mark) -> None:
    """Move the anchor to ``mark`` unless it is already as far: under a lock file, so that processes
    committing concurrently never move it back, and atomically (temporary file, fsync, rename), so that a
    crash leaves the old or the new anchor, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read(path, key)
        if isinstance(current, Mark) and current.sequence >= mark.sequence:
            return
        document = {"sequence": mark.sequence, "hash": mark.hash, "mac": anchor_mac(key, mark)}
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _mac(key: bytes, label: str, mark: Mark) -> str:
    return hmac.new(key, f"{label}\n{mark.sequence}\n{mark.hash}".encode(), hashlib.sha256).hexdigest()


class _Writer:
    """The process's thread that advances anchor files after commits, newest mark first, off the hot path."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.pending: dict[Path, tuple[bytes, Mark]] = {}
        self.busy = False
        self.thread: threading.Thread | None = None

    def submit(self, path: Path, key: bytes, mark: Mark) -> None:
        with self.changed:
            queued = self.pending.get(path)
            if queued is None or queued[1].sequence < mark.sequence:
                self.pending[path] = (key, mark)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)
                self.thread.start()
            self.changed.notify_all()

    def flush(self) -> None:
        """Wait until every mark submitted so far is written."""
        with self.changed:
            self.changed.wait_for(lambda: not self.pending and not self.busy)

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: bool(self.pending))
                batch, self.pending, self.busy = self.pending, {}, True
            for path, (key, mark) in batch.items():
                try:
                    advance(path, key, mark)
                except OSError:
                    # the anchor stays behind, which verification tolerates; the operator must see why
                    log.exception(
                        "the audit anchor %s could not be advanced to event %d", path, mark.sequence
                    )
            with self.changed:
                self.busy = False
                self.changed.notify_all()


_writer = _Writer()


def _after_fork() -> None:
    """A forked child (a server worker) has none of its parent's threads: it starts a writer of its own."""
    global _writer
    _writer = _Writer()


os.register_at_fork(after_in_child=_after_fork)


def flush() -> None:
    """Write the anchor marks this process committed and has not written yet."""
    _writer.flush()


atexit.register(flush)


@event.listens_for(Session, "after_commit")
def _anchor_committed(session: Session) -> None:
    """After the commit of a transaction that appended, have the anchor file advanced to its newest event."""
    mark = session.info.pop(_PENDING, None)
    if mark is not None:
        _writer.submit(session.info[ANCHOR], str(session.info["audit_key"]).encode(), mark)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
