"""Importing members (CSV or XLSX): every row is checked first, then members are added or updated by number.

A column the file lacks is left as it is in the database; an empty cell in a column the file has clears it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cme_tracker.audit import chain
from cme_tracker.members.models import Member
from cme_tracker.members.schemas import REGISTRY_OWNERS, MemberSchema
from cme_tracker.members.services import member_search_key, members_by_number
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

KIND = "members"
LAYOUT = Layout(
    required=(
        "member_no",
        "profession",
        "family_name",
        "given_name",
        "family_name_romaji",
        "given_name_romaji",
    ),
    optional=(
        "family_name_kana",
        "given_name_kana",
        "former_family_name",
        "email",
        "country",
        "medical_registry_no",
        "dental_registry_no",
        "efn",
    ),
)


@dataclass(frozen=True)
class _Plan:
    """What one valid row does: add a member, or change some of an existing member's columns, or nothing."""

    loaded: LoadedRow
    member: Member | None
    values: Mapping[str, Any]
    changed: tuple[str, ...]


def import_members(
    session: Session, path: Path | str, *, actor: str, dry_run: bool = False, name: str | None = None
) -> ImportResult:
    """Add or update the members of a members file, all or nothing.

    Returns the counts, or every problem (and writes nothing) when any row is invalid. Flushes, never commits;
    a database error propagates and the caller's transaction must be rolled back.
    """
    table = read_table(path, LAYOUT, name=name)
    if not table.rows:
        return rejected(table, KIND, table.errors)
    loaded, errors = load_rows(table, MemberSchema())
    errors.extend(table.errors)
    errors.extend(repeated_keys(table, loaded, "member_no"))
    existing = members_by_number(
        session, [item.data["member_no"] for item in loaded if "member_no" in item.data]
    )
    plans: list[_Plan] = []
    for item in loaded:
        member = existing.get(item.data.get("member_no", ""))
        if member is not None:
            errors.extend(_kept_registry_numbers(table, item, member))
        if item.complete:
            plans.append(_plan(table, item, member))
    if errors:
        return rejected(table, KIND, errors)
    result = ImportResult(
        file=table.file,
        kind=KIND,
        rows=Counts.tally((plan.member, plan.changed) for plan in plans),
        dry_run=dry_run,
    )
    if not dry_run and result.changed_anything:
        _apply(session, table, plans, actor)
        record_import(session, table, result, actor=actor)
    return result


def _kept_registry_numbers(table: Table, item: LoadedRow, member: Member) -> Iterator[RowError]:
    """A registry number the file does not mention stays, so it must still fit the member's new profession."""
    profession = item.data.get("profession")
    if profession is None:
        return
    for column, (owner, _message) in REGISTRY_OWNERS.items():
        if column not in table.columns and getattr(member, column) and profession != owner:
            yield table.error(
                item.row,
                "profession",
                f"the member keeps {column} {getattr(member, column)}, which only a {owner.value} has; "
                f"add a {column} column with an empty cell to remove it",
            )


def _plan(table: Table, item: LoadedRow, member: Member | None) -> _Plan:
    values = {column: item.data.get(column) for column in table.columns}
    if member is None:
        return _Plan(item, None, values, tuple(values))
    changed = tuple(column for column, value in values.items() if getattr(member, column) != value)
    return _Plan(item, member, values, changed)


def _apply(session: Session, table: Table, plans: Sequence[_Plan], actor: str) -> None:
    for plan in plans:
        if plan.member is None:
            member = Member(**plan.values)
            member.search_key = member_search_key(member)
            session.add(member)
        elif plan.changed:
            for column in plan.changed:
                setattr(plan.member, column, plan.values[column])
            plan.member.search_key = member_search_key(plan.member)
    session.flush()
    for plan in plans:
        if plan.member is None or plan.changed:
            chain.record(
                session,
                actor=actor,
                action="member.create" if plan.member is None else "member.update",
                target=f"member:{plan.values['member_no']}",
                details={
                    "import": table.basename,
                    "line": plan.loaded.row.line,
                    "fields": list(plan.changed),
                },
            )
