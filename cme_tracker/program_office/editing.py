"""Editing the program from the office: symposia and their lectures, created, changed, reordered and removed.

Plain functions on a Session, for the pages and the API alike: they check the version the edit was made
against, write, flush and audit, and never commit. Values arrive validated by the program's schemas
(:mod:`cme_tracker.program.schemas`, which the importer uses too) as :class:`SymposiumValues` and
:class:`LectureValues`; local times are wall-clock times in the symposium's zone. The ``write_*`` functions
change the rows without a version check or an audit event: the impact preview applies them in a savepoint
and rolls back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.documents.models import Certificate, CertificateKind
from cme_tracker.errors import Conflict, DomainError, NotFound, check_version
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.schemas import LectureSchema, SymposiumSchema, lecture_code_problem
from cme_tracker.program.services import (
    exclusions_of,
    lecture_order,
    local_instant,
    replace_exclusions,
    set_lecture_order,
)
from cme_tracker.vocabulary import CmeField, SymposiumKind

LocalInterval = tuple[time, time]

SYMPOSIUM_CREDIT_FIELDS = frozenset({"held_on", "timezone"})
"""Changes of a symposium that move its lectures in time, and so may change credits."""
LECTURE_CREDIT_FIELDS = frozenset({"starts_at", "ends_at", "field", "jma_cc", "jda_code", "excluded"})
"""Changes of a lecture that may change what its attendance earns."""


@dataclass(frozen=True)
class SymposiumValues:
    """A symposium's editable values, as :class:`~cme_tracker.program.schemas.SymposiumSchema` loads them."""

    code: str
    held_on: date
    timezone: str
    title_ja: str
    title_en: str
    venue: str | None
    kind: SymposiumKind

    @classmethod
    def loaded(cls, data: Mapping[str, Any]) -> SymposiumValues:
        return cls(
            code=data["code"],
            held_on=data["date"],
            timezone=data["timezone"],
            title_ja=data["title_ja"],
            title_en=data["title_en"],
            venue=data.get("venue"),
            kind=SymposiumKind(data["kind"]),
        )

    @classmethod
    def of(cls, symposium: Symposium) -> SymposiumValues:
        return cls(
            code=symposium.code,
            held_on=symposium.held_on,
            timezone=symposium.timezone,
            title_ja=symposium.title_ja,
            title_en=symposium.title_en,
            venue=symposium.venue,
            kind=SymposiumKind(symposium.kind),
        )

    def as_text(self) -> dict[str, str]:
        """The values as a form or a patch writes them, for the schema to load again."""
        return {
            "code": self.code,
            "date": self.held_on.isoformat(),
            "timezone": self.timezone,
            "title_ja": self.title_ja,
            "title_en": self.title_en,
            "venue": self.venue or "",
            "kind": self.kind.value,
        }


