"""Importing the program from CSV or XLSX: one row a lecture, its symposium repeated on every row.

Symposia are matched by code and lectures by code; every row is checked first, then everything is written in
one go. Lectures missing from the file are kept (they may have attendance). A column the file lacks is left as
it is in the database; an empty cell in a column the file has clears it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.schemas import ProgramRowSchema
from cme_tracker.program.services import (
    Interval,
    exclusions_of,
    lectures_by_code,
    local_instant,
    renumber_lectures,
    replace_exclusions,
    symposia_by_code,
)
from cme_tracker.society import SOCIETY_ZONE_NAME
from cme_tracker.tabular.loading import (
    Counts,
    ImportResult,
    LoadedRow,
    load_rows,
    record_import,
    rejected,
    repeated_keys,
)
from cme_tracker.tabular.reader import Layout, RowError, Table, read_table
from cme_tracker.vocabulary import SymposiumKind

KIND = "program"
LAYOUT = Layout(
    required=(
        "symposium_code",
        "symposium_date",
        "symposium_title_ja",
        "symposium_title_en",
        "lecture_code",
        "starts_at",
        "ends_at",
        "field",
        "title_ja",
        "speaker",
    ),
    optional=(
        "venue",
        "timezone",
        "symposium_kind",
        "title_en",
        "speaker_affiliation",
        "language",
        "jma_cc",
        "jda_code",
        "excluded",
    ),
)
SYMPOSIUM_COLUMNS = {
    "symposium_date": "held_on",
    "symposium_title_ja": "title_ja",
    "symposium_title_en": "title_en",
    "venue": "venue",
    "timezone": "timezone",
    "symposium_kind": "kind",
}
"""File column -> Symposium attribute."""
SYMPOSIUM_DEFAULTS = {"timezone": SOCIETY_ZONE_NAME, "kind": SymposiumKind.REGULAR}
LECTURE_COLUMNS = (
    "field",
    "title_ja",
    "title_en",
    "speaker",
    "speaker_affiliation",
    "language",
    "jma_cc",
    "jda_code",
)
"""File columns named like the Lecture attributes they set."""


@dataclass(frozen=True)
class _SymposiumPlan:
    code: str
    first: LoadedRow
    symposium: Symposium | None
    values: Mapping[str, Any]
    changed: tuple[str, ...]


@dataclass(frozen=True)
class _LecturePlan:
    loaded: LoadedRow
    symposium_code: str
    lecture: Lecture | None
    values: Mapping[str, Any]
    exclusions: frozenset[Interval] | None
    """None when the file has no ``excluded`` column: the lecture's intervals stay as they are."""
    changed: tuple[str, ...]


def import_program(
    session: Session, path: Path | str, *, actor: str, dry_run: bool = False, name: str | None = None
) -> ImportResult:
    """Add or update the symposia and lectures of a program file, all or nothing.

    Returns the counts (lectures, and symposia as ``related``), or every problem (and writes nothing) when any
    row is invalid. Flushes, never commits; a database error propagates for the caller to roll back.
    """
    table = read_table(path, LAYOUT, name=name)
    if not table.rows:
        return rejected(table, KIND, table.errors)
    loaded, errors = load_rows(table, ProgramRowSchema())
    errors.extend(table.errors)
    errors.extend(repeated_keys(table, loaded, "lecture_code"))
    by_symposium: dict[str, list[LoadedRow]] = defaultdict(list)
    for item in loaded:
        if "symposium_code" in item.data:
            by_symposium[item.data["symposium_code"]].append(item)
    errors.extend(_inconsistent_symposia(table, by_symposium))
    symposia = symposia_by_code(session, by_symposium)
    lectures = lectures_by_code(
        session, [item.data["lecture_code"] for item in loaded if "lecture_code" in item.data]
    )
    errors.extend(_lectures_elsewhere(table, loaded, lectures))
    if errors:
        return rejected(table, KIND, errors)
    symposium_plans = {
        code: _plan_symposium(table, code, rows, symposia.get(code)) for code, rows in by_symposium.items()
    }
    listed = {item.data["lecture_code"] for item in loaded}
    errors.extend(_moved_without_lectures(table, symposium_plans.values(), listed))
    if errors:
        return rejected(table, KIND, errors)
    lecture_plans = [
        _plan_lecture(table, item, symposium_plans[item.data["symposium_code"]], lectures) for item in loaded
    ]
    result = ImportResult(
        file=table.file,
        kind=KIND,
        rows=Counts.tally((plan.lecture, plan.changed) for plan in lecture_plans),
        dry_run=dry_run,
        related=(
            ("symposia", Counts.tally((plan.symposium, plan.changed) for plan in symposium_plans.values())),
        ),
    )
    if not dry_run and result.changed_anything:
        _apply(session, table, list(symposium_plans.values()), lecture_plans, actor)
        record_import(session, table, result, actor=actor)
    return result


