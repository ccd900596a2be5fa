"""App factory: the shell (header, navigation, routing) and each page's callbacks."""

from __future__ import annotations

from pathlib import Path

from dashboards.ids import Shell
from dashboards.settings import MAX_UPLOAD_BYTES, Settings

__all__ = ["MAX_UPLOAD_BYTES", "Settings", "create_app"]


def _pages():
    from dashboards.pages import hardware, market, planner, reports

    return [hardware, planner, market, reports]


def _preload() -> None:
    """Import the heavy libraries before serving: lazy imports racing in threaded workers can
    see a half-initialised numpy (plotly's optional-import check)."""
    import numpy  # noqa: F401
    import plotly.graph_objects  # noqa: F401


def create_app(settings: Settings | None = None):
    """Build the Dash app. Callbacks never mutate server state; per-user state is in dcc.Store."""
    from dash import Dash, Input, Output, dcc, html

    settings = settings or Settings.from_env()
    _preload()
    pages = _pages()
    app = Dash(
        __name__,
        title="dcplan",
        suppress_callback_exceptions=True,
        assets_folder=str(Path(__file__).parent / "assets"),
        update_title=None,
    )
    from dashboards import language
    from dashboards.security import install

    install(app)  # authentication, security headers, request size limit (dashboards/security.py)
    language.install(app.server)  # /lang/<code>: the language switch (dashboards/language.py)

    def shell():
        """The page shell in the request's language (Dash calls a layout function on every page load)."""
        _ = language.tr()
        nav = html.Nav(
            [dcc.Link(_(p.TITLE), href=p.PATH, className="nav-link", id=f"nav-{p.__name__.rsplit('.', 1)[-1]}") for p in pages],
            id=Shell.NAV,
            className="nav",
        )
        switch = html.Div(language.switch_links("/", _.lang), id=Shell.LANG, className="lang-switch", title=_("Language"))
        return html.Div(
            [
                dcc.Location(id=Shell.URL),
                html.Header([html.Span("dcplan", className="brand"), html.Span(_("AI datacenter capacity and market planner"), className="tagline"),
                             nav, switch], className="header"),
                html.Main(id=Shell.PAGE, className="page"),
                # the planner's result outlives its page so the reports page can use it
                dcc.Store(id="plan-store", storage_type="session"),
            ],
            className="shell",
            lang=_.html_lang,
        )

    app.layout = shell
    by_path = {p.PATH: p for p in pages}

    @app.callback(Output(Shell.PAGE, "children"), Output(Shell.LANG, "children"), Input(Shell.URL, "pathname"))
    def route(pathname: str | None):
        _ = language.tr()
        links = language.switch_links(pathname, _.lang)
        page = by_path.get(pathname or "/", pages[0] if (pathname or "/") == "/" else None)
        if page is None:
            return html.Div([html.H2(_("Page not found")), html.P(_("No page at {path}. Use the navigation above.").format(path=pathname))]), links
        return page.layout(settings), links

    for p in pages:
        p.register_callbacks(app, settings)
    return app
