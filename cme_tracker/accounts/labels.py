"""The roles as people read them, for the landing page and the office's pages."""

from __future__ import annotations

from flask_babel import LazyString, lazy_gettext

from cme_tracker.vocabulary import Role

ROLE_LABELS: dict[Role, LazyString] = {
    Role.ADMIN: lazy_gettext("Administrator"),
    Role.DESK: lazy_gettext("Desk staff"),
    Role.AUDITOR: lazy_gettext("Auditor"),
    Role.MEMBER: lazy_gettext("Member"),
}
