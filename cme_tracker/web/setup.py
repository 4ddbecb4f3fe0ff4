"""Wires the generic web machinery into an app: request ids, request hygiene, the database session, security,
languages, errors, and the navigation the composition (:mod:`cme_tracker.webapp`) hands it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from flask_babel import LazyString

from cme_tracker.vocabulary import Role
from cme_tracker.web import clock, errors, hygiene, i18n, request_ids, security, session


@dataclass(frozen=True)
class NavLink:
    """An entry of the site's navigation; shown only when its endpoint exists and the user may open it."""

    endpoint: str
    label: LazyString


def _template_helpers(navigation: Sequence[NavLink]) -> Callable[[], dict[str, Any]]:
    """What every template may call: the links of ``navigation`` the user may follow, and the role check."""

    def links() -> list[tuple[str, str, str]]:
        """``(endpoint, url, label)`` of the links the current user may follow."""
        return [
            (link.endpoint, url_for(link.endpoint), str(link.label))
            for link in navigation
            if security.may_access(link.endpoint)
        ]

    def helpers() -> dict[str, Any]:
        return {"navigation": links, "may_access": security.may_access, "Role": Role}

    return helpers


def init_app(app: Flask, navigation: Sequence[NavLink]) -> None:
    """The generic machinery every page relies on; the features' pages are registered by the composition."""
    request_ids.init_app(app)
    hygiene.init_app(app, app.extensions["cme_settings"])
    clock.init_app(app)
    session.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.context_processor(_template_helpers(navigation))
