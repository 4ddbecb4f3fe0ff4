"""Who sends a request: the login flask-login keeps in the session, or the API client a bearer token names.

The access check in :mod:`cme_tracker.web.security` knows no account: this module gives it the logins
(flask-login's user loader and login page) and the bearer-token lookup, and gives the views the request's
:class:`Actor` and the logged-in member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, Response, abort, flash, g, redirect, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from cme_tracker.accounts.models import User
from cme_tracker.accounts.statements import live_client, note_use
from cme_tracker.accounts.tokens import LAST_USE_RESOLUTION
from cme_tracker.db import begin_write
from cme_tracker.members.models import Member
from cme_tracker.vocabulary import Role
from cme_tracker.web import clock
from cme_tracker.web.security import (
    CLIENT_LOOKUP,
    Client,
    is_api_request,
    login_manager,
    request_client,
    safe_redirect_target,
)
from cme_tracker.web.session import database, db_session, settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who sends the request: a logged-in user or an API client, named for the audit log as ``user:LOGIN``
    or ``token:NAME``."""

    name: str
    roles: frozenset[Role]
    user: User | None = None

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


def current_actor() -> Actor:
    """The API client or logged-in user behind the request (``anonymous`` on public pages)."""
    client = request_client()
    if client is not None:
        return Actor(f"token:{client.name}", frozenset({client.role}))
    if not current_user.is_authenticated:
        return Actor("anonymous", frozenset())
    user: User = current_user._get_current_object()
    return Actor(f"user:{user.login}", user.roles, user)


def own_member() -> Member:
    """The member of the login, or 404 for a login that is not a member's: a member's pages show only it."""
    user: User = current_user._get_current_object()
    if user.member is None:
        abort(404, gettext("Your login is not linked to a member record. Please contact the society office."))
    return user.member


def _live_client(token: str) -> Client | None:
    """The client holding ``token``, looked up in the request's transaction: a revoked or expired token fails
    at once."""
    found = live_client(db_session().connection(), token, clock.now())
    if found is None:
        return None
    g.client_use = (found.id, found.last_used_at)
    return Client(found.name, Role(found.role))


def _note_client_use(response: Response) -> Response:
    """Note when a client last used its token, at most once per resolution, in a short transaction of its own
    (a GET commits nothing); the answer never depends on it."""
    seen: tuple[int, datetime | None] | None = g.pop("client_use", None)
    if seen is None:
        return response
    client_id, last_used_at = seen
    now = clock.now()
    if last_used_at is not None and now - last_used_at < LAST_USE_RESOLUTION:
        return response
    try:
        with database().sessions() as session:
            begin_write(session)
            note_use(session.connection(), client_id, now)
            session.commit()
    except SQLAlchemyError:
        log.warning("could not note the last use of API client %d", client_id, exc_info=True)
    return response


def _unauthorized() -> ResponseReturnValue:
    """An anonymous visitor: 401 for the API, else the login form that brings them back afterwards."""
    if is_api_request():
        abort(401)
    flash(gettext("Please log in to see this page."), "info")
    here = request.full_path.removesuffix("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=safe_redirect_target(here)))


SEEN = "_seen"
"""The session key holding when (epoch seconds, by the app's clock) the login last made a request."""


def _load_user(user_id: str) -> User | None:
    """The login of a session whose ``ID:VERSION`` is current and which was used within the idle timeout.

    Logout and a new password raise the version, so a copied cookie fails on the server; an idle session is
    emptied, so the next page asks for the password again.
    """
    number, _, version = user_id.partition(":")
    if not number.isdigit() or not version.isdigit():
        return None
    user = db_session().get(User, int(number))
    if user is None or not user.active or user.session_version != int(version):
        return None
    moment = int(clock.now().timestamp())
    seen = cookie_session.get(SEEN)
    if isinstance(seen, int) and moment - seen > settings().idle_minutes * 60:
        cookie_session.clear()
        return None
    cookie_session[SEEN] = moment
    return user


def init_app(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.extensions[CLIENT_LOOKUP] = _live_client
    app.after_request(_note_client_use)
