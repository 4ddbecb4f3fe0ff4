"""The Japanese catalog is complete and its committed compiled form is not stale.

The app reads the committed ``messages.mo`` at runtime (no build step), so CI recompiles the ``.po`` and
compares, and extracts every message from the code and templates to find any left untranslated.
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "cme_tracker" / "translations"
PO_FILE = TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
"""Babel's own keywords plus flask-babel's lazy_gettext, used for labels defined at import time."""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO_FILE.open("rb") as handle:
        return read_po(handle, locale="ja")


def _used_messages() -> dict[str, str]:
    """Every msgid in cme_tracker/ and templates/, with one place it is used, per the project's babel.cfg."""
    with (TRANSLATIONS / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    used: dict[str, str] = {}
    for folder in (ROOT / "cme_tracker", ROOT / "templates"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            folder, method_map, options_map, keywords=KEYWORDS
        ):
            msgid = message if isinstance(message, str) else message[0]
            used.setdefault(msgid, f"{folder.name}/{filename}:{lineno}")
    return used


def test_committed_mo_file_is_the_compiled_po_file(catalog: Catalog) -> None:
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with MO_FILE.open("rb") as committed:
        expected = _messages(gettext.GNUTranslations(compiled))
        actual = _messages(gettext.GNUTranslations(committed))
    assert actual == expected, "run `pybabel compile -d cme_tracker/translations` and commit messages.mo"


def _messages(translations: gettext.GNUTranslations) -> dict[object, str]:
    """The translated messages, without the header entry (whose Generated-By names the Babel version)."""
    catalog: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    return {msgid: text for msgid, text in catalog.items() if msgid != ""}


def test_every_message_in_code_and_templates_has_a_japanese_translation(catalog: Catalog) -> None:
    used = _used_messages()
    assert len(used) > 50, "the extraction found too few messages: is babel.cfg still right?"
    untranslated = sorted(
        f"{where}: {msgid!r}"
        for msgid, where in used.items()
        if msgid not in catalog or not catalog[msgid].string or catalog[msgid].fuzzy
    )
    assert untranslated == []


def test_catalog_keeps_no_message_the_code_no_longer_uses(catalog: Catalog) -> None:
    used = _used_messages()
    stale = sorted(message.id for message in catalog if message.id and message.id not in used)
    assert stale == [], "remove them, or run `pybabel update` so they become obsolete"


def test_translations_keep_the_placeholders_of_their_source(catalog: Catalog) -> None:
    problems = [f"{message.id!r}: {errors}" for message, errors in catalog.check() if errors]
    assert problems == []
