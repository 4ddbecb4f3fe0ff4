"""The registry of export formats is the one list: the bundle, the CLI and the web form all follow it."""

from __future__ import annotations

from click.testing import CliRunner

from cme_tracker.exports.bundle import Bundle
from cme_tracker.exports.commands import export
from cme_tracker.exports.formats import FORMATS, ZIP
from cme_tracker.exports.views import ExportForm


def test_bundle_holds_the_tables_of_every_other_format_in_registry_order() -> None:
    assert isinstance(ZIP.write, Bundle)
    tables = [entry.bundled for entry in FORMATS.values() if entry is not ZIP]
    assert list(ZIP.write.tables) == tables and None not in tables


def test_cli_format_choice_and_help_name_every_registered_format() -> None:
    result = CliRunner().invoke(export, ["transcripts", "--help"], terminal_width=400)
    assert result.exit_code == 0
    for name, entry in FORMATS.items():
        assert name in result.output and entry.description in result.output
    assert f"[{'|'.join(FORMATS)}]" in result.output


def test_web_form_accepts_exactly_the_registered_formats() -> None:
    (choices,) = [validator.values for validator in ExportForm.format.kwargs["validators"]]
    assert list(choices) == list(FORMATS)
