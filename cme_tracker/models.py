"""Imports every model so that the metadata is complete for Alembic and the tests."""

from cme_tracker.accounts.models import User, UserRole
from cme_tracker.accounts.throttle import LoginFailures
from cme_tracker.accounts.tokens import ApiClient
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.credits.models import CreditPolicyVersion
from cme_tracker.db import Base
from cme_tracker.documents.models import Certificate
from cme_tracker.import_runs.models import ImportRun
from cme_tracker.jobs.models import Job
from cme_tracker.mail.models import OutgoingMail
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from cme_tracker.web.ratelimit import RateLimitWindow

metadata = Base.metadata

__all__ = [
    "ApiClient",
    "Attendance",
    "AuditEvent",
    "AuditHead",
    "Certificate",
    "CreditPolicyVersion",
    "ImportRun",
    "Job",
    "Lecture",
    "LectureExclusion",
    "LoginFailures",
    "Member",
    "OutgoingMail",
    "RateLimitWindow",
    "Scan",
    "Symposium",
    "User",
    "UserRole",
    "metadata",
]
