"""UI language: zh-CN or English (Flask-Babel), and metadata labels in that language.

The language is, in order: the one the person picked with the switcher (kept in the
session), their user setting (``users.locale``; for the API, the token's user), the
browser's ``Accept-Language``, and Chinese. UI strings are English in the templates and translated by
``translations/zh/LC_MESSAGES/messages.po``; labels of apps come from the definition's
``{"zh", "en"}`` texts through :func:`text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

from builder.model import LocalizedText

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

babel = Babel()


def normalize(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans`` → ``zh_CN``; ``en-US`` → ``en``; others → None."""
    if not value:
        return None
    lang = value.replace("-", "_").split("_")[0].lower()
    return {"zh": "zh_CN", "en": "en"}.get(lang)


def select_locale() -> str:
    """The request's UI locale (see the module docstring for the order)."""
    chosen = normalize(session.get("locale"))
    if chosen:
        return chosen
    if current_user and current_user.is_authenticated:
        preferred = normalize(current_user.user.locale)
        if preferred:
            return preferred
    api_user = g.get("user")  # the API's token user (web.api.auth)
    if api_user is not None:
        preferred = normalize(getattr(api_user, "locale", None))
        if preferred:
            return preferred
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return normalize(best) or DEFAULT_LOCALE


def language() -> str:
    """``zh`` or ``en``: the key of the request's language in metadata texts."""
    return "en" if str(get_locale() or DEFAULT_LOCALE).startswith("en") else "zh"


def text(value: LocalizedText | Mapping[str, Any] | str | None) -> str:
    """A metadata text in the request's language (falling back to the other one)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, LocalizedText):
        return value.get(language())
    lang = language()
    other = "zh" if lang == "en" else "en"
    return str(value.get(lang) or value.get(other) or "")


def init_app(app: Flask) -> None:
    """Sets up Flask-Babel and the template helpers ``t`` (metadata text) and ``lang``."""
    babel.init_app(app, default_locale=DEFAULT_LOCALE, locale_selector=select_locale)
    app.jinja_env.filters["t"] = text
    app.jinja_env.globals["lang"] = language
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
