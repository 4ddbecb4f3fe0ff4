"""The office's pages for logins and API tokens: list, create, change roles and the linked member, disable
and enable, unlock a throttled login; create and revoke API tokens.

For the ``admin`` role only. The services (accounts/services.py, tokens.py, throttle.py) decide and audit;
an edit names the version of the login the page showed (a hidden field), so that an admin who saved second is
told and shown the current state. The office never sees nor sets a member's password, and a new token is
shown once, on the answer to the form that created it, which no cache keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, gettext, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from cme_tracker.accounts import throttle
from cme_tracker.accounts.authentication import current_actor
from cme_tracker.accounts.labels import ROLE_LABELS
from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import (
    LOGIN_PATTERN,
    UNSET,
    Unset,
    add_user,
    list_users,
    update_user,
    user_by_login,
)
from cme_tracker.accounts.tokens import (
    ADMIN_TOKEN_DAYS,
    TOKEN_NAME,
    ApiClient,
    client_by_name,
    create_client,
    default_valid_through,
    last_valid_day,
    list_clients,
    revoke_client,
)
from cme_tracker.db import begin_write
from cme_tracker.errors import DomainError, NotFound, StaleVersion
from cme_tracker.society import SOCIETY_ZONE, society_today
from cme_tracker.vocabulary import TOKEN_ROLES, Role
from cme_tracker.web import clock
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

blueprint = Blueprint("admin_accounts", __name__, url_prefix="/admin")

PER_PAGE = 50
NO_STORE = "no-store, max-age=0"


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _role_choices() -> list[tuple[str, LazyString]]:
    return [(role.value, ROLE_LABELS[role]) for role in Role]


class VersionedForm(FlaskForm):  # type: ignore[misc]
    """An edit of one login, made against the version the page showed."""

    row_version = IntegerField(widget=HiddenInput(), validators=[DataRequired(), NumberRange(1, 2**31 - 1)])


class CreateUserForm(FlaskForm):  # type: ignore[misc]
    login = StringField(
        lazy_gettext("Login ID"),
        description=lazy_gettext(
            "Letters, digits, '.', '_', '@' or '-' (an e-mail address too), at most 64."
        ),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(
                LOGIN_PATTERN.pattern + "$",
                message=lazy_gettext(
                    "Use letters, digits, '.', '_', '@' or '-', starting with a letter or digit."
                ),
            ),
        ],
    )
    roles = CheckboxesField(
        lazy_gettext("Roles"), validators=[DataRequired(message=lazy_gettext("Choose at least one role."))]
    )
    member_no = StringField(
        lazy_gettext("Member number"),
        description=lazy_gettext("For the member role: the member whose credits this login shows."),
        validators=[Optional(), Length(max=32)],
    )
    password = PasswordField(
        lazy_gettext("Initial password"),
        description=lazy_gettext(
            "Staff logins only: at least 12 characters, not one character repeated, not a common password. "
            "Tell it to the person in person."
        ),
        validators=[Optional(), Length(max=1024)],
    )
    password_again = PasswordField(
        lazy_gettext("Initial password again"),
        validators=[
            Optional(),
            Length(max=1024),
            EqualTo("password", message=lazy_gettext("The two passwords differ.")),
        ],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_choices()


class RolesForm(VersionedForm):
    roles = CheckboxesField(
        lazy_gettext("Roles"), validators=[DataRequired(message=lazy_gettext("Choose at least one role."))]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_choices()


class MemberLinkForm(VersionedForm):
    member_no = StringField(lazy_gettext("Member number"), validators=[Optional(), Length(max=32)])
    unlink = HiddenField()


class ActiveForm(VersionedForm):
    active = HiddenField(validators=[DataRequired(), Regexp("^(yes|no)$")])


class TokenForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        lazy_gettext("Name"),
        description=lazy_gettext("Up to 50 letters, digits, '.', '_' or '-', e.g. desk-east or office-sync."),
        validators=[
            DataRequired(),
            Length(max=50),
            Regexp(
                TOKEN_NAME.pattern + "$",
                message=lazy_gettext(
                    "Use letters, digits, '.', '_' or '-', starting with a letter or digit."
                ),
            ),
        ],
    )
    role = RadioField(lazy_gettext("Role"), default=Role.DESK.value, validators=[DataRequired()])
    valid_through = DateField(
        lazy_gettext("Last valid day"),
        description=lazy_gettext(
            "Pre-filled with %(days)d days from today, the default for an admin token. Leave it empty for a "
            "desk or auditor token that should not expire.",
            days=ADMIN_TOKEN_DAYS,
        ),
        validators=[Optional()],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [(role.value, ROLE_LABELS[role]) for role in TOKEN_ROLES]


_FIELD_OF_ERROR = {
    "invalid_login": "login",
    "login_taken": "login",
    "no_role": "roles",
    "unknown_member": "member_no",
    "member_required": "member_no",
    "member_taken": "member_no",
    "weak_password": "password",
    "password_required": "password",
    "password_not_allowed": "password",
    "invalid_name": "name",
    "name_taken": "name",
    "bad_role": "role",
    "expiry_in_past": "valid_through",
}
"""Which field of a form a service's refusal is about."""


