"""The registry of export formats: the one place that lists them, for the CLI, the web pages and the pipeline.

A format is a module with its writer (and, if the ZIP bundle holds its tables, its share of the bundle) and
one entry here: its name (the ``--format`` choice, the web button's value, the audit event's ``format``), the
label of its web button, the description in ``--format``'s help, the file suffix and the media type of the
download. Order matters: the CLI's help and the web buttons follow it, and so does the bundle's manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cme_tracker.exports import csvfile, jsonfile, parts, xlsx
from cme_tracker.exports.bundle import Bundle
from cme_tracker.exports.sinks import BundlePart, Writer


def N_(message: str) -> str:
    """Marks a label for Babel's extraction (its keyword ``N_``) without Flask; the page translates it."""
    return message


@dataclass(frozen=True)
class ExportFormat:
    """A format: ``signed`` ones carry the signed audit checkpoint (so need the society's key); ``bundled``
    gives the ZIP bundle its tables; a format that ``holds_transcripts`` first issues the missing ones."""

    name: str
    label: str
    description: str
    suffix: str
    media_type: str
    write: Writer
    signed: bool = True
    bundled: BundlePart | None = None
    holds_transcripts: bool = False


_TABLES = (
    ExportFormat(
        "csv",
        N_("Detail table (CSV)"),
        "the detail table",
        "csv",
        "text/csv; charset=utf-8",
        parts.write_detail_csv,
        signed=False,
        bundled=csvfile.bundle_tables,
    ),
    ExportFormat(
        "xlsx",
        N_("Both tables (Excel)"),
        "every table",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        xlsx.write_xlsx,
        bundled=xlsx.bundle_tables,
    ),
    ExportFormat(
        "json",
        N_("Both tables (JSON)"),
        "every table",
        "json",
        "application/json",
        jsonfile.write_json,
        bundled=jsonfile.bundle_tables,
    ),
)
"""The formats of the tables; each is also in the ZIP bundle."""

ZIP = ExportFormat(
    "zip",
    N_("Signed bundle with every transcript (ZIP)"),
    "all of them, transcripts, signed manifest",
    "zip",
    "application/zip",
    Bundle(tuple(table.bundled for table in _TABLES if table.bundled is not None)),
    holds_transcripts=True,
)

FORMATS: Mapping[str, ExportFormat] = {export_format.name: export_format for export_format in (*_TABLES, ZIP)}
