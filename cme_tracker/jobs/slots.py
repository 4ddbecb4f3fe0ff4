"""Worker slots: at most ``Settings.job_workers`` workers that the web launched run at once.

A slot is a file in the instance folder that a worker holds under an exclusive ``flock`` while it runs jobs;
the kernel frees it when the worker exits, however it exits, so a dead worker never keeps a slot. The web
takes the slot before it starts a worker and hands the open file down to it, so that it never starts one more
worker than there are slots, however many requests arrive at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from cme_tracker.config import Settings

SLOTS_FOLDER = Path("jobs") / "slots"
"""Where the slot files live in the instance folder."""


class WorkerSlot:
    """One held slot: an open file descriptor with an exclusive lock; closing it frees the slot."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    @classmethod
    def take(cls, settings: Settings) -> WorkerSlot | None:
        """A free slot, now held; None when all of them are held."""
        folder = settings.instance_path / SLOTS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(settings.job_workers):
            descriptor = os.open(folder / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            return cls(descriptor)
        return None

    def release(self) -> None:
        """Free the slot (this process's copy of it: a worker that inherited it holds it on)."""
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1

    def __enter__(self) -> WorkerSlot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