def _inconsistent_symposia(
    table: Table, by_symposium: Mapping[str, Sequence[LoadedRow]]
) -> Iterator[RowError]:
    """Every row of a symposium must repeat the same symposium values, or which one is meant is unclear."""
    for code, rows in by_symposium.items():
        for column in SYMPOSIUM_COLUMNS:
            if column not in table.columns:
                continue
            first: LoadedRow | None = None
            for item in rows:
                if column not in item.data:
                    continue
                if first is None:
                    first = item
                elif item.data[column] != first.data[column]:
                    yield table.error(
                        item.row,
                        column,
                        f"differs from line {first.row.line_of(column)} for symposium {code} "
                        f"({_shown(item.data[column])} here, {_shown(first.data[column])} there)",
                    )


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


def _lectures_elsewhere(
    table: Table, loaded: Sequence[LoadedRow], lectures: Mapping[str, Lecture]
) -> Iterator[RowError]:
    for item in loaded:
        lecture = lectures.get(item.data.get("lecture_code", ""))
        code = item.data.get("symposium_code")
        if lecture is not None and code is not None and lecture.symposium.code != code:
            yield table.error(
                item.row, "lecture_code", f"{lecture.code} is a lecture of symposium {lecture.symposium.code}"
            )


def _plan_symposium(
    table: Table, code: str, rows: Sequence[LoadedRow], symposium: Symposium | None
) -> _SymposiumPlan:
    """The symposium's values: a cell left empty on some rows takes the value the other rows give."""
    first = rows[0]
    values: dict[str, Any] = {}
    for column, attribute in SYMPOSIUM_COLUMNS.items():
        if column in table.columns:
            given = [item.data[column] for item in rows if column in item.data]
            values[attribute] = given[0] if given else SYMPOSIUM_DEFAULTS.get(attribute)
    if symposium is None:
        values = SYMPOSIUM_DEFAULTS | values
        return _SymposiumPlan(code, first, None, values, tuple(values))
    changed = tuple(
        attribute for attribute, value in values.items() if getattr(symposium, attribute) != value
    )
    return _SymposiumPlan(code, first, symposium, values, changed)


def _moved_without_lectures(
    table: Table, plans: Iterable[_SymposiumPlan], listed: set[str]
) -> Iterator[RowError]:
    """A symposium moving to another day or time zone takes its lectures along, so the file must list all."""
    for plan in plans:
        if plan.symposium is None or not {"held_on", "timezone"} & set(plan.changed):
            continue
        absent = sorted(lecture.code for lecture in plan.symposium.lectures if lecture.code not in listed)
        if absent:
            column = "symposium_date" if "held_on" in plan.changed else "timezone"
            yield table.error(
                plan.first.row,
                column,
                f"moves symposium {plan.code}, but its lectures {', '.join(absent)} are not in the file; "
                "list every lecture of a symposium whose date or time zone changes",
            )


