"""The dashboard's language: a visible switch (a cookie), else the browser's Accept-Language, else the default.

Every page layout and callback asks :func:`tr` for the translator of the request it answers
(a Dash callback is an HTTP request from the browser: it carries the cookie and the
Accept-Language header), so no callback signature changes with the language and nothing is kept
on the server. The switch is a plain link to ``/lang/<code>?next=<page>``, which sets the cookie
and sends the browser back to the page: a full reload, so the shell, the page and its figures all
come back in the chosen language.
"""

from __future__ import annotations

import os

from dcplan.i18n import DEFAULT, LANGUAGES, Translator, normalise, translator

COOKIE = "dcplan_lang"
URL = "/lang/"
#: The language when neither a switch nor the browser names one of dcplan's (``dcplan run/dashboard --lang``).
ENV_DEFAULT = "DCPLAN_LANG"
#: A year: the choice outlives the session.
COOKIE_MAX_AGE_S = 365 * 24 * 3600


def default_lang() -> str:
    return normalise(os.environ.get(ENV_DEFAULT)) or DEFAULT


def request_lang() -> str:
    """The language of the current request: the switch's cookie, else the best Accept-Language match, else the default."""
    from flask import has_request_context, request

    if not has_request_context():
        return default_lang()
    chosen = normalise(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:  # highest quality first (werkzeug sorts them)
        lang = normalise(tag)
        if lang:
            return lang
    return default_lang()


def tr() -> Translator:
    """The translator of the current request's language."""
    return translator(request_lang())


def gettext(message: str) -> str:
    """``message`` in the current request's language."""
    return tr()(message)


def safe_next(path: str | None) -> str:
    """A local path to go back to (never another site: no scheme, no '//', no backslash)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/"
    return path


def install(server) -> None:
    """Add ``/lang/<code>``: set the language cookie and go back to ``next`` (an unknown code is a 404)."""
    from flask import abort, redirect, request

    def choose(code: str):
        lang = normalise(code)
        if lang is None or lang != code:
            abort(404)
        response = redirect(safe_next(request.args.get("next")), code=303)
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE_S, samesite="Lax", httponly=True, path="/")
        return response

    server.add_url_rule(f"{URL}<code>", endpoint="dcplan_language", view_func=choose)


def switch_links(pathname: str | None, current: str):
    """The switch: one link per language, the current one marked (aria-current), each returning to ``pathname``."""
    from urllib.parse import quote

    from dash import html

    target = quote(safe_next(pathname), safe="/")
    return [html.A(name, href=f"{URL}{code}?next={target}", lang=code, id=f"lang-{code}", className="lang-link" + (" current" if code == current else ""),
                   **({"aria-current": "true"} if code == current else {}))
            for code, name in LANGUAGES.items()]
