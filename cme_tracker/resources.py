"""Where the folders that ship with the app live: inside the installed package, or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

_IN_WHEEL = {"certificates": "certificate_designs"}
"""Folders renamed inside the wheel: ``certificates/`` (the document designs) would otherwise land in the
Python package ``cme_tracker.certificates``."""


def resource_dir(name: str) -> Path:
    """``templates``, ``certificates`` or ``migrations``: the wheel's copy first, the repository's second."""
    for candidate in (_PACKAGE / _IN_WHEEL.get(name, name), _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is neither inside {_PACKAGE} nor beside it")
