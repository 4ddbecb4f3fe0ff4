"""Wires the extensions, the request's database session and the blueprints into an app."""

from __future__ import annotations

from flask import Flask

from cme_tracker.web import errors, i18n, security, session


def init_app(app: Flask) -> None:
    from cme_tracker.accounts import views as account_views
    from cme_tracker.members import views as member_views

    session.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.register_blueprint(account_views.blueprint)
    app.register_blueprint(member_views.blueprint)