def _plan_lecture(
    table: Table, item: LoadedRow, symposium: _SymposiumPlan, lectures: Mapping[str, Lecture]
) -> _LecturePlan:
    data = item.data
    day: date = symposium.values["held_on"]
    zone: str = symposium.values.get("timezone") or (
        symposium.symposium.timezone if symposium.symposium else SOCIETY_ZONE_NAME
    )
    values: dict[str, Any] = {
        column: data.get(column) for column in LECTURE_COLUMNS if column in table.columns
    }
    values["starts_at"] = local_instant(day, data["starts_at"], zone)
    values["ends_at"] = local_instant(day, data["ends_at"], zone)
    exclusions = None
    if "excluded" in table.columns:
        intervals: list[tuple[time, time]] = data.get("excluded", [])
        exclusions = frozenset(
            (local_instant(day, start, zone), local_instant(day, end, zone)) for start, end in intervals
        )
    lecture = lectures.get(data["lecture_code"])
    if lecture is None:
        changed = (*values, "excluded") if exclusions else tuple(values)
        return _LecturePlan(item, symposium.code, None, values, exclusions, changed)
    changes = [attribute for attribute, value in values.items() if getattr(lecture, attribute) != value]
    if exclusions is not None and exclusions != exclusions_of(lecture):
        changes.append("excluded")
    return _LecturePlan(item, symposium.code, lecture, values, exclusions, tuple(changes))


def _apply(
    session: Session,
    table: Table,
    symposium_plans: Sequence[_SymposiumPlan],
    lecture_plans: Sequence[_LecturePlan],
    actor: str,
) -> None:
    symposia = _write_symposia(session, symposium_plans)
    reorder = _write_lectures(session, symposia, lecture_plans)
    for code in sorted(reorder):
        renumber_lectures(session, symposia[code].lectures)
    for symposium_plan in symposium_plans:
        if symposium_plan.changed:
            _audit(
                session,
                actor,
                table,
                symposium_plan.first,
                f"symposium:{symposium_plan.code}",
                symposium_plan.symposium is None,
                symposium_plan.changed,
            )
    for plan in lecture_plans:
        if plan.changed:
            _audit(
                session,
                actor,
                table,
                plan.loaded,
                f"lecture:{plan.loaded.data['lecture_code']}",
                plan.lecture is None,
                plan.changed,
            )


def _write_symposia(session: Session, plans: Sequence[_SymposiumPlan]) -> dict[str, Symposium]:
    symposia: dict[str, Symposium] = {}
    for plan in plans:
        symposium = plan.symposium
        if symposium is None:
            symposium = Symposium(code=plan.code, **plan.values)
            session.add(symposium)
        else:
            for attribute in plan.changed:
                setattr(symposium, attribute, plan.values[attribute])
        symposia[plan.code] = symposium
    session.flush()
    return symposia


def _write_lectures(
    session: Session, symposia: Mapping[str, Symposium], plans: Sequence[_LecturePlan]
) -> set[str]:
    """Add and update lectures, new ones on distinct negative positions; returns the symposia to reorder."""
    reorder: set[str] = set()
    for plan in plans:
        if not plan.changed:
            continue
        symposium = symposia[plan.symposium_code]
        lecture = plan.lecture
        if lecture is None:
            lecture = Lecture(code=plan.loaded.data["lecture_code"], position=-1 - len(symposium.lectures))
            symposium.lectures.append(lecture)
        for attribute, value in plan.values.items():
            setattr(lecture, attribute, value)
        if plan.exclusions is not None:
            replace_exclusions(lecture, plan.exclusions)
        if plan.lecture is None or {"starts_at", "ends_at"} & set(plan.changed):
            reorder.add(plan.symposium_code)
    session.flush()
    return reorder


def _audit(
    session: Session,
    actor: str,
    table: Table,
    item: LoadedRow,
    target: str,
    created: bool,
    changed: tuple[str, ...],
) -> None:
    noun = target.partition(":")[0]
    chain.record(
        session,
        actor=actor,
        action=f"{noun}.{'create' if created else 'update'}",
        target=target,
        details={"import": table.basename, "line": item.row.line, "fields": list(changed)},
    )
