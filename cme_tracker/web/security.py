"""Login sessions, CSRF, security headers and the role check every endpoint must declare.

Access fails closed: an endpoint without a declared role (or an explicit ``public``) answers 403, and a test
walks every URL rule to prove each one declares its access. API endpoints may also admit API clients, which
send ``Authorization: Bearer TOKEN`` instead of a session cookie. Who the logins and clients are is not known
here: :mod:`cme_tracker.accounts.authentication` loads the login for flask-login and puts the bearer-token
lookup under :data:`CLIENT_LOOKUP`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, abort, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from cme_tracker.vocabulary import TOKEN_ROLES, Role

View = TypeVar("View", bound=Callable[..., Any])

ACCESS_ATTRIBUTE = "cme_access"
CLIENT_ACCESS_ATTRIBUTE = "cme_client_access"
PUBLIC = "public"
API_PREFIX = "/api/"
CLIENT_LOOKUP = "cme_client_lookup"
"""Where the app keeps its :data:`ClientLookup`."""

login_manager = LoginManager()
csrf = CSRFProtect()


class Principal(Protocol):
    """What the role check needs of the logged-in user that flask-login holds."""

    def has_role(self, *roles: Role) -> bool: ...


class Client(NamedTuple):
    """An API client that a bearer token authenticated: its name and its one role."""

    name: str
    role: Role


ClientLookup = Callable[[str], Client | None]
"""The client holding a bearer token; None for an unknown or revoked token."""


def roles_required(*roles: Role, api_clients: bool = False) -> Callable[[View], View]:
    """Only logged-in users holding one of ``roles`` reach the view; others get the login page or 403.

    With ``api_clients``, an API client whose role is one of ``roles`` reaches it too (API paths only).
    """
    if not roles:
        raise ValueError("roles_required needs at least one role; use @public for pages open to anyone")

    def mark(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, frozenset(roles))
        if api_clients:
            setattr(view, CLIENT_ACCESS_ATTRIBUTE, frozenset(roles).intersection(TOKEN_ROLES))
        return view

    return mark


def public(view: View) -> View:
    """A view anyone may reach without logging in (login page, public verification)."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def declared_access(view: Callable[..., Any] | None) -> frozenset[Role] | str | None:
    """What a view declared: the roles it admits, ``PUBLIC``, or None when it declared nothing."""
    access: frozenset[Role] | str | None = getattr(view, ACCESS_ATTRIBUTE, None)
    return access


def may_access(endpoint: str) -> bool:
    """Whether the current user would pass the role check of ``endpoint`` (false for unknown endpoints).

    Navigation and landing pages use it, so they never show a link that would answer 403.
    """
    access = declared_access(current_app.view_functions.get(endpoint))
    if access is None:
        return False
    if access == PUBLIC:
        return True
    if not current_user.is_authenticated:
        return False
    user: Principal = current_user._get_current_object()
    return user.has_role(*access)


def is_api_request() -> bool:
    """API clients get JSON errors and a 401 instead of HTML pages and a redirect to the login form."""
    return _is_api_path(request.path)


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header on an API path (maybe empty), else None.

    Such a request is authenticated by its token alone and its session cookie is ignored, so it needs no CSRF
    token: a browser never adds this header to a request another site forges.
    """
    return _bearer_token(request)


def _bearer_token(incoming: Request) -> str | None:
    if not _is_api_path(incoming.path):
        return None
    scheme, _, token = incoming.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but none for a request with a bearer token: its cookie is ignored (see
    :func:`bearer_token`), so it gets Flask's null session and skips the cookie's signing machinery, which
    every desk scan would otherwise pay for."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if _bearer_token(request) is not None:
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when the public URL is https, or when this request came by https (directly, or as the
        trusted proxy's ``X-Forwarded-Proto`` says): a browser then never sends the cookie in clear."""
        return super().get_cookie_secure(app) or request.is_secure


def request_client() -> Client | None:
    """The API client whose bearer token the access check admitted; None for a request without one."""
    client: Client | None = g.get("api_client")
    return client


def safe_redirect_target(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: a ``next`` parameter never leads elsewhere.

    Browsers read ``//host``, ``/\\host`` and paths with tabs or newlines inside as other sites, so only a
    plain absolute path without control characters or backslashes passes.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _check_access(app: Flask) -> ResponseReturnValue | None:
    if request.endpoint is None:
        return None
    view = app.view_functions.get(request.endpoint)
    access = declared_access(view)
    if access == PUBLIC or request.endpoint == "static":
        return None
    if access is None:
        abort(403)
    token = bearer_token()
    if token is not None:
        _admit_client(token, getattr(view, CLIENT_ACCESS_ATTRIBUTE, frozenset()))
        return None
    if not current_user.is_authenticated:
        login_page: ResponseReturnValue = login_manager.unauthorized()
        return login_page
    user: Principal = current_user._get_current_object()
    if not user.has_role(*access):
        abort(403)
    return None


def _admit_client(token: str, admitted: frozenset[Role]) -> None:
    """401 for a missing, unknown or revoked token; 403 when the client's role may not use the endpoint."""
    lookup: ClientLookup = current_app.extensions[CLIENT_LOOKUP]
    client = lookup(token) if token else None
    if client is None:
        abort(401, "the API token is missing, unknown or revoked")
    if client.role not in admitted:
        abort(403, f"an API client with the role {client.role} may not use this endpoint")
    g.api_client = client


def _protect_from_forgery(app: Flask) -> None:
    """Flask-WTF's CSRF check (exemptions included), but not for API requests that no session authenticates:
    one with a bearer token, or an anonymous one, which then gets its 401."""
    if not app.config["WTF_CSRF_ENABLED"]:
        return
    if is_api_request() and (bearer_token() is not None or not current_user.is_authenticated):
        return
    csrf.protect(apply_exemptions=True)


HSTS = "max-age=31536000"
"""A year: a browser that once reached the site by https never tries plain http for it again."""


def _set_headers(response: Any) -> Any:
    if request.is_secure or current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    )
    return response


def init_app(app: Flask) -> None:
    app.session_interface = _CookieSessions()
    login_manager.init_app(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked by _protect_from_forgery instead
    csrf.init_app(app)
    app.before_request(lambda: _protect_from_forgery(app))
    app.before_request(lambda: _check_access(app))
    app.after_request(_set_headers)
