"""Login sessions, CSRF, security headers and the role check every endpoint must declare.

Access fails closed: an endpoint without a declared role (or an explicit ``public``) answers 403, and a test
walks every URL rule to prove each one declares its access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, request
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from cme_tracker.accounts.models import User
from cme_tracker.vocabulary import Role
from cme_tracker.web.session import db_session

View = TypeVar("View", bound=Callable[..., Any])

ACCESS_ATTRIBUTE = "cme_access"
PUBLIC = "public"

login_manager = LoginManager()
csrf = CSRFProtect()


def roles_required(*roles: Role) -> Callable[[View], View]:
    """Only logged-in users holding one of ``roles`` reach the view; others get the login page or 403."""

    def mark(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, frozenset(roles))
        return view

    return mark


def public(view: View) -> View:
    """A view anyone may reach without logging in (login page, public verification)."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def _check_access(app: Flask) -> ResponseReturnValue | None:
    if request.endpoint is None:
        return None
    view = app.view_functions.get(request.endpoint)
    access = getattr(view, ACCESS_ATTRIBUTE, None)
    if access == PUBLIC or request.endpoint == "static":
        return None
    if access is None:
        abort(403)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    user: User = current_user._get_current_object()
    if not user.has_role(*access):
        abort(403)
    return None


def _load_user(user_id: str) -> User | None:
    user = db_session().get(User, int(user_id))
    return user if user is not None and user.active else None


def _set_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    return response


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.user_loader(_load_user)
    csrf.init_app(app)
    app.before_request(lambda: _check_access(app))
    app.after_request(_set_headers)
