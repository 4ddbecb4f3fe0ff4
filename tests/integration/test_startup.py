"""Start-up: ``cme-tracker --help`` and the app factory load no PDF or spreadsheet library, and the lazy
command group lists and runs exactly the commands it names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cme_tracker.cli import COMMANDS, main

HEAVY = ("weasyprint", "pyhanko", "pikepdf", "openpyxl")
"""Libraries that take most of a command's start-up; only the commands that make documents load them."""


def _imported(arguments: list[str], tmp_path: Path) -> set[str]:
    """The top-level packages a fresh interpreter imports running ``arguments`` (from ``-X importtime``)."""
    environment = {**os.environ, "CME_INSTANCE_PATH": str(tmp_path / "instance")}
    finished = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = [line for line in finished.stderr.splitlines() if line.startswith("import time:")]
    assert lines, "no -X importtime output"
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


@pytest.mark.parametrize(
    "arguments", [["--help"], ["credits", "show", "--help"]], ids=["help", "credits-show-help"]
)
def test_the_help_loads_no_heavy_library(arguments: list[str], tmp_path: Path) -> None:
    imported = _imported(["-m", "cme_tracker", *arguments], tmp_path)
    assert "cme_tracker" in imported
    assert not imported & {*HEAVY, "flask", "sqlalchemy"}, sorted(imported & {*HEAVY, "flask", "sqlalchemy"})


def test_the_app_factory_loads_no_pdf_library(tmp_path: Path) -> None:
    script = (
        "from cme_tracker import create_app; "
        f"create_app({{'DATABASE_URL': 'sqlite://', 'INSTANCE_PATH': {str(tmp_path / 'app')!r}}})"
    )
    imported = _imported(["-c", script], tmp_path)
    assert "flask" in imported
    assert not imported & {"weasyprint", "pyhanko", "pikepdf"}, sorted(imported)


def test_the_command_list_names_every_command_with_its_own_summary() -> None:
    context = click.Context(main)
    for name, entry in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=10_000) == entry.summary, name
    assert main.get_command(context, "no-such-command") is None


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_an_unknown_log_format_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_LOG_FORMAT", "xml")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 2
    assert "CME_LOG_FORMAT must be one of text, json, not 'xml'" in result.output
