"""Logging in and out, and the landing page that tells each role what it can do.

Failed attempts are counted by :mod:`cme_tracker.accounts.throttle`, which locks a login or address after a
few; a successful login is written to the audit log. The error message never says whether a login exists (an
unknown login is locked alike), and a new session starts at login so a planted session cookie is useless.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from cme_tracker.accounts import throttle
from cme_tracker.accounts.labels import ROLE_LABELS
from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import authenticate
from cme_tracker.audit import chain
from cme_tracker.counters import LOGIN_FAILURES
from cme_tracker.vocabulary import Role
from cme_tracker.web import clock
from cme_tracker.web.security import may_access, public, roles_required, safe_redirect_target
from cme_tracker.web.session import db_session

blueprint = Blueprint("accounts", __name__)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """Something a role can do, and the page where it is done."""

    role: Role
    title: LazyString
    description: LazyString
    endpoint: str


TASKS = (
    Task(
        Role.MEMBER,
        lazy_gettext("My credits"),
        lazy_gettext("Your CME credits for a year by field and policy, with the lectures that earned them."),
        endpoint="credits.mine",
    ),
    Task(
        Role.DESK,
        lazy_gettext("Check members in and out"),
        lazy_gettext("Scan member cards, type member numbers or search names; keeps working offline."),
        endpoint="desk.page",
    ),
    Task(
        Role.AUDITOR,
        lazy_gettext("The year in figures"),
        lazy_gettext("Credits by field, profession and symposium, attendance per lecture, and the exports."),
        endpoint="auditing.index",
    ),
    Task(
        Role.AUDITOR,
        lazy_gettext("Read a member's credits"),
        lazy_gettext("A member's credits and every check-in and check-out behind them, desk and operator."),
        endpoint="auditing.members",
    ),
    Task(
        Role.AUDITOR,
        lazy_gettext("Verify the audit log"),
        lazy_gettext("Checks that no recorded event was changed, inserted or removed."),
        endpoint="auditing.log",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Certificates and transcripts"),
        lazy_gettext("Issue a symposium's certificates or a year's transcripts, reissue, revoke, download."),
        endpoint="certificate_admin.index",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Import members, the programme and attendance"),
        lazy_gettext("CSV or XLSX files; a file with an invalid row is rejected whole, every error listed."),
        endpoint="import_runs.index",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Members and cards"),
        lazy_gettext("Find members, issue a new card, print card sheets."),
        endpoint="admin.members",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("The program"),
        lazy_gettext("Symposia and their lectures: create, edit, reorder, open and close them."),
        endpoint="program_admin.index",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Credit policies"),
        lazy_gettext("Each policy's rules in words; enable, disable or add a version after a preview."),
        endpoint="policies.index",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Outgoing mail"),
        lazy_gettext("What was sent to members, what waits for a retry, and what failed and why."),
        endpoint="outbox.index",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Walk-ins to confirm"),
        lazy_gettext("Guests registered at a desk, waiting for an administrator to confirm who they are."),
        endpoint="admin.walk_ins",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("API tokens for desk devices"),
        lazy_gettext("A token for a desk device or an auditor's script, shown once."),
        endpoint="admin_accounts.tokens",
    ),
    Task(
        Role.ADMIN,
        lazy_gettext("Create logins"),
        lazy_gettext("Logins for desk staff, auditors, administrators and members."),
        endpoint="admin_accounts.users",
    ),
)
"""What the landing page lists; a task gets a link as soon as its endpoint exists and the user may open it."""


class LoginForm(FlaskForm):  # type: ignore[misc]
    login = StringField(lazy_gettext("Login ID"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=1024)])


def landing_url(user: User) -> str:
    """Members go straight to their credits; everyone else to the overview of what their roles can do."""
    if user.roles == {Role.MEMBER}:
        return url_for("credits.mine")
    return url_for("accounts.home")


def _log_failure(session: Session, login: str) -> None:
    """The log tells the operators which account was tried; the person at the form learns nothing of it.

    Failures are counted in :mod:`cme_tracker.accounts.throttle`, not each written to the audit chain.
    """
    known = session.scalar(select(User).where(User.login == login))
    if known is None:
        reason, target = "unknown_login", None
    else:
        reason, target = ("wrong_password" if known.active else "inactive"), f"user:{login}"
    LOGIN_FAILURES.inc()
    # an unknown login is not named: it may be a password typed into the wrong field
    log.warning("login failed (%s) for %s from %s", reason, target or "an unknown login", request.remote_addr)


def _wait_message(until: datetime, now: datetime) -> str:
    """How long the person at the form must wait, in whole minutes rounded up, so they need not guess."""
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    message: str = gettext(
        "Too many failed logins. Please try again in %(minutes)d minute(s).", minutes=minutes
    )
    return message


@blueprint.get("/")
@public
def index() -> ResponseReturnValue:
    """The site's front door: the login form, or the logged-in user's own landing page."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    return redirect(url_for("accounts.login"))


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Check the password unless the login or address is locked, count a failure, and start a fresh session
    so a planted cookie is worthless."""
    next_target = safe_redirect_target(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_target or landing_url(current_user))
    form = LoginForm()
    failed = False
    locked: str | None = None
    if form.validate_on_submit():
        session = db_session()
        moment = clock.now()
        address = request.remote_addr
        until = throttle.locked_until(session, form.login.data, address, moment)
        user = None if until is not None else authenticate(session, form.login.data, form.password.data)
        if until is not None:
            locked = _wait_message(until, moment)
        elif user is None:
            _log_failure(session, form.login.data)
            throttle.record_failure(session, form.login.data, address, moment)
            session.commit()
            failed = True
        else:
            throttle.forget(session, user.login)
            chain.record(
                session,
                actor=user.login,
                action="login.succeeded",
                target=f"user:{user.login}",
                details={"ip": request.remote_addr},
            )
            session.commit()
            cookie_session.clear()
            login_user(user)
            return redirect(next_target or landing_url(user))
    page = render_template("accounts/login.html", form=form, failed=failed, locked=locked, next=next_target)
    return page, 429 if locked else 200


@blueprint.post("/logout")
@roles_required(*Role)
def logout() -> ResponseReturnValue:
    """A POST with a CSRF token, so another site cannot log a user out behind their back. It ends every
    session of the login on the server, so a copied cookie is worthless afterwards."""
    session = db_session()
    user: User = current_user._get_current_object()
    user.session_version += 1  # every copy of this session's cookie stops working
    chain.record(session, actor=user.login, action="logout", target=f"user:{user.login}")
    session.commit()
    logout_user()
    cookie_session.clear()
    flash(gettext("You have logged out."), "success")
    return redirect(url_for("accounts.login"))


@blueprint.get("/home")
@roles_required(Role.ADMIN, Role.DESK, Role.AUDITOR)
def home() -> ResponseReturnValue:
    """Staff land here: what each of their roles can do, each linked to its page."""
    user: User = current_user._get_current_object()
    roles = [role for role in Role if role in user.roles]
    tasks = [
        (task, url_for(task.endpoint) if may_access(task.endpoint) else None)
        for role in roles
        for task in TASKS
        if task.role == role
    ]
    return render_template("accounts/home.html", roles=[ROLE_LABELS[role] for role in roles], tasks=tasks)