def _refusals() -> Mapping[str, str]:
    """What a person reads for each refusal of the services, in their language."""
    return {
        "invalid_login": gettext(
            "Use letters, digits, '.', '_', '@' or '-', starting with a letter or digit."
        ),
        "login_taken": gettext("This login ID is taken."),
        "no_role": gettext("Choose at least one role."),
        "unknown_member": gettext("There is no member with this number."),
        "member_required": gettext("A member login needs the number of its member."),
        "member_taken": gettext("This member already has a login."),
        "weak_password": gettext(
            "Choose a password of at least 12 characters, not one character repeated and not a common "
            "password."
        ),
        "password_required": gettext("A staff login needs an initial password."),
        "password_not_allowed": gettext(
            "The office never sets a member's password: leave it empty, the member sets it when activating "
            "the login."
        ),
        "last_admin": gettext(
            "This is the last active administrator: make another login an administrator first."
        ),
        "invalid_name": gettext("Use letters, digits, '.', '_' or '-', starting with a letter or digit."),
        "name_taken": gettext("An API token with this name exists."),
        "bad_role": gettext("Choose desk, auditor or admin."),
        "expiry_in_past": gettext("The last valid day cannot be before today."),
    }


def _refusal(error: DomainError) -> str:
    return _refusals().get(error.code, error.message)


def _show_on_form(form: FlaskForm, error: DomainError) -> None:
    field: Field | None = getattr(form, _FIELD_OF_ERROR.get(error.code, ""), None)
    if field is None:
        flash(_refusal(error), "error")
    else:
        field.errors = [*field.errors, _refusal(error)]


def _user_or_404(session: Session, login: str) -> User:
    try:
        return user_by_login(session, login)
    except NotFound:
        abort(404, gettext("There is no login %(login)s.", login=login))


@blueprint.get("/users")
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    """Every login by ID, a page at a time, with its roles, member, state, last login and lock."""
    session = db_session()
    after = request.args.get("after") or None
    if after is not None and len(after) > 64:
        after = None
    page = list_users(session, after=after, limit=PER_PAGE)
    locked = throttle.locked_logins(session, [user.login for user in page.users], clock.now())
    return render_template(
        "admin/users.html", page=page, locked=locked, zone=SOCIETY_ZONE, role_labels=ROLE_LABELS
    )


