"""Small layout pieces shared by the pages (tables, the banner of the run a page opens on)."""

from __future__ import annotations

from typing import Any, Sequence


def simple_table(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]], *, table_id: str | None = None):
    """An HTML table of dict rows; columns are (key, label) pairs; a missing value shows as '-'."""
    from dash import html

    from dashboards.language import gettext

    unknown = gettext("unknown")

    def wordy(v) -> bool:
        return isinstance(v, str) and (len(v) > 24 or (not v[:1].isdigit() and v[:1] not in "$-+−."))

    def cell(v, first: bool):
        if v in (None, ""):
            return html.Td("-", className="missing", title=unknown)
        return html.Td(v, className="text") if first or wordy(v) else html.Td(v)  # words left, numbers (also "126 GW") right

    text_cols = {k for i, (k, _) in enumerate(columns) if i == 0 or (rows and wordy(rows[0].get(k)))}
    head = html.Thead(html.Tr([html.Th(label, className="text") if k in text_cols else html.Th(label) for k, label in columns]))

    body = html.Tbody([html.Tr([cell(r.get(k), i == 0) for i, (k, _) in enumerate(columns)]) for r in rows])
    return html.Table([head, body], className="simple", **({"id": table_id} if table_id else {}))


def run_banner(settings, what: str, banner_id: str):
    """A line saying the page opened on the main job's run, or nothing when there is no run."""
    from dash import html

    from dashboards.language import gettext

    run = settings.run
    if run is None:
        return None
    return html.Div([html.Strong(gettext("Main job run") + " "), html.Span(f"{run.folder.name}: {what}")], className="run-banner", id=banner_id)
