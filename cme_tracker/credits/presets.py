"""The credit policies the app ships with, their installation, and loading the versions in force.

Presets are data: each is a :class:`CreditPolicy` stored as a ``credit_policies`` row, so an officer can
disable one or add a new version with an effective date, and old results keep naming the version that
produced them.
Every preset but ``imsj`` is a convenience that a society officer confirms before relying on it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.audit.chain import record
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.credits.policy import (
    Caps,
    CreditPolicy,
    LectureCode,
    MultiYearRequirement,
    RegistryNumber,
    RemainderRule,
    UnitBasis,
)
from cme_tracker.vocabulary import CmeField, Profession

PRESET_VERSION = "2026.1"
PRESET_EFFECTIVE_FROM = date(2000, 1, 1)
_ALL_FIELDS = frozenset(CmeField)
_ALL_BUT_DISCOURSE = _ALL_FIELDS - {CmeField.DISCOURSE}

IMSJ = CreditPolicy(
    code="imsj",
    version=PRESET_VERSION,
    effective_from=PRESET_EFFECTIVE_FROM,
    name_en="IMSJ credits",
    name_ja="本会単位",
    unit_name="credits",
    professions=frozenset(Profession),
    registry_number=RegistryNumber.NONE,
    fields=_ALL_FIELDS,
    minutes_per_unit=30,
    unit_value=Decimal("0.5"),
    minimum_minutes=30,
)

JMA = CreditPolicy(
    code="jma",
    version=PRESET_VERSION,
    effective_from=PRESET_EFFECTIVE_FROM,
    name_en="JMA-style CME units",
    name_ja="日本医師会生涯教育制度に準じた単位",
    unit_name="units",
    professions=frozenset({Profession.PHYSICIAN}),
    registry_number=RegistryNumber.MEDICAL,
    fields=_ALL_FIELDS,
    minutes_per_unit=30,
    unit_value=Decimal("0.5"),
    minimum_minutes=30,
    lecture_code=LectureCode.JMA_CC,
    lecture_code_required=True,
    requirement=MultiYearRequirement(years=3, combined=Decimal(60)),
)
"""The JMA certificate (日医生涯教育認定証) asks for units plus distinct curriculum codes of at least 60 over
three consecutive years."""

JDA = CreditPolicy(
    code="jda",
    version=PRESET_VERSION,
    effective_from=PRESET_EFFECTIVE_FROM,
    name_en="JDA-style training units",
    name_ja="日本歯科医師会生涯研修に準じた単位",
    unit_name="units",
    professions=frozenset({Profession.DENTIST}),
    registry_number=RegistryNumber.DENTAL,
    fields=_ALL_BUT_DISCOURSE,
    minutes_per_unit=30,
    unit_value=Decimal(1),
    minimum_minutes=20,
    remainder=RemainderRule(from_minutes=20, value=Decimal(1)),
    lecture_code=LectureCode.JDA_CODE,
)

DE_CME = CreditPolicy(
    code="de-cme",
    version=PRESET_VERSION,
    effective_from=PRESET_EFFECTIVE_FROM,
    name_en="German CME points, category A",
    name_ja="ドイツ CME ポイント（カテゴリー A）",
    unit_name="points",
    professions=frozenset(Profession),
    registry_number=RegistryNumber.EFN,
    fields=_ALL_BUT_DISCOURSE,
    minutes_per_unit=45,
    unit_value=Decimal(1),
    basis=UnitBasis.LECTURE_LENGTH,
    full_attendance_tolerance=5,
    caps=Caps(per_day=Decimal(8)),
)

PRESETS = (IMSJ, JMA, JDA, DE_CME)


def install_presets(session: Session, *, actor: str) -> list[str]:
    """Insert the preset versions the database lacks, each with an audit event; return their labels.

    Idempotent, so ``db upgrade`` can run it every time. A new version of a code an admin disabled stays
    disabled: shipping an update must not silently switch a scheme back on.
    """
    rows = session.scalars(select(CreditPolicyVersion).order_by(CreditPolicyVersion.id)).all()
    present = {(row.code, row.version) for row in rows}
    enabled_by_code = {row.code: row.enabled for row in sorted(rows, key=_recency)}
    installed: list[str] = []
    for preset in PRESETS:
        if (preset.code, preset.version) in present:
            continue
        enabled = enabled_by_code.get(preset.code, True)
        parameters = preset.to_parameters()
        session.add(
            CreditPolicyVersion(
                code=preset.code,
                version=preset.version,
                effective_from=preset.effective_from,
                enabled=enabled,
                parameters=parameters,
            )
        )
        session.flush()
        record(
            session,
            actor=actor,
            action="policy.install",
            target=f"policy:{preset.code}:{preset.version}",
            details={
                "effective_from": preset.effective_from.isoformat(),
                "enabled": enabled,
                "parameters": parameters,
            },
        )
        installed.append(preset.label)
    return installed


def policies_in_force(session: Session, on: date) -> list[CreditPolicy]:
    """The enabled policies on a date: per code, the latest version effective by then, if it is enabled.

    Disabling a code's current version disables the scheme (it does not fall back to an older version).
    Codes come in the order they were first installed, so ``imsj`` leads.
    """
    rows = session.scalars(
        select(CreditPolicyVersion)
        .where(CreditPolicyVersion.effective_from <= on)
        .order_by(CreditPolicyVersion.id)
    ).all()
    latest: dict[str, CreditPolicyVersion] = {}
    for row in rows:
        if row.code not in latest or _recency(row) > _recency(latest[row.code]):
            latest[row.code] = row
    return [
        CreditPolicy.from_parameters(row.code, row.version, row.effective_from, row.parameters)
        for row in latest.values()
        if row.enabled
    ]


def _recency(row: CreditPolicyVersion) -> tuple[date, int]:
    return (row.effective_from, row.id)
