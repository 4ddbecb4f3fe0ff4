"""cme-tracker: continuing-medical-education credits of the International Medical Society of Japan."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app factory; ``config`` overrides settings (``DATABASE_URL``, ``INSTANCE_PATH``, ``TESTING``)."""
    # deferred: Flask and the app's modules are heavy; the CLI imports this package and serves no page
    from flask import Flask

    from cme_tracker import webapp
    from cme_tracker.config import Settings, make_files_private
    from cme_tracker.db import Database
    from cme_tracker.keys import ensure_instance_keys
    from cme_tracker.logs import configure_logging
    from cme_tracker.resources import resource_dir

    make_files_private()
    config = dict(config or {})
    settings = Settings.from_environment(config)
    configure_logging(settings.log_format)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
    )
    # behind an https public URL every cookie is Secure; an https request marks it so too (web.security)
    https = settings.public_url.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=https,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="ja",
    )
    app.config.update(config)
    given = config.get("DATABASE")
    settings = ensure_instance_keys(settings, given.engine if given is not None else None)
    app.extensions["cme_settings"] = settings
    app.extensions["cme_db"] = given or Database.connect(
        settings.database_url, settings.audit_key, settings.audit_anchor
    )
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    webapp.init_app(app)
    database = app.extensions["cme_db"]
    log.info(
        "app started: %s database, instance folder %s", database.engine.dialect.name, settings.instance_path
    )
    return app
