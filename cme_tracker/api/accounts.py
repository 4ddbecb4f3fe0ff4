"""Logins and API tokens for the office's automation: ``/api/v1/users`` and ``/api/v1/tokens``.

Admins only, by session or admin token. The same services as the office's pages (accounts/services.py,
tokens.py, throttle.py); a login is edited against the version its ``ETag`` named. A new token is answered
once, in the answer to the request that created it (``Cache-Control: no-store``), and never again. Registered
on the ``api`` blueprint when imported; the request and answer schemas of this area live here with it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.accounts import throttle
from cme_tracker.accounts.authentication import current_actor
from cme_tracker.accounts.models import User
from cme_tracker.accounts.services import UNSET, Unset, add_user, update_user, user_by_login
from cme_tracker.accounts.tokens import ApiClient, create_client, last_valid_day, revoke_client
from cme_tracker.api.blueprint import blueprint, json_body, load
from cme_tracker.api.operations import Operation, Reply
from cme_tracker.api.pages import PageQuerySchema, keyset_page
from cme_tracker.api.schemas import ApiSchema
from cme_tracker.api.versions import expected_version, tagged
from cme_tracker.db import begin_write
from cme_tracker.dumps import Answer
from cme_tracker.members.schemas import member_number_field
from cme_tracker.society import SOCIETY_ZONE
from cme_tracker.tabular.cells import Choice, Text
from cme_tracker.vocabulary import TOKEN_ROLES, Role
from cme_tracker.web import clock
from cme_tracker.web.security import roles_required
from cme_tracker.web.session import db_session

_ROLES = [role.value for role in Role]
_TOKEN_ROLES = [role.value for role in TOKEN_ROLES]
_REQUIRED: dict[str, Any] = {"required": "required", "null": "required"}


class NewUserSchema(ApiSchema):
    """``POST /api/v1/users``."""

    login = Text(max_length=64, required=True, error_messages=_REQUIRED)
    roles = fields.List(
        Choice(_ROLES),
        required=True,
        validate=validate.Length(min=1, max=len(_ROLES)),
        error_messages=_REQUIRED,
    )
    member_no = member_number_field(
        metadata={"description": "The member of a `member` login (required then)."}
    )
    password = fields.String(
        validate=validate.Length(max=1024),
        metadata={
            "description": "The initial password of a staff login (required then). Never for a `member` "
            "login: the member sets it when activating the login."
        },
    )


class UserEditSchema(ApiSchema):
    """``PATCH /api/v1/users/{login}``: the fields to change, at least one."""

    roles = fields.List(
        Choice(_ROLES),
        validate=validate.Length(min=1, max=len(_ROLES)),
        metadata={"description": "Exactly these roles."},
    )
    member_no = member_number_field(metadata={"description": "Link the login to this member."})
    unlink_member = fields.Boolean(
        validate=validate.Equal(True), metadata={"description": "`true`: the login has no member any more."}
    )
    active = fields.Boolean(metadata={"description": "`false` disables the login and ends its sessions."})

    @validates_schema
    def something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("name at least one of roles, member_no, unlink_member, active", "_schema")
        if "member_no" in data and "unlink_member" in data:
            raise ValidationError("give member_no or unlink_member, not both", "unlink_member")


class NewTokenSchema(ApiSchema):
    """``POST /api/v1/tokens``."""

    name = Text(max_length=50, required=True, error_messages=_REQUIRED)
    role = Choice(_TOKEN_ROLES, required=True, error_messages=_REQUIRED)
    valid_through = fields.Date(
        metadata={
            "description": "The token's last valid day (society time). Default: 90 days from today for an "
            "admin token, none for the others."
        }
    )


class UserSchema(Answer):
    """A login as the office sees it; never its password."""

    login = fields.String()
    roles = fields.List(fields.String(validate=validate.OneOf(_ROLES)))
    member_no = fields.String(allow_none=True)
    active = fields.Boolean()
    has_password = fields.Boolean(
        metadata={
            "description": "`false`: a member's login that cannot log in until the member activates it."
        }
    )
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)
    locked_until = fields.DateTime(
        allow_none=True,
        metadata={"description": "Until when failed logins lock the login; null if not locked."},
    )
    version = fields.Integer(metadata={"description": "The record's version, also its `ETag`."})


class UserPageSchema(Answer):
    items = fields.List(fields.Nested(UserSchema))
    next_cursor = fields.String(allow_none=True)


class ApiTokenSchema(Answer):
    """An API client; never its token."""

    name = fields.String()
    role = fields.String(validate=validate.OneOf(_TOKEN_ROLES))
    created_at = fields.DateTime()
    valid_through = fields.Date(
        allow_none=True, metadata={"description": "Its last valid day; null: no end."}
    )
    expires_at = fields.DateTime(allow_none=True)
    expired = fields.Boolean()
    last_used_at = fields.DateTime(allow_none=True, metadata={"description": "Noted at most once an hour."})
    revoked_at = fields.DateTime(allow_none=True)


class ApiTokenPageSchema(Answer):
    items = fields.List(fields.Nested(ApiTokenSchema))
    next_cursor = fields.String(allow_none=True)


class NewApiTokenSchema(ApiTokenSchema):
    """The answer to ``POST /api/v1/tokens``: the client and, this once only, its token."""

    token = fields.String(metadata={"description": "Send as `Authorization: Bearer TOKEN`. Shown once only."})


_NEW_USER = NewUserSchema()
_USER_EDIT = UserEditSchema()
_NEW_TOKEN = NewTokenSchema()
_PAGE_QUERY = PageQuerySchema()
_USER = UserSchema()
_USER_PAGE = UserPageSchema()
_TOKEN = ApiTokenSchema()
_TOKEN_PAGE = ApiTokenPageSchema()
_NEW_TOKEN_ANSWER = NewApiTokenSchema()


def _user_values(user: User, locked_until: datetime | None) -> dict[str, Any]:
    return {
        "login": user.login,
        "roles": sorted(role.value for role in user.roles),
        "member_no": user.member.member_no if user.member is not None else None,
        "active": user.active,
        "has_password": user.has_password,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "locked_until": locked_until,
        "version": user.row_version,
    }


def _user_answer(session: Session, user: User, status: int = 200) -> Response:
    locked = throttle.locked_logins(session, [user.login], clock.now()).get(user.login)
    response = jsonify(_USER.dump(_user_values(user, locked)))
    response.status_code = status
    return tagged(response, user.row_version)


def _token_values(client: ApiClient) -> dict[str, Any]:
    valid_through: date | None = last_valid_day(client)
    return {
        "name": client.name,
        "role": client.role,
        "created_at": client.created_at,
        "valid_through": valid_through,
        "expires_at": client.expires_at,
        "expired": client.expires_at is not None and client.expires_at <= clock.now(),
        "last_used_at": client.last_used_at,
        "revoked_at": client.revoked_at,
    }


@blueprint.get("/users")
@roles_required(Role.ADMIN, api_clients=True)
def users() -> ResponseReturnValue:
    """Every login, by login, a page at a time."""
    query = load(_PAGE_QUERY, request.args.to_dict())
    session = db_session()
    page = keyset_page(session, select(User), User.login, cursor=query.get("cursor"), limit=query["limit"])
    locked = throttle.locked_logins(session, [user.login for user in page.items], clock.now())
    items = [_user_values(user, locked.get(user.login)) for user in page.items]
    return jsonify(_USER_PAGE.dump({"items": items, "next_cursor": page.next_cursor}))


@blueprint.post("/users")
@roles_required(Role.ADMIN, api_clients=True)
def create_user() -> ResponseReturnValue:
    """A staff login with its initial password, or a member's login without one."""
    body = load(_NEW_USER, json_body())
    session = db_session()
    begin_write(session)
    user = add_user(
        session,
        login=body["login"],
        roles=[Role(role) for role in body["roles"]],
        member_no=body.get("member_no"),
        password=body.get("password"),
        actor=current_actor().name,
    )
    session.commit()
    return _user_answer(session, user, 201)