@dataclass(frozen=True)
class LectureValues:
    """A lecture's editable values, as :class:`~cme_tracker.program.schemas.LectureSchema` loads them."""

    code: str
    starts_at: time
    ends_at: time
    field: CmeField
    title_ja: str
    title_en: str | None
    speaker: str
    speaker_affiliation: str | None
    language: str | None
    jma_cc: str | None
    jda_code: str | None
    excluded: tuple[LocalInterval, ...]

    @classmethod
    def loaded(cls, data: Mapping[str, Any]) -> LectureValues:
        return cls(
            code=data["code"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            field=CmeField(data["field"]),
            title_ja=data["title_ja"],
            title_en=data.get("title_en"),
            speaker=data["speaker"],
            speaker_affiliation=data.get("speaker_affiliation"),
            language=data.get("language"),
            jma_cc=data.get("jma_cc"),
            jda_code=data.get("jda_code"),
            excluded=tuple(sorted(data.get("excluded", []))),
        )

    @classmethod
    def of(cls, lecture: Lecture) -> LectureValues:
        zone = ZoneInfo(lecture.symposium.timezone)

        def local(instant: Any) -> time:
            clock: time = instant.astimezone(zone).time().replace(second=0, microsecond=0)
            return clock

        return cls(
            code=lecture.code,
            starts_at=local(lecture.starts_at),
            ends_at=local(lecture.ends_at),
            field=CmeField(lecture.field),
            title_ja=lecture.title_ja,
            title_en=lecture.title_en,
            speaker=lecture.speaker,
            speaker_affiliation=lecture.speaker_affiliation,
            language=lecture.language,
            jma_cc=lecture.jma_cc,
            jda_code=lecture.jda_code,
            excluded=tuple(
                sorted(
                    (local(exclusion.starts_at), local(exclusion.ends_at)) for exclusion in lecture.exclusions
                )
            ),
        )

    @property
    def excluded_text(self) -> str:
        """``HH:MM-HH:MM`` intervals separated by ``; ``, as in a program file."""
        return "; ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in self.excluded)

    def as_text(self) -> dict[str, str]:
        return {
            "code": self.code,
            "starts_at": f"{self.starts_at:%H:%M}",
            "ends_at": f"{self.ends_at:%H:%M}",
            "field": self.field.value,
            "title_ja": self.title_ja,
            "title_en": self.title_en or "",
            "speaker": self.speaker,
            "speaker_affiliation": self.speaker_affiliation or "",
            "language": self.language or "",
            "jma_cc": self.jma_cc or "",
            "jda_code": self.jda_code or "",
            "excluded": self.excluded_text,
        }


def parse_symposium(text: Mapping[str, Any], current: SymposiumValues | None = None) -> SymposiumValues:
    """Validated values from text (a form, a body): over ``current``'s for an edit. Raises marshmallow's
    ValidationError naming each problem by field, in the program importer's words."""
    merged = {**(current.as_text() if current is not None else {}), **text}
    return SymposiumValues.loaded(SymposiumSchema().load(merged))


def parse_lecture(text: Mapping[str, Any], current: LectureValues | None = None) -> LectureValues:
    """As :func:`parse_symposium`, for a lecture; ``excluded`` is ``HH:MM-HH:MM`` intervals, ``;`` between."""
    merged = {**(current.as_text() if current is not None else {}), **text}
    return LectureValues.loaded(LectureSchema().load(merged))


def changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    """The names of the dataclass fields in which ``new`` differs from ``old``."""
    return tuple(
        field.name
        for field in dataclasses.fields(old)
        if getattr(old, field.name) != getattr(new, field.name)
    )


def find_symposium(session: Session, code: str, *, for_update: bool = False) -> Symposium:
    """The symposium with this code; ``for_update`` locks its row (PostgreSQL), so that an edit reads the
    version a concurrent edit committed rather than racing it."""
    statement = select(Symposium).where(Symposium.code == code).options(selectinload(Symposium.lectures))
    if for_update:
        statement = statement.with_for_update()
    symposium = session.scalar(statement)
    if symposium is None:
        raise NotFound(f"no symposium with code {code}", code="unknown_symposium")
    return symposium


def find_lecture(session: Session, code: str, *, for_update: bool = False) -> Lecture:
    """The lecture with this code, its symposium and excluded intervals loaded (``for_update``: see above)."""
    statement = (
        select(Lecture)
        .where(Lecture.code == code)
        .options(selectinload(Lecture.symposium), selectinload(Lecture.exclusions))
    )
    if for_update:
        statement = statement.with_for_update(of=Lecture)
    lecture = session.scalar(statement)
    if lecture is None:
        raise NotFound(f"no lecture with code {code}", code="unknown_lecture")
    return lecture


def create_symposium(session: Session, values: SymposiumValues, *, actor: str) -> Symposium:
    """A new symposium, scheduled, without lectures."""
    if session.scalar(select(Symposium.id).where(Symposium.code == values.code)) is not None:
        raise Conflict(f"a symposium with code {values.code} exists already", code="symposium_exists")
    symposium = Symposium(
        code=values.code,
        held_on=values.held_on,
        timezone=values.timezone,
        title_ja=values.title_ja,
        title_en=values.title_en,
        venue=values.venue,
        kind=values.kind,
    )
    session.add(symposium)
    session.flush()
    chain.record(
        session,
        actor=actor,
        action="symposium.create",
        target=f"symposium:{symposium.code}",
        details={"fields": [field.name for field in dataclasses.fields(values)], "via": "office"},
    )
    return symposium


def update_symposium(
    session: Session,
    symposium: Symposium,
    values: SymposiumValues,
    *,
    actor: str,
    expected_version: int | None,
) -> tuple[str, ...]:
    """Change a symposium; a new date or time zone moves its lectures, keeping their wall-clock times."""
    check_version(symposium.row_version, expected_version)
    changed = write_symposium(session, symposium, values)
    if changed:
        chain.record(
            session,
            actor=actor,
            action="symposium.update",
            target=f"symposium:{symposium.code}",
            details={"fields": list(changed), "via": "office"},
        )
    return changed


def write_symposium(session: Session, symposium: Symposium, values: SymposiumValues) -> tuple[str, ...]:
    """Write ``values`` to the symposium (its code stays) and return what changed; no check, no audit."""
    if values.code != symposium.code:
        raise DomainError(
            "a symposium's code cannot change", code="invalid", details={"code": ["cannot change"]}
        )
    old = SymposiumValues.of(symposium)
    changed = changed_fields(old, values)
    if not changed:
        return changed
    lectures = [(lecture, LectureValues.of(lecture)) for lecture in symposium.lectures]
    for name in changed:
        setattr(symposium, name, getattr(values, name))
    if SYMPOSIUM_CREDIT_FIELDS & set(changed):
        for lecture, local in lectures:
            _write_times(lecture, symposium, local)
    session.flush()
    return changed


def add_lecture(session: Session, symposium: Symposium, values: LectureValues, *, actor: str) -> Lecture:
    """A new lecture of the symposium, placed after the lectures that start before it."""
    problem = lecture_code_problem(symposium.code, values.code)
    if problem:
        raise DomainError(problem, code="invalid", details={"code": [problem]})
    if session.scalar(select(Lecture.id).where(Lecture.code == values.code)) is not None:
        raise Conflict(f"a lecture with code {values.code} exists already", code="lecture_exists")
    ordered = sorted(symposium.lectures, key=lambda lecture: lecture.position)
    lecture = Lecture(code=values.code, position=-1)
    _write_lecture(lecture, symposium, values)
    before = [other for other in ordered if lecture_order(other) <= lecture_order(lecture)]
    place = ordered.index(before[-1]) + 1 if before else 0
    if place == len(ordered):
        lecture.position = len(ordered) + 1
    symposium.lectures.append(lecture)
    session.flush()
    if place < len(ordered):
        set_lecture_order(session, [*ordered[:place], lecture, *ordered[place:]])
    chain.record(
        session,
        actor=actor,
        action="lecture.create",
        target=f"lecture:{lecture.code}",
        details={"symposium_code": symposium.code, "position": lecture.position, "via": "office"},
    )
    return lecture


def update_lecture(
    session: Session, lecture: Lecture, values: LectureValues, *, actor: str, expected_version: int | None
) -> tuple[str, ...]:
    """Change a lecture (its code stays; its place in the program too)."""
    check_version(lecture.row_version, expected_version)
    changed = write_lecture(session, lecture, values)
    if changed:
        chain.record(
            session,
            actor=actor,
            action="lecture.update",
            target=f"lecture:{lecture.code}",
            details={"fields": list(changed), "via": "office"},
        )
    return changed


def write_lecture(session: Session, lecture: Lecture, values: LectureValues) -> tuple[str, ...]:
    """Write ``values`` to the lecture and return what changed; no check, no audit."""
    if values.code != lecture.code:
        raise DomainError(
            "a lecture's code cannot change", code="invalid", details={"code": ["cannot change"]}
        )
    changed = changed_fields(LectureValues.of(lecture), values)
    if changed:
        _write_lecture(lecture, lecture.symposium, values)
        flag_modified(lecture, "title_ja")  # a new version even when only the excluded intervals changed
        session.flush()
    return changed


def _write_lecture(lecture: Lecture, symposium: Symposium, values: LectureValues) -> None:
    for name in (
        "field",
        "title_ja",
        "title_en",
        "speaker",
        "speaker_affiliation",
        "language",
        "jma_cc",
        "jda_code",
    ):
        setattr(lecture, name, getattr(values, name))
    _write_times(lecture, symposium, values)


def _write_times(lecture: Lecture, symposium: Symposium, values: LectureValues) -> None:
    """The lecture's instants from its local times on the symposium's day in its zone."""
    day, zone = symposium.held_on, symposium.timezone
    lecture.starts_at = local_instant(day, values.starts_at, zone)
    lecture.ends_at = local_instant(day, values.ends_at, zone)
    wanted = frozenset(
        (local_instant(day, start, zone), local_instant(day, end, zone)) for start, end in values.excluded
    )
    if wanted != exclusions_of(lecture):
        replace_exclusions(lecture, wanted)


def move_lecture(
    session: Session, lecture: Lecture, position: int, *, actor: str, expected_version: int | None
) -> int:
    """Put the lecture at ``position`` (1 is first; beyond the last means last) and return its place."""
    check_version(lecture.row_version, expected_version)
    ordered = sorted(lecture.symposium.lectures, key=lambda other: other.position)
    old = ordered.index(lecture) + 1
    new = min(max(position, 1), len(ordered))
    if new == old:
        return old
    ordered.remove(lecture)
    ordered.insert(new - 1, lecture)
    set_lecture_order(session, ordered)
    chain.record(
        session,
        actor=actor,
        action="lecture.move",
        target=f"lecture:{lecture.code}",
        details={"from": old, "to": new, "via": "office"},
    )
    return new


@dataclass(frozen=True)
class LectureReferences:
    """What refers to a lecture and so keeps it in the program."""

    attendances: int
    scans: int
    documents: tuple[str, ...]
    """Serials of the certificates and transcripts (of any status) whose frozen content lists it."""

    @property
    def any(self) -> bool:
        return bool(self.attendances or self.scans or self.documents)


def lecture_references(session: Session, lecture: Lecture) -> LectureReferences:
    attendances = session.scalar(
        select(func.count()).select_from(Attendance).where(Attendance.lecture_id == lecture.id)
    )
    scans = session.scalar(select(func.count()).select_from(Scan).where(Scan.lecture_id == lecture.id))
    year = lecture.symposium.held_on.year
    candidates = session.execute(
        select(Certificate.serial, Certificate.content).where(
            (Certificate.symposium_id == lecture.symposium_id)
            | ((Certificate.kind == CertificateKind.TRANSCRIPT) & Certificate.year.in_([year - 1, year]))
        )
    )
    documents = tuple(
        sorted(serial for serial, content in candidates if lecture.code in content_lecture_codes(content))
    )
    return LectureReferences(attendances or 0, scans or 0, documents)


def content_lecture_codes(content: Mapping[str, Any]) -> set[str]:
    """The lecture codes a document's frozen content lists: a certificate's lectures, a transcript's by
    symposium."""
    lectures = list(content.get("lectures") or [])
    for symposium in content.get("symposia") or []:
        lectures.extend(symposium.get("lectures") or [])
    return {lecture["code"] for lecture in lectures if isinstance(lecture, Mapping) and "code" in lecture}


def remove_lecture(session: Session, lecture: Lecture, *, actor: str, expected_version: int | None) -> None:
    """Remove a lecture that nothing refers to yet (no attendance, no scan, no issued document)."""
    check_version(lecture.row_version, expected_version)
    references = lecture_references(session, lecture)
    if references.any:
        parts = []
        if references.attendances:
            parts.append(f"{references.attendances} attendance(s)")
        if references.scans:
            parts.append(f"{references.scans} scan(s)")
        if references.documents:
            parts.append(f"{len(references.documents)} issued document(s)")
        raise Conflict(
            f"lecture {lecture.code} cannot be removed: {', '.join(parts)} refer to it; "
            "correct the lecture instead",
            code="lecture_in_use",
            details={
                "attendances": references.attendances,
                "scans": references.scans,
                "documents": list(references.documents),
            },
        )
    symposium = lecture.symposium
    code, position = lecture.code, lecture.position
    symposium.lectures.remove(lecture)
    session.flush()
    set_lecture_order(session, sorted(symposium.lectures, key=lambda other: other.position))
    chain.record(
        session,
        actor=actor,
        action="lecture.remove",
        target=f"lecture:{code}",
        details={"symposium_code": symposium.code, "position": position, "via": "office"},
    )


def ordered_lectures(symposium: Symposium) -> Sequence[Lecture]:
    return sorted(symposium.lectures, key=lambda lecture: lecture.position)
