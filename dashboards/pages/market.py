"""Market page (filled in as its stage lands)."""

from __future__ import annotations

PATH = "/market"
TITLE = "Market"


def layout(settings):
    from dash import html

    return html.Div([html.H2(TITLE), html.P("Coming with its stage.", className="hint")])


def register_callbacks(app, settings) -> None:
    return None