@blueprint.get("/users/<login>")
@roles_required(Role.ADMIN, api_clients=True)
def user(login: str) -> ResponseReturnValue:
    """One login, with its version as the ``ETag``."""
    session = db_session()
    return _user_answer(session, user_by_login(session, login))


@blueprint.patch("/users/<login>")
@roles_required(Role.ADMIN, api_clients=True)
def edit_user(login: str) -> ResponseReturnValue:
    """Change roles, the linked member or whether the login is active, as one edit of the ``If-Match``
    version. The last active administrator can neither be disabled nor lose the admin role."""
    version = expected_version()
    body = load(_USER_EDIT, json_body())
    member_no: str | Unset | None = UNSET
    if "member_no" in body:
        member_no = body["member_no"]
    elif body.get("unlink_member"):
        member_no = None
    session = db_session()
    begin_write(session)
    edited = update_user(
        session,
        login,
        expected_version=version,
        actor=current_actor().name,
        roles=[Role(role) for role in body["roles"]] if "roles" in body else None,
        member_no=member_no,
        active=body.get("active"),
    )
    session.commit()
    return _user_answer(session, edited)


@blueprint.post("/users/<login>/unlock")
@roles_required(Role.ADMIN, api_clients=True)
def unlock_user(login: str) -> ResponseReturnValue:
    """Lift the lock failed logins put on the login; the login's record (and version) is unchanged."""
    session = db_session()
    begin_write(session)
    throttle.unlock(session, login, actor=current_actor().name)
    session.commit()
    return _user_answer(session, user_by_login(session, login))


