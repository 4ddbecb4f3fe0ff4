"""Card sheets of many members as a job: a worker renders the PDF into the instance folder, and the office
downloads it from the job's page.

A sheet of 300 cards takes over half a minute to render, longer than a request should wait, so the office's
card sheet page prints a few cards at once (:data:`IMMEDIATE_LIMIT`) and queues the rest. The worker renders
the cards a few pages at a time (reporting progress between them), joins the pages, and writes the file under
a temporary name before renaming it into place, readable by the service account only: its QR codes admit
their holders. A job run again finds its file written and does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.config import Settings
from cme_tracker.db import Database
from cme_tracker.errors import DomainError
from cme_tracker.jobs.service import JobProgress
from cme_tracker.members.cards import CardFace, card_face
from cme_tracker.members.models import Member
from cme_tracker.members.services import members_by_number

PRINT_CARD_SHEETS = "cards.sheet"
"""The kind of job that renders a card sheet."""
IMMEDIATE_LIMIT = 20
"""Card sheets of up to this many members are rendered in the request (two pages, a few seconds)."""
CARDS_PER_STEP = 50
"""Cards rendered at a time (five full pages) between two progress reports."""
SHEETS_FOLDER = "card-sheets"
PRINTED_FOR_ALL = (Member.active.is_(True), Member.needs_review.is_(False))
"""Whose cards "all active members" prints: a walk-in gets one once an administrator confirmed them."""


@dataclass(frozen=True)
class CardSheetRequest:
    """A card sheet job's parameters: the member numbers in print order, or None for every active member."""

    member_nos: tuple[str, ...] | None
    requested_by: str

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> CardSheetRequest:
        numbers = parameters.get("member_nos")
        return cls(
            None if numbers is None else tuple(str(number) for number in numbers),
            str(parameters["requested_by"]),
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "scope": "all" if self.member_nos is None else "selected",
            "member_nos": None if self.member_nos is None else list(self.member_nos),
            "requested_by": self.requested_by,
        }

    @property
    def file_name(self) -> str:
        label = "all" if self.member_nos is None else str(len(self.member_nos))
        return f"imsj-member-cards-{label}.pdf"


@dataclass(frozen=True)
class CardSelection:
    """The members whose numbers were asked for, in that order, and the numbers that cannot be printed."""

    members: list[Member]
    unknown: list[str]
    inactive: list[str]


def select_for_cards(session: Session, numbers: Sequence[str]) -> CardSelection:
    """The members of ``numbers`` (each once, in order), and the unknown and inactive numbers among them."""
    wanted = list(dict.fromkeys(numbers))
    found = members_by_number(session, wanted)
    return CardSelection(
        [found[number] for number in wanted if number in found and found[number].active],
        [number for number in wanted if number not in found],
        [number for number in wanted if number in found and not found[number].active],
    )


def members_for_all(session: Session) -> list[Member]:
    """Every member whose card "all active members" prints, by number."""
    return list(session.scalars(select(Member).where(*PRINTED_FOR_ALL).order_by(Member.member_no)))


def stored_sheet(instance_path: Path, job_id: int, request: CardSheetRequest) -> Path:
    """Where the card sheet of job ``job_id`` lives once written."""
    return instance_path / SHEETS_FOLDER / str(job_id) / request.file_name


def _faces(session: Session, secret: str, request: CardSheetRequest) -> tuple[list[CardFace], list[str]]:
    """The cards to print, and the numbers left out (gone, or no longer active, since the request)."""
    if request.member_nos is None:
        return [card_face(secret, member) for member in members_for_all(session)], []
    selection = select_for_cards(session, request.member_nos)
    left_out = [*selection.unknown, *selection.inactive]
    return [card_face(secret, member) for member in selection.members], left_out


def _joined(parts: Sequence[bytes]) -> bytes:
    """The pages of several PDFs as one."""
    if len(parts) == 1:
        return parts[0]
    import pikepdf  # qpdf: loaded by the worker that joins, not with every page that imports this module

    with pikepdf.new() as joined:
        sources = [pikepdf.open(BytesIO(part)) for part in parts]
        try:
            for source in sources:
                joined.pages.extend(source.pages)
            output = BytesIO()
            joined.save(output)
        finally:
            for source in sources:
                source.close()
    return output.getvalue()


def write_private_file(path: Path, data: bytes) -> None:
    """``data`` at ``path`` atomically: under a temporary name in the same folder, flushed, then renamed;
    mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def print_card_sheets(
    database: Database,
    settings: Settings,
    job_id: int,
    parameters: dict[str, Any],
    _actor: str,
    _processes: int,
) -> tuple[str, list[dict[str, Any]]]:
    """The job's runner: render the sheet into the instance folder unless an earlier run did; its summary
    and the numbers left out."""
    from cme_tracker.members.card_sheet import render_card_sheet  # WeasyPrint only where cards are printed

    request = CardSheetRequest.from_parameters(parameters)
    path = stored_sheet(settings.instance_path, job_id, request)
    if path.exists():
        return f"{path.name} (written by an earlier run of this job)", []
    with database.sessions() as session:
        faces, left_out = _faces(session, settings.secret_key, request)
    errors = [
        {"member_no": number, "error": "not_printed", "message": "no active member has this number any more"}
        for number in left_out
    ]
    if not faces:
        raise DomainError("none of the members is active any more: no card to print", code="nothing_to_print")
    progress = JobProgress(database, job_id)
    progress(0, len(faces))
    parts = []
    for start in range(0, len(faces), CARDS_PER_STEP):
        step = faces[start : start + CARDS_PER_STEP]
        parts.append(render_card_sheet(step))
        progress(start + len(step), len(faces))
    write_private_file(path, _joined(parts))
    return f"{path.name}: {len(faces)} cards", errors
