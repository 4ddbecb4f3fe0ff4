"""The web app's composition: every feature's pages, the site's navigation, and the registries pages read.

The one module that imports the features' views; the app factory (:func:`cme_tracker.create_app`) calls
:func:`init_app`. The generic web machinery (:mod:`cme_tracker.web`) imports no feature, and no feature
imports another's views.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from cme_tracker.accounts import authentication
from cme_tracker.accounts import views as account_views
from cme_tracker.admin import accounts as admin_accounts
from cme_tracker.admin import policies as policy_views
from cme_tracker.admin import views as admin_views
from cme_tracker.api import accounts as _api_accounts  # noqa: F401  (adds its routes to api)
from cme_tracker.api import attendance as _api_attendance  # noqa: F401  (adds its routes to api)
from cme_tracker.api import certificates as _api_certificates  # noqa: F401  (adds its route to api)
from cme_tracker.api import imports as _api_imports  # noqa: F401  (adds its routes to api)
from cme_tracker.api import jobs as _api_jobs  # noqa: F401  (adds its routes to api)
from cme_tracker.api import members as _api_members  # noqa: F401  (adds its routes to api)
from cme_tracker.api import openapi as _api_openapi  # noqa: F401  (adds its route to api)
from cme_tracker.api import policies as _api_policies  # noqa: F401  (adds its routes to api)
from cme_tracker.api import program as _api_program  # noqa: F401  (adds its routes to api)
from cme_tracker.api import views as _api_views  # noqa: F401  (adds its routes to api)
from cme_tracker.api.blueprint import blueprint as api_blueprint
from cme_tracker.auditing import views as auditing_views
from cme_tracker.certificates import views as certificate_views
from cme_tracker.credits import views as credit_views
from cme_tracker.desk import views as desk_views
from cme_tracker.document_kinds import KINDS
from cme_tracker.documents import views as document_views
from cme_tracker.documents.web import KINDS_EXTENSION
from cme_tracker.exports import views as export_views
from cme_tracker.import_runs import views as import_views
from cme_tracker.job_kinds import JOB_KINDS
from cme_tracker.jobs import views as job_views
from cme_tracker.jobs.web import JOB_KINDS_EXTENSION
from cme_tracker.mail import views as mail_views
from cme_tracker.members import views as member_views
from cme_tracker.ops import views as ops_views
from cme_tracker.program_office import views as program_views
from cme_tracker.transcripts import views as transcript_views
from cme_tracker.web import setup
from cme_tracker.web.setup import NavLink

NAVIGATION = (
    NavLink("credits.mine", lazy_gettext("My credits")),
    NavLink("members.card", lazy_gettext("My card")),
    NavLink("certificates.mine", lazy_gettext("My certificates")),
    NavLink("accounts.home", lazy_gettext("Overview")),
    NavLink("admin.members", lazy_gettext("Members")),
    NavLink("program_admin.index", lazy_gettext("Program")),
    NavLink("admin.walk_ins", lazy_gettext("Walk-ins")),
    NavLink("admin.card_sheets", lazy_gettext("Card sheets")),
    NavLink("import_runs.index", lazy_gettext("Imports")),
    NavLink("policies.index", lazy_gettext("Credit policies")),
    NavLink("certificate_admin.index", lazy_gettext("Certificates")),
    NavLink("outbox.index", lazy_gettext("Mail")),
    NavLink("admin_accounts.users", lazy_gettext("Users")),
    NavLink("desk.page", lazy_gettext("Attendance desk")),
    NavLink("auditing.index", lazy_gettext("Audit")),
)
"""A blueprint with a page for the header adds a line here; the page's role check decides who sees it."""


def init_app(app: Flask) -> None:
    setup.init_app(app, NAVIGATION)
    authentication.init_app(app)
    app.extensions[KINDS_EXTENSION] = KINDS
    app.extensions[JOB_KINDS_EXTENSION] = JOB_KINDS
    app.register_blueprint(account_views.blueprint)
    app.register_blueprint(member_views.blueprint)
    app.register_blueprint(credit_views.blueprint)
    app.register_blueprint(desk_views.blueprint)
    app.register_blueprint(admin_views.blueprint)
    app.register_blueprint(admin_accounts.blueprint)
    app.register_blueprint(policy_views.blueprint)
    app.register_blueprint(program_views.blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(auditing_views.blueprint)
    app.register_blueprint(export_views.blueprint)
    app.register_blueprint(import_views.blueprint)
    for blueprint in (*document_views.BLUEPRINTS, *certificate_views.BLUEPRINTS, transcript_views.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(job_views.blueprint)
    app.register_blueprint(mail_views.blueprint)
    ops_views.init_app(app)