@blueprint.get("/tokens")
@roles_required(Role.ADMIN, api_clients=True)
def tokens() -> ResponseReturnValue:
    """Every API client, by name, revoked and expired ones too; never a token."""
    query = load(_PAGE_QUERY, request.args.to_dict())
    page = keyset_page(
        db_session(), select(ApiClient), ApiClient.name, cursor=query.get("cursor"), limit=query["limit"]
    )
    items = [_token_values(client) for client in page.items]
    return jsonify(_TOKEN_PAGE.dump({"items": items, "next_cursor": page.next_cursor}))


@blueprint.post("/tokens")
@roles_required(Role.ADMIN, api_clients=True)
def create_token() -> ResponseReturnValue:
    """A new API client; its token is in this answer only."""
    body = load(_NEW_TOKEN, json_body())
    session = db_session()
    begin_write(session)
    client, token = create_client(
        session,
        name=body["name"],
        role=Role(body["role"]),
        actor=current_actor().name,
        valid_through=body.get("valid_through"),
        today=clock.now().astimezone(SOCIETY_ZONE).date(),
    )
    session.commit()
    response = jsonify(_NEW_TOKEN_ANSWER.dump({**_token_values(client), "token": token}))
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/tokens/<name>/revoke")
@roles_required(Role.ADMIN, api_clients=True)
def revoke_token(name: str) -> ResponseReturnValue:
    """Revoke the client's token: its next request answers 401. Revoking it again changes nothing."""
    session = db_session()
    begin_write(session)
    client = revoke_client(session, name=name, actor=current_actor().name)
    session.commit()
    return jsonify(_TOKEN.dump(_token_values(client)))


_USER_ERRORS = ("invalid", "no_role", "member_required")
OPERATIONS = (
    Operation(
        "get",
        "/api/v1/users",
        users,
        "List the logins",
        description="By login, a page at a time (`cursor`, `limit`).",
        query=PageQuerySchema,
        replies={200: Reply(UserPageSchema, "A page of logins.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/users",
        create_user,
        "Create a login",
        description="A staff login (admin, desk, auditor) needs its initial `password`, under the password "
        "policy. A `member` login needs `member_no` and gets no password: the office never sets a member's "
        "password (`password_not_allowed`); it cannot log in until the member activates it.",
        body=NewUserSchema,
        replies={201: Reply(UserSchema, "Created; the `ETag` is its version.")},
        errors={
            404: ("unknown_member",),
            409: ("login_taken", "member_taken"),
            422: (
                *_USER_ERRORS,
                "invalid_login",
                "password_required",
                "password_not_allowed",
                "weak_password",
            ),
        },
    ),
    Operation(
        "get",
        "/api/v1/users/<login>",
        user,
        "A login",
        replies={200: Reply(UserSchema, "The login; the `ETag` is its version.")},
        errors={404: ("unknown_login",)},
        versioned=True,
    ),
    Operation(
        "patch",
        "/api/v1/users/<login>",
        edit_user,
        "Change a login's roles, member or state",
        description="Only the fields sent change. `active: false` ends every session of the login. The last "
        "active administrator can neither be disabled nor lose the `admin` role (409 `last_admin`).",
        body=UserEditSchema,
        replies={200: Reply(UserSchema, "As it is now; the `ETag` is its new version.")},
        errors={
            404: ("unknown_login", "unknown_member"),
            409: ("last_admin", "member_taken"),
            422: _USER_ERRORS,
        },
        versioned=True,
    ),
    Operation(
        "post",
        "/api/v1/users/<login>/unlock",
        unlock_user,
        "Unlock a login locked by failed logins",
        description="Clears the login's count of failed logins; the record and its version do not change.",
        replies={200: Reply(UserSchema, "The login, unlocked.")},
        errors={404: ("unknown_login",)},
    ),
    Operation(
        "get",
        "/api/v1/tokens",
        tokens,
        "List the API tokens",
        description="By name, a page at a time, revoked and expired ones too. A token itself is never shown "
        "again after its creation.",
        query=PageQuerySchema,
        replies={200: Reply(ApiTokenPageSchema, "A page of API clients.")},
        errors={422: ("invalid",)},
    ),
    Operation(
        "post",
        "/api/v1/tokens",
        create_token,
        "Create an API token",
        description="The answer holds the token, this once only (`Cache-Control: no-store`).",
        body=NewTokenSchema,
        replies={201: Reply(NewApiTokenSchema, "Created.")},
        errors={409: ("name_taken",), 422: ("invalid", "invalid_name", "bad_role", "expiry_in_past")},
    ),
    Operation(
        "post",
        "/api/v1/tokens/<name>/revoke",
        revoke_token,
        "Revoke an API token",
        description="Its next request answers 401. Revoking a revoked token changes nothing.",
        replies={200: Reply(ApiTokenSchema, "Revoked.")},
        errors={404: ("unknown_client",)},
    ),
)
