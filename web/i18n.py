"""Languages of the web pages: Arabic first (right-to-left), English and French."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from babel.support import NullTranslations
from flask import Blueprint, Flask, g, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, get_translations
from jinja2.runtime import Context
from jinja2.utils import pass_context
from markupsafe import Markup

from core.users import LANGUAGES, set_language
from texts.languages import NAMES
from web import store

DEFAULT = "ar"
TRANSLATIONS = Path(__file__).parent / "translations"
DIRECTIONS = {"ar": "rtl"}  # the others are left-to-right

bp = Blueprint("i18n", __name__)


def select_language() -> str:
    """A language asked for in this session wins; then the page's own; the user's; Arabic."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    page_language = g.get("page_language")  # e.g. the language a link was sent in
    if page_language in LANGUAGES:
        return str(page_language)
    user = g.get("user")
    if user is not None and user.language in LANGUAGES:
        return str(user.language)
    return DEFAULT


def init_i18n(app: Flask) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Beirut"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_language)
    app.context_processor(_page_language)
    app.register_blueprint(bp)


def _page_language() -> dict[str, object]:
    code = str(get_locale() or DEFAULT)
    translations = get_translations()
    return {
        "lang": code,
        "dir": DIRECTIONS.get(code, "ltr"),
        "language_names": NAMES,
        # Resolved once a page: Flask-Babel's own template gettext resolves the locale and
        # the domain on every string (measured at a fifth of rendering a receipt). These
        # names shadow its globals, with the same new-style semantics (autoescape, %()s).
        "gettext": _page_gettext(translations),
        "ngettext": _page_ngettext(translations),
    }


def _page_gettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, string: str, **variables: object) -> str:
        text: str = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalog; Markup % escapes the variables
        return text % variables

    return gettext


def _page_ngettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def ngettext(
        context: Context, singular: str, plural: str, num: int, **variables: object
    ) -> str:
        variables.setdefault("num", num)
        text: str = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalog; Markup % escapes the variables
        return text % variables

    return ngettext


@bp.get("/language/<code>")
def choose(code: str) -> ResponseReturnValue:
    """Switch the page language (a plain link, so it works without JavaScript)."""
    if code in LANGUAGES:
        session["lang"] = code
        user = g.get("user")
        if user is not None:
            set_language(store.db(), user, code)
            store.commit()
    return redirect(safe_next(request.args.get("next")))


def safe_next(target: str | None, default: str = "/console") -> str:
    """Only a path on this site: an open redirect would let a phishing link borrow our name."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