@blueprint.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> ResponseReturnValue:
    """A staff login with the initial password the admin chose, or a member's login without one."""
    form = CreateUserForm()
    if form.validate_on_submit():
        session = db_session()
        begin_write(session)
        try:
            user = add_user(
                session,
                login=form.login.data.strip(),
                roles=[Role(role) for role in form.roles.data],
                member_no=(form.member_no.data or "").strip() or None,
                password=form.password.data or None,
                actor=current_actor().name,
            )
        except DomainError as error:
            session.rollback()
            _show_on_form(form, error)
        else:
            session.commit()
            if user.has_password:
                message = gettext(
                    "The login %(login)s was created with the initial password.", login=user.login
                )
            else:
                message = gettext(
                    "The login %(login)s was created without a password: it cannot log in until the member "
                    "activates it.",
                    login=user.login,
                )
            flash(message, "success")
            return redirect(url_for("admin_accounts.user", login=user.login), 303)
    status = 422 if any(field.errors for field in form) else 200
    return render_template("admin/user_new.html", form=form), status


@blueprint.get("/users/<login>")
@roles_required(Role.ADMIN)
def user(login: str) -> ResponseReturnValue:
    """One login: its roles, member, state and lock, with a form for each change."""
    session = db_session()
    found = _user_or_404(session, login)
    return _user_page(session, found)


def _user_page(session: Session, found: User, roles_form: RolesForm | None = None) -> str:
    version = found.row_version
    roles_form = roles_form or RolesForm(
        formdata=None, roles=sorted(role.value for role in found.roles), row_version=version
    )
    link_form = MemberLinkForm(formdata=None, row_version=version)
    active_form = ActiveForm(formdata=None, row_version=version, active="no" if found.active else "yes")
    locked = throttle.locked_logins(session, [found.login], clock.now()).get(found.login)
    return render_template(
        "admin/user.html",
        user=found,
        roles_form=roles_form,
        link_form=link_form,
        active_form=active_form,
        locked_until=locked,
        zone=SOCIETY_ZONE,
        role_labels=ROLE_LABELS,
    )


def _edit(
    login: str,
    form: VersionedForm,
    *,
    roles: list[Role] | None = None,
    member_no: str | Unset | None = UNSET,
    active: bool | None = None,
) -> ResponseReturnValue:
    """Run the edit against the version the form carried; a refusal or a stale version is said on the page
    of the login as it is now."""
    session = db_session()
    begin_write(session)
    try:
        update_user(
            session,
            login,
            expected_version=form.row_version.data,
            actor=current_actor().name,
            roles=roles,
            member_no=member_no,
            active=active,
        )
        session.commit()
    except (StaleVersion, StaleDataError):
        session.rollback()
        flash(
            gettext(
                "Not saved: someone else changed this login meanwhile. Here it is as it is now; make your "
                "change again if it is still needed."
            ),
            "error",
        )
    except NotFound:
        session.rollback()
        raise
    except DomainError as error:
        session.rollback()
        flash(_refusal(error), "error")
    else:
        flash(gettext("Saved."), "success")
    return redirect(url_for("admin_accounts.user", login=login), 303)


def _invalid_form(login: str) -> ResponseReturnValue:
    flash(gettext("The form was incomplete; nothing was saved."), "error")
    return redirect(url_for("admin_accounts.user", login=login), 303)


@blueprint.post("/users/<login>/roles")
@roles_required(Role.ADMIN)
def edit_roles(login: str) -> ResponseReturnValue:
    """Give the login exactly the ticked roles; the last active administrator keeps the admin role."""
    found = _user_or_404(db_session(), login)
    form = RolesForm()
    if not form.validate():
        if form.row_version.errors:
            return _invalid_form(login)
        return _user_page(db_session(), found, roles_form=form), 422
    return _edit(login, form, roles=[Role(role) for role in form.roles.data])


@blueprint.post("/users/<login>/member")
@roles_required(Role.ADMIN)
def edit_member(login: str) -> ResponseReturnValue:
    """Link the login to a member by number, or unlink it."""
    _user_or_404(db_session(), login)
    form = MemberLinkForm()
    if not form.validate():
        return _invalid_form(login)
    if form.unlink.data:
        return _edit(login, form, member_no=None)
    number = (form.member_no.data or "").strip()
    if not number:
        flash(gettext("Enter the member's number."), "error")
        return redirect(url_for("admin_accounts.user", login=login), 303)
    return _edit(login, form, member_no=number)


