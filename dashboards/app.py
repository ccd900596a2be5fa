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
    from dashboards.security import install

    install(app)  # authentication, security headers, request size limit (dashboards/security.py)
    nav = html.Nav(
        [dcc.Link(p.TITLE, href=p.PATH, className="nav-link", id=f"nav-{p.__name__.rsplit('.', 1)[-1]}") for p in pages],
        id=Shell.NAV,
        className="nav",
    )
    app.layout = html.Div(
        [
            dcc.Location(id=Shell.URL),
            html.Header([html.Span("dcplan", className="brand"), html.Span("AI datacenter capacity and market planner", className="tagline"), nav],
                        className="header"),
            html.Main(id=Shell.PAGE, className="page"),
            # the planner's result outlives its page so the reports page can use it
            dcc.Store(id="plan-store", storage_type="session"),
        ],
        className="shell",
    )

    by_path = {p.PATH: p for p in pages}

    @app.callback(Output(Shell.PAGE, "children"), Input(Shell.URL, "pathname"))
    def route(pathname: str | None):
        page = by_path.get(pathname or "/", pages[0] if (pathname or "/") == "/" else None)
        if page is None:
            return html.Div([html.H2("Page not found"), html.P(f"No page at {pathname}. Use the navigation above.")])
        return page.layout(settings)

    for p in pages:
        p.register_callbacks(app, settings)
    return app
