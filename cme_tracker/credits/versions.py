"""Credit policy versions as the office manages them: the list, enabling and disabling a version, adding one
with an effective date, and a preview of what a version changes in a year's totals before it is saved.

A rule is never edited in place: a change is a new version, and only a version's ``enabled`` flag is edited
(optimistically, with its ``row_version``). A new version's parameters are read by
:meth:`CreditPolicy.from_parameters`, the very rules that load the presets, so the office cannot store a
version the engine would refuse.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.chain import record
from cme_tracker.credits import statements
from cme_tracker.credits.engine import ZERO, PolicySelection
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.policy import CreditPolicy
from cme_tracker.credits.presets import policies_in_force
from cme_tracker.credits.services import STREAM_BATCH, YearProgram
from cme_tracker.errors import Conflict, DomainError, NotFound, check_version
from cme_tracker.members.models import Member
from cme_tracker.members.names import display_name
from cme_tracker.society import year_period
from cme_tracker.vocabulary import YearBasis

VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
"""A version's name: letters, digits, ``.``, ``_`` and ``-``, at most 32 (``2027.1``)."""

_CANDIDATE = "\x00candidate"
"""The code the previewed version computes under, beside the current one, in one engine over one stream."""


class InvalidPolicy(DomainError):
    """Parameters the credit rules refuse; the message names the parameter."""

    code = "invalid_policy"


@dataclass(frozen=True)
class PolicyVersions:
    """One policy code with its versions, newest first, and the version in force today (None: disabled)."""

    code: str
    versions: tuple[CreditPolicyVersion, ...]
    in_force: CreditPolicyVersion | None

    @property
    def latest(self) -> CreditPolicyVersion:
        return self.versions[0]


def _recency(row: CreditPolicyVersion) -> tuple[date, int]:
    return (row.effective_from, row.id)


def policy_versions(session: Session, today: date) -> list[PolicyVersions]:
    """Every policy code, in the order first installed (``imsj`` leads), with its versions newest first."""
    rows = session.scalars(select(CreditPolicyVersion).order_by(CreditPolicyVersion.id)).all()
    by_code: dict[str, list[CreditPolicyVersion]] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    listed = []
    for code, versions in by_code.items():
        ordered = tuple(sorted(versions, key=_recency, reverse=True))
        current = next((row for row in ordered if row.effective_from <= today), None)
        listed.append(
            PolicyVersions(code, ordered, current if current is not None and current.enabled else None)
        )
    return listed


def policy_of(row: CreditPolicyVersion) -> CreditPolicy:
    """The policy a stored version describes."""
    return CreditPolicy.from_parameters(row.code, row.version, row.effective_from, row.parameters)


def get_version(session: Session, code: str, version: str) -> CreditPolicyVersion:
    row = session.scalar(
        select(CreditPolicyVersion).where(
            CreditPolicyVersion.code == code, CreditPolicyVersion.version == version
        )
    )
    if row is None:
        raise NotFound(f"no version {version} of policy {code}", code="unknown_policy_version")
    return row


def require_policy(session: Session, code: str) -> None:
    """Refuse an unknown policy code (404 ``unknown_policy``)."""
    found = session.scalar(select(CreditPolicyVersion.id).where(CreditPolicyVersion.code == code).limit(1))
    if found is None:
        raise NotFound(f"no policy {code}", code="unknown_policy")


def set_enabled(
    session: Session,
    code: str,
    version: str,
    *,
    enabled: bool,
    expected_version: int | None,
    actor: str,
) -> CreditPolicyVersion:
    """Enable or disable one version, audited; a version already so is left as it is (no event).

    Disabling the version in force disables the scheme from its effective date on (no fall back to an older
    version, see :func:`~cme_tracker.credits.presets.policies_in_force`).
    """
    row = get_version(session, code, version)
    check_version(row.row_version, expected_version)
    if row.enabled == enabled:
        return row
    row.enabled = enabled
    session.flush()
    record(
        session,
        actor=actor,
        action="policy.enable" if enabled else "policy.disable",
        target=f"policy:{code}:{version}",
        details={"effective_from": row.effective_from.isoformat(), "row_version": row.row_version},
    )
    return row


def candidate_policy(
    code: str, version: str, effective_from: date, parameters: Mapping[str, Any]
) -> CreditPolicy:
    """The policy these parameters make, read as the presets are; :class:`InvalidPolicy` says what is
    wrong."""
    if not VERSION_PATTERN.match(version):
        raise InvalidPolicy(
            "a version is 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit",
            details={"version": ["letters, digits, '.', '_' or '-', at most 32"]},
        )
    try:
        policy = CreditPolicy.from_parameters(code, version, effective_from, parameters)
    except ValueError as error:
        raise InvalidPolicy(str(error), details={"parameters": [str(error)]}) from None
    _check_bounds(policy)
    return policy


MAX_MINUTES = 24 * 60
MAX_AMOUNT = Decimal(10_000)


def _check_bounds(policy: CreditPolicy) -> None:
    """Minutes within a day and amounts under 10,000 with at most 4 decimals: the rules accept any whole or
    decimal number, but a typing slip (``1e9``) would only make every total absurd."""
    minutes = {
        "minutes_per_unit": policy.minutes_per_unit,
        "minimum_minutes": policy.minimum_minutes,
        "full_attendance_tolerance": policy.full_attendance_tolerance,
        "remainder.from_minutes": policy.remainder.from_minutes if policy.remainder else None,
    }
    amounts = {
        "unit_value": policy.unit_value,
        "remainder.value": policy.remainder.value if policy.remainder else None,
        "caps.per_lecture": policy.caps.per_lecture,
        "caps.per_day": policy.caps.per_day,
        "caps.per_year": policy.caps.per_year,
    }
    for key, value in minutes.items():
        if value is not None and value > MAX_MINUTES:
            raise InvalidPolicy(f"{policy.label}: {key} must be at most {MAX_MINUTES} minutes")
    for key, amount in amounts.items():
        if amount is not None and (amount >= MAX_AMOUNT or amount != amount.quantize(Decimal("0.0001"))):
            raise InvalidPolicy(f"{policy.label}: {key} must be under {MAX_AMOUNT} with at most 4 decimals")