@blueprint.post("/users/<login>/active")
@roles_required(Role.ADMIN)
def edit_active(login: str) -> ResponseReturnValue:
    """Disable the login (its sessions end at once) or enable it again."""
    _user_or_404(db_session(), login)
    form = ActiveForm()
    if not form.validate():
        return _invalid_form(login)
    return _edit(login, form, active=form.active.data == "yes")


@blueprint.post("/users/<login>/unlock")
@roles_required(Role.ADMIN)
def unlock(login: str) -> ResponseReturnValue:
    """Lift the lock failed logins put on the login, so its right password works again at once."""
    session = db_session()
    _user_or_404(session, login)
    begin_write(session)
    throttle.unlock(session, login, actor=current_actor().name)
    session.commit()
    flash(gettext("%(login)s can log in again.", login=login), "success")
    return redirect(url_for("admin_accounts.user", login=login), 303)


def _token_rows(clients: list[ApiClient]) -> list[tuple[ApiClient, date | None, bool]]:
    now = clock.now()
    return [
        (client, last_valid_day(client), client.expires_at is not None and client.expires_at <= now)
        for client in clients
    ]


def _tokens_page(form: TokenForm, status: int = 200) -> ResponseReturnValue:
    rows = _token_rows(list_clients(db_session()))
    page = render_template(
        "admin/tokens.html", form=form, rows=rows, zone=SOCIETY_ZONE, role_labels=ROLE_LABELS
    )
    return page, status


@blueprint.get("/tokens")
@roles_required(Role.ADMIN)
def tokens() -> ResponseReturnValue:
    """Every API token handed out, and the form for a new one (its last day pre-filled for an admin token)."""
    form = TokenForm(formdata=None, valid_through=default_valid_through(Role.ADMIN, society_today()))
    return _tokens_page(form)


@blueprint.post("/tokens")
@roles_required(Role.ADMIN)
def create_token() -> ResponseReturnValue:
    """Create the token and show it this once, on a page no cache keeps (never in a flash message, which
    would travel in the session cookie)."""
    form = TokenForm()
    if not form.validate():
        return _tokens_page(form, 422)
    session = db_session()
    begin_write(session)
    try:
        client, token = create_client(
            session,
            name=form.name.data.strip(),
            role=Role(form.role.data),
            actor=current_actor().name,
            valid_through=form.valid_through.data,
            today=clock.now().astimezone(SOCIETY_ZONE).date(),
        )
    except DomainError as error:
        session.rollback()
        _show_on_form(form, error)
        return _tokens_page(form, 422)
    session.commit()
    response = make_response(
        render_template(
            "admin/token_created.html",
            client=client,
            token=token,
            last_day=last_valid_day(client),
            role_labels=ROLE_LABELS,
        )
    )
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"
    return response


def _client_or_404(session: Session, name: str) -> ApiClient:
    try:
        return client_by_name(session, name)
    except NotFound:
        abort(404, gettext("There is no API token named %(name)s.", name=name))


@blueprint.route("/tokens/<name>/revoke", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def revoke_token(name: str) -> ResponseReturnValue:
    """Ask, then revoke: the token's next request answers 401."""
    session = db_session()
    client = _client_or_404(session, name)
    form = FlaskForm()
    if request.method == "POST" and form.validate():
        begin_write(session)
        revoke_client(session, name=name, actor=current_actor().name)
        session.commit()
        flash(gettext("The API token %(name)s is revoked: it no longer works.", name=name), "success")
        return redirect(url_for("admin_accounts.tokens"), 303)
    return render_template("admin/token_revoke.html", client=client, form=form, role_labels=ROLE_LABELS)
