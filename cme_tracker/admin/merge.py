"""Merging a walk-in or a duplicate (the source) into the member they really are (the target).

Everything recorded of the source moves to the target: attendances, scans, certificates and transcripts, and
the login when the target has none. The source stays as a record pointing at the target
(``merged_into_id``), inactive, so that its number still leads somewhere. A merge that the database's rules
would break is refused before anything moves, saying what the office must do first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from cme_tracker.accounts.models import User
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.documents.models import Certificate, CertificateKind, CertificateStatus
from cme_tracker.errors import Conflict, check_version
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium


@dataclass(frozen=True, slots=True)
class MemberCounts:
    """What is recorded of a member, as the merge's confirmation shows it and the merge moves it."""

    attendances: int
    scans: int
    certificates: int
    logins: int


@dataclass(frozen=True, slots=True)
class MergeResult:
    source: Member
    target: Member
    moved: MemberCounts


def member_counts(session: Session, member: Member) -> MemberCounts:
    """How many rows of each kind name the member."""

    def count(column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]) -> int:
        return session.scalar(select(func.count()).where(column == member.id)) or 0

    return MemberCounts(
        attendances=count(Attendance.member_id),
        scans=count(Scan.member_id),
        certificates=count(Certificate.member_id),
        logins=count(User.member_id),
    )


def merge_problems(session: Session, source: Member, target: Member) -> list[Conflict]:
    """Why ``source`` cannot be merged into ``target`` now; empty when it can."""
    if source.id == target.id:
        return [Conflict("a member cannot be merged into themselves", code="same_member")]
    problems: list[Conflict] = []
    for member in (source, target):
        if member.merged_into_id is not None:
            problems.append(
                Conflict(f"{member.member_no} was merged into another member already", code="already_merged")
            )
    if problems:
        return problems
    overlapping = _overlapping_open_attendances(session, source, target)
    if overlapping:
        problems.append(
            Conflict(
                f"both members are checked in and not out at {', '.join(overlapping)}: close or void one of "
                "the two attendances first",
                code="open_attendance_overlap",
                details={"targets": overlapping},
            )
        )
    certificates = _competing_certificates(session, source, target)
    if certificates:
        problems.append(
            Conflict(
                f"both members hold a valid certificate of the same subject ({', '.join(certificates)}): "
                "revoke one of them first",
                code="certificate_conflict",
                details={"serials": certificates},
            )
        )
    logins = session.scalars(select(User.login).where(User.member_id.in_((source.id, target.id)))).all()
    if len(logins) > 1:
        problems.append(
            Conflict(
                f"both members have a login ({', '.join(sorted(logins))}): remove one of them first",
                code="login_conflict",
                details={"logins": sorted(logins)},
            )
        )
    return problems


def merge_members(
    session: Session, source: Member, target: Member, *, actor: str, expected_version: int | None
) -> MergeResult:
    """Move the source's records to the target and point the source at it; refused (nothing moved) with the
    first of :func:`merge_problems`. ``expected_version`` is the source's."""
    check_version(source.row_version, expected_version)
    problems = merge_problems(session, source, target)
    if problems:
        raise problems[0]
    try:
        moved = MemberCounts(
            attendances=_move(session, Attendance, source, target),
            scans=_move(session, Scan, source, target),
            certificates=_move(session, Certificate, source, target),
            logins=_move(session, User, source, target),
        )
    except IntegrityError:  # a desk opened an attendance (or an issue run a document) meanwhile
        raise Conflict(
            "a desk recorded one of the two members meanwhile, and the records now overlap: look again",
            code="open_attendance_overlap",
        ) from None
    was_walk_in = source.needs_review
    source.merged_into_id = target.id
    source.active = False
    source.needs_review = False
    session.flush()
    counts = {
        "attendances": moved.attendances,
        "scans": moved.scans,
        "certificates": moved.certificates,
        "logins": moved.logins,
    }
    chain.record(
        session,
        actor=actor,
        action="member.merge",
        target=f"member:{source.member_no}",
        details={"into": target.member_no, "moved": counts, "walk_in": was_walk_in},
    )
    chain.record(
        session,
        actor=actor,
        action="member.merge_in",
        target=f"member:{target.member_no}",
        details={"from": source.member_no, "moved": counts, "walk_in": was_walk_in},
    )
    return MergeResult(source, target, moved)


def _move(
    session: Session,
    model: type[Attendance] | type[Scan] | type[Certificate] | type[User],
    source: Member,
    target: Member,
) -> int:
    """Point the source's rows of ``model`` at the target; how many moved. A login's member is part of what
    the office edits on it, so its version rises (an open edit of the login is then stale)."""
    statement = update(model).where(model.member_id == source.id).values(member_id=target.id)
    if model is User:
        statement = statement.values(row_version=User.row_version + 1)
    result = cast(CursorResult[tuple[()]], session.execute(statement))
    return result.rowcount


def _overlapping_open_attendances(session: Session, source: Member, target: Member) -> list[str]:
    """The lectures and whole days where both members have an open attendance: moving would make two."""
    mine, theirs = aliased(Attendance), aliased(Attendance)
    rows = session.execute(
        select(mine.lecture_id, mine.symposium_id)
        .join(
            theirs,
            and_(
                theirs.member_id == target.id,
                theirs.symposium_id == mine.symposium_id,
                func.coalesce(theirs.lecture_id, 0) == func.coalesce(mine.lecture_id, 0),
                theirs.check_out_at.is_(None),
                theirs.voided_at.is_(None),
            ),
        )
        .where(mine.member_id == source.id, mine.check_out_at.is_(None), mine.voided_at.is_(None))
    ).all()
    if not rows:
        return []
    lectures = {row.lecture_id for row in rows if row.lecture_id is not None}
    symposia = {row.symposium_id for row in rows if row.lecture_id is None}
    codes = list(session.scalars(select(Lecture.code).where(Lecture.id.in_(lectures)))) if lectures else []
    codes += (
        list(session.scalars(select(Symposium.code).where(Symposium.id.in_(symposia)))) if symposia else []
    )
    return sorted(codes)


def _competing_certificates(session: Session, source: Member, target: Member) -> list[str]:
    """Serials of valid documents of one subject that both members hold: one valid per subject is the rule."""
    mine, theirs = aliased(Certificate), aliased(Certificate)
    same_subject = and_(
        theirs.member_id == target.id,
        theirs.status == CertificateStatus.VALID,
        theirs.kind == mine.kind,
        _same_subject(mine, theirs),
    )
    rows = session.execute(
        select(mine.serial, theirs.serial)
        .join(theirs, same_subject)
        .where(mine.member_id == source.id, mine.status == CertificateStatus.VALID)
    ).all()
    return sorted({serial for row in rows for serial in row})


def _same_subject(mine: type[Certificate], theirs: type[Certificate]) -> ColumnElement[bool]:
    return or_(
        and_(mine.kind == CertificateKind.ATTENDANCE, theirs.symposium_id == mine.symposium_id),
        and_(
            mine.kind == CertificateKind.TRANSCRIPT,
            theirs.year == mine.year,
            theirs.year_basis == mine.year_basis,
        ),
    )