def add_version(
    session: Session,
    code: str,
    version: str,
    effective_from: date,
    parameters: Mapping[str, Any],
    *,
    enabled: bool = True,
    actor: str,
) -> CreditPolicyVersion:
    """A new version of an existing policy, effective from a date, audited with its parameters.

    Years ending on or after ``effective_from`` are computed with it (a year takes the versions in force on
    its last day); results issued before keep naming the version they were computed with.
    """
    require_policy(session, code)
    policy = candidate_policy(code, version, effective_from, parameters)
    exists = session.scalar(
        select(CreditPolicyVersion.id).where(
            CreditPolicyVersion.code == code, CreditPolicyVersion.version == version
        )
    )
    if exists is not None:
        raise Conflict(f"policy {code} already has a version {version}", code="version_exists")
    stored = policy.to_parameters()
    row = CreditPolicyVersion(
        code=code, version=version, effective_from=effective_from, enabled=enabled, parameters=stored
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="policy.add_version",
        target=f"policy:{code}:{version}",
        details={"effective_from": effective_from.isoformat(), "enabled": enabled, "parameters": stored},
    )
    return row


@dataclass(frozen=True, slots=True)
class PreviewLine:
    """A member whose year total changes: under the current version and the previewed one (None: the policy
    does not apply to them under that version)."""

    member_no: str
    name: str
    old: Decimal | None
    new: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.new or ZERO) - (self.old or ZERO)


@dataclass(frozen=True)
class PolicyPreview:
    """What a version would change in a year's totals of its policy, compared with the version in force."""

    code: str
    year: int
    basis: YearBasis
    current_version: str | None
    """The version the year is computed with now; None when the policy is disabled for that year."""
    candidate_version: str
    effective_from: date
    members_computed: int
    """Members with an attendance in the year."""
    lines: tuple[PreviewLine, ...]
    """Only the members whose total changes, by member number."""

    @property
    def changed(self) -> int:
        return len(self.lines)

    @property
    def increase(self) -> Decimal:
        return sum((line.difference for line in self.lines if line.difference > 0), ZERO)

    @property
    def decrease(self) -> Decimal:
        return sum((line.difference for line in self.lines if line.difference < 0), ZERO)

    @property
    def net(self) -> Decimal:
        return self.increase + self.decrease

    @property
    def distribution(self) -> list[tuple[Decimal, int]]:
        """How many members' totals change by each amount, from the largest loss to the largest gain."""
        counts = Counter(line.difference.normalize() for line in self.lines)
        return sorted(counts.items())

    @property
    def applies_to_year(self) -> bool:
        """Whether saving the version changes this year: it is in force on the year's last day."""
        _, after = year_period(self.year, self.basis)
        return self.effective_from < after


def preview_version(session: Session, candidate: CreditPolicy, year: int, basis: YearBasis) -> PolicyPreview:
    """Every member's year total of ``candidate``'s policy under the version in force and under ``candidate``.

    One streaming pass over the year's attendances (as :func:`~cme_tracker.credits.services.yearly_credits`
    reads them), with both versions in one engine, so the preview of a society-sized year takes about as
    long as computing that year once.
    """
    _, after = year_period(year, basis)
    current = next(
        (
            policy
            for policy in policies_in_force(session, after - timedelta(days=1))
            if policy.code == candidate.code
        ),
        None,
    )
    compared = [dataclasses.replace(candidate, code=_CANDIDATE)]
    if current is not None:
        compared.insert(0, current)
    program = YearProgram(session, year, basis, policies=compared)
    engine = program.engine
    members = session.execute(
        select(
            Member.id,
            Member.member_no,
            Member.family_name,
            Member.given_name,
            Member.family_name_kana,
            Member.profession,
            Member.medical_registry_no,
            Member.dental_registry_no,
            Member.efn,
        )
    ).all()
    selections: dict[Hashable, PolicySelection] = {member.id: program.selection(member) for member in members}
    by_id = {member.id: member for member in members}
    stream = statements.stream_by_member(session.connection(), program.attendances(), STREAM_BATCH)
    lines = []
    computed = 0
    for member_id, result in engine.credit_members(stream, selections):
        computed += 1
        old_credits = result.policies.get(candidate.code) if current is not None else None
        new_credits = result.policies.get(_CANDIDATE)
        old = old_credits.total if old_credits is not None else None
        new = new_credits.total if new_credits is not None else None
        if (old or ZERO) == (new or ZERO):
            continue
        member = by_id[member_id]
        lines.append(
            PreviewLine(
                member.member_no,
                display_name(member.family_name, member.given_name, member.family_name_kana),
                old,
                new,
            )
        )
    lines.sort(key=lambda line: line.member_no)
    return PolicyPreview(
        code=candidate.code,
        year=year,
        basis=basis,
        current_version=current.version if current is not None else None,
        candidate_version=candidate.version,
        effective_from=candidate.effective_from,
        members_computed=computed,
        lines=tuple(lines),
    )
