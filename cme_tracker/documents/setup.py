"""What a process needs to render, sign and store documents, as plain values that pickle to worker processes.

A module of its own so that the pages and commands that only pass it on do not load WeasyPrint or pyHanko.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cme_tracker.config import Settings


@dataclass(frozen=True)
class DocumentSetup:
    """What a process needs to render, sign and store documents: plain values, sent to worker processes."""

    instance_path: Path
    signing_p12: Path | None = None
    signing_password: str | None = None
    public_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentSetup:
        return cls(
            settings.instance_path, settings.signing_p12, settings.signing_password, settings.public_url
        )
