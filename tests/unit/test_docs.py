"""The documentation stays true to the repository: links lead to its own files, cli.md names every command.

The README and docs/ are the project's only design documents, so a link to a file outside the repository (or
to one that moved) is a broken promise to the reader; so is a command the CLI reference leaves out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from cme_tracker.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"`+[^`\n]*`+")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets and parentheses are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def relative_links(page: Path) -> Iterator[str]:
    """The targets of the page's inline links and images that are not URLs (``path``, ``path#anchor``)."""
    for match in _LINK.finditer(_prose(page.read_text(encoding="utf-8"))):
        target = match.group(1)
        if not _SCHEME.match(target):
            yield target


def anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = unicodedata.normalize("NFC", _CODE_SPAN.sub(lambda span: span.group().strip("`"), heading))
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's fragment; a repeated heading gets ``-1``, ``-2``, ... as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_in_the_repository(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target}: no heading #{fragment} in {destination.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_documentation_pages_exist_and_link_each_other() -> None:
    linked = {(DOCS / target.partition("#")[0]).resolve() for target in relative_links(DOCS / "index.md")}
    pages = set(DOCS.glob("*.md")) - {DOCS / "index.md"}
    assert pages and pages <= linked, f"index.md lists no link to {sorted(pages - linked)}"


def command_paths(group: click.Group, context: click.Context, prefix: str) -> Iterator[str]:
    """``cme-tracker db``, ``cme-tracker db upgrade``, ...: every command and subcommand, at any depth.

    Asked through ``list_commands`` and ``get_command`` only, so a lazily loading group is walked alike.
    """
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{prefix} lists {name} but cannot load it"
        path = f"{prefix} {name}"
        yield path
        if isinstance(command, click.Group):
            yield from command_paths(command, click.Context(command, parent=context, info_name=name), path)


def test_the_cli_reference_names_every_command() -> None:
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    paths = list(command_paths(main, click.Context(main, info_name="cme-tracker"), "cme-tracker"))
    assert "cme-tracker import members" in paths  # the walk reaches subcommands
    missing = [path for path in paths if not re.search(rf"{re.escape(path)}(?![\w-])", reference)]
    assert not missing, f"docs/cli.md does not mention {', '.join(missing)}"
