"""What every export format shares: the sink the single streaming pass feeds, the pass, and a writer's terms.

Several sinks can share one pass (the ZIP bundle writes all formats at once). Every sink writes as it goes,
to a file or a sheet streamed into the XLSX package (or a temporary file), so memory stays flat.

A year has hundreds of thousands of detail rows but few distinct line shapes (:class:`LineCells`), so each
sink renders a shape's cells once, as text in its format, and a row joins the member's cells rendered once
per member, the shape's text and the presence text. The bytes are those the format's library would write.

A format's writer gets a :class:`Target` (the year read in one snapshot, the file to write) and says what it
wrote (:class:`Written`); a format the ZIP bundle holds also gives the bundle its files
(:class:`BundleTables`), so that a new format is one module and one entry in
:mod:`cme_tracker.exports.formats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cme_tracker.db import Database
from cme_tracker.errors import DomainError
from cme_tracker.exports.rows import MemberPart, MemberRows, YearExport

if TYPE_CHECKING:
    from cme_tracker.documents.identity import SigningIdentity


class ExportFailed(DomainError):
    code = "export_failed"
    http_status = 500


@dataclass(frozen=True)
class SignedCheckpoint:
    """The audit chain's head as JSON: ``document`` is the exact signed bytes, ``signature`` its DER CMS."""

    sequence: int
    document: bytes
    signature: bytes


@dataclass(frozen=True)
class Signing:
    """The society's key and the checkpoint signed with it, for the formats that carry the checkpoint."""

    identity: SigningIdentity
    checkpoint: SignedCheckpoint


@dataclass(frozen=True)
class Target:
    """What a format's writer is given: ``export`` is read in one snapshot; ``path`` is the file to write
    (a temporary name the pipeline renames); ``signing`` is None for a format that is not signed."""

    database: Database
    export: YearExport
    path: Path
    jobs: int
    instance_path: Path
    signing: Signing | None

    @property
    def checkpoint(self) -> SignedCheckpoint | None:
        return None if self.signing is None else self.signing.checkpoint


@dataclass
class RowCounts:
    members: int = 0
    detail: int = 0
    totals: int = 0


@dataclass(frozen=True)
class Written:
    """What a writer wrote: the rows of each table and, in a bundle, the transcripts."""

    counts: RowCounts
    transcripts: int = 0


Writer = Callable[[Target], Written]


class Sink(Protocol):
    def member(self, rows: MemberRows) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None:
        """Release what the sink holds, finished or not (the caller deletes a file left unfinished)."""


@dataclass(frozen=True)
class BundleTables:
    """A format's share of the ZIP bundle: the files it writes into the bundle's folder, in the order the
    manifest lists them, and the sinks that write them in the bundle's single pass."""

    files: tuple[str, ...]
    sinks: list[Sink]


BundlePart = Callable[[YearExport, Path, SignedCheckpoint, ExitStack], BundleTables]
"""Opens a format's bundle files in the folder (closed by the stack after the pass) and gives its sinks."""


def run_pass(export: YearExport, sinks: Iterable[Sink], part: MemberPart | None = None) -> RowCounts:
    """Stream the year (or a ``part`` of its members) once into every sink, then let each finish its file."""
    sinks = tuple(sinks)
    counts = RowCounts()
    try:
        for rows in export.rows(part):
            for sink in sinks:
                sink.member(rows)
            counts.members += 1
            counts.detail += len(rows.lines)
            counts.totals += rows.totals_count
        for sink in sinks:
            sink.finish()
    finally:
        for sink in sinks:
            sink.close()
    return counts


def member_cells(year: Any, basis: str, rows: MemberRows) -> tuple[Any, ...]:
    """The member's cells that start each of its rows, in :data:`MEMBER_COLUMNS` order."""
    member = rows.member
    return (year, basis, member.member_no, member.profession, member.name_romaji, member.name_kanji)
