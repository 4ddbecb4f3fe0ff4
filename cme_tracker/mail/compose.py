"""Composing a message in the recipient's language from the templates in ``templates/mail/``.

Mail is composed in services and jobs, outside any request, so the templates are rendered by a plain Jinja
environment with the catalogue's translations for the language asked for (the same ``messages`` catalogue the
pages use). Each kind has ``KIND.txt`` and ``KIND.html``; the text template sets ``subject``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cme_tracker.resources import resource_dir

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
"""The catalogue the pages use (Flask-Babel finds it beside the app's package the same way)."""
LANGUAGES = ("ja", "en")
"""The languages mail is written in; English is the catalogue's source language."""


@dataclass(frozen=True)
class ComposedMail:
    subject: str
    text: str
    html: str


@functools.cache
def _environment(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(resource_dir("templates") / "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
    )
    translations: NullTranslations = (
        Translations.load(str(TRANSLATIONS), [language], "messages")
        if language != "en"
        else NullTranslations()
    )
    environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return environment


def compose(kind: str, language: str, context: dict[str, Any], *, site_url: str) -> ComposedMail:
    """The subject, text and HTML of ``kind`` for ``context``, in ``language`` (``ja`` or ``en``); every
    message ends with the society's name and ``site_url``."""
    if language not in LANGUAGES:
        raise ValueError(f"mail is written in {', '.join(LANGUAGES)}, not {language!r}")
    environment = _environment(language)
    values = {**context, "site_url": site_url, "language": language}
    text_module = environment.get_template(f"{kind}.txt").make_module(values)
    subject = getattr(text_module, "subject", None)
    if subject is None:
        raise ValueError(f"mail/{kind}.txt sets no subject")
    subject = " ".join(str(subject).split())
    html = environment.get_template(f"{kind}.html").render({**values, "subject": subject})
    return ComposedMail(subject, str(text_module).strip() + "\n", html)
