"""Wires the extensions, the request's database session and the blueprints into an app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from flask_babel import LazyString, lazy_gettext

from cme_tracker.vocabulary import Role
from cme_tracker.web import clock, errors, i18n, request_ids, security, session


@dataclass(frozen=True)
class NavLink:
    """An entry of the site's navigation; shown only when its endpoint exists and the user may open it."""

    endpoint: str
    label: LazyString


NAVIGATION = (
    NavLink("members.credits", lazy_gettext("My credits")),
    NavLink("members.card", lazy_gettext("My card")),
    NavLink("certificates.mine", lazy_gettext("My certificates")),
    NavLink("accounts.home", lazy_gettext("Overview")),
    NavLink("admin.members", lazy_gettext("Members")),
    NavLink("admin.walk_ins", lazy_gettext("Walk-ins")),
    NavLink("admin.card_sheets", lazy_gettext("Card sheets")),
    NavLink("certificate_admin.index", lazy_gettext("Certificates")),
    NavLink("desk.page", lazy_gettext("Attendance desk")),
    NavLink("auditing.index", lazy_gettext("Audit")),
)
"""A blueprint with a page for the header adds a line here; the page's role check decides who sees it."""


def _navigation() -> list[tuple[str, str, str]]:
    """``(endpoint, url, label)`` of the links the current user may follow."""
    return [
        (link.endpoint, url_for(link.endpoint), str(link.label))
        for link in NAVIGATION
        if security.may_access(link.endpoint)
    ]


def _template_helpers() -> dict[str, Any]:
    return {"navigation": _navigation, "may_access": security.may_access, "Role": Role}


def init_app(app: Flask) -> None:
    from cme_tracker.accounts import views as account_views
    from cme_tracker.admin import views as admin_views
    from cme_tracker.api import certificates as _api_certificates  # noqa: F401  (adds its route to api)
    from cme_tracker.api import openapi as _api_openapi  # noqa: F401  (adds its route to api)
    from cme_tracker.api import views as api_views
    from cme_tracker.auditing import views as auditing_views
    from cme_tracker.certificates import views as certificate_views
    from cme_tracker.desk import views as desk_views
    from cme_tracker.document_kinds import KINDS
    from cme_tracker.documents import views as document_views
    from cme_tracker.documents.views.files import KINDS_EXTENSION
    from cme_tracker.exports import views as export_views
    from cme_tracker.jobs import views as job_views
    from cme_tracker.members import views as member_views
    from cme_tracker.transcripts import views as transcript_views

    request_ids.init_app(app)
    clock.init_app(app)
    session.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.context_processor(_template_helpers)
    app.extensions[KINDS_EXTENSION] = KINDS
    app.register_blueprint(account_views.blueprint)
    app.register_blueprint(member_views.blueprint)
    app.register_blueprint(desk_views.blueprint)
    app.register_blueprint(admin_views.blueprint)
    app.register_blueprint(api_views.blueprint)
    app.register_blueprint(auditing_views.blueprint)
    app.register_blueprint(export_views.blueprint)
    for blueprint in (*document_views.BLUEPRINTS, *certificate_views.BLUEPRINTS, transcript_views.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(job_views.blueprint)
