"""Japanese and English: the locale of a request, the language switch, and labels in the current language.

Source strings are English; the Japanese catalog lives in ``cme_tracker/translations`` with its compiled
``messages.mo`` committed beside the ``.po``, so the app needs no build step at runtime.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from flask import Blueprint, Flask, abort, redirect, request, url_for
from flask_babel import Babel, format_date, get_locale
from werkzeug.wrappers import Response

from cme_tracker.web.security import public, safe_redirect_target

LANGUAGES = {"ja": "日本語", "en": "English"}
"""The languages the interface speaks, each named in itself for the switch."""
DEFAULT_LANGUAGE = "ja"
LANG_COOKIE = "lang"
_COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()
blueprint = Blueprint("i18n", __name__)


class Labelled(Protocol):
    """The vocabulary's enums (fields, professions) carry a label in each language."""

    @property
    def label_en(self) -> str: ...

    @property
    def label_ja(self) -> str: ...


def select_locale() -> str:
    """The ``lang`` cookie set by the switch, else the browser's preference, else Japanese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def label(value: Labelled) -> str:
    """A vocabulary label (field, profession) in the current language."""
    return value.label_ja if current_language() == "ja" else value.label_en


def localized(japanese: str | None, english: str | None) -> str:
    """Text kept in both languages (titles), in the current one, falling back to the other when missing."""
    first, second = (japanese, english) if current_language() == "ja" else (english, japanese)
    return first or second or ""


def long_date(day: date) -> str:
    """A date as people write it in the current language: 2026年5月16日, or 16 May 2026 (day first, which
    reads the same to British and German readers, unlike the American May 16, 2026)."""
    return str(format_date(day, "long" if current_language() == "ja" else "d MMMM y"))


def current_path() -> str:
    """Where the language switch brings the user back to: this page, if it can be fetched again with a GET."""
    rule = request.url_rule
    if request.method == "GET" or (rule is not None and "GET" in (rule.methods or ())):
        return request.full_path.removesuffix("?")
    return url_for("accounts.index")


@blueprint.get("/language/<lang>")
@public
def switch(lang: str) -> Response:
    """Remember the chosen language in a cookie and go back to the page the switch was used on."""
    if lang not in LANGUAGES:
        abort(404)
    response = redirect(safe_redirect_target(request.args.get("next")) or url_for("accounts.index"))
    response.set_cookie(
        LANG_COOKIE, lang, max_age=_COOKIE_MAX_AGE, secure=request.is_secure, httponly=True, samesite="Lax"
    )
    return response


def _vary(response: Response) -> Response:
    """The same URL answers in two languages: caches must key on what chose the language."""
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return response


def _template_helpers() -> dict[str, Any]:
    return {
        "languages": LANGUAGES,
        "current_language": current_language,
        "current_path": current_path,
        "label": label,
        "localized": localized,
        "long_date": long_date,
    }


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(blueprint)
    app.context_processor(_template_helpers)
    app.after_request(_vary)
