"""Capacity planner page: edit or upload a workload, pick hardware, compare the options."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dashboards.app import MAX_UPLOAD_BYTES
from dashboards.ids import Planner as ID
from dashboards.pages.hardware import simple_table

PATH = "/planner"
TITLE = "Capacity planner"
DEFAULT_SAMPLE = "chat-70b.yaml"


def sample_files() -> dict[str, Path]:
    """Sample workloads shipped in data/workloads, by file name."""
    from dcplan.io.catalog import data_dir

    folder = data_dir() / "workloads"
    return {p.name: p for p in sorted(folder.glob("*.yaml"))}


@functools.lru_cache(maxsize=32)
def plan_from_text(text: str, hardware: tuple[str, ...] = ()):
    """Plan a workload given as YAML text (memoised by its inputs); InputError on bad input."""
    from dashboards.uploads import check_workload_text
    from dcplan.capacity.loaders import parse_workload_text, read_cost_defaults, resolve
    from dcplan.capacity.plan import plan_capacity

    spec, origin = parse_workload_text(check_workload_text(text), "workload.yaml")
    return plan_capacity(resolve(spec, origin, read_cost_defaults(), hardware=list(hardware) or None))


def decode_upload(contents: str, filename: str | None) -> str:
    """Text of an uploaded workload YAML (see dashboards.uploads)."""
    from dashboards.uploads import decode_upload as decode

    return decode(contents, filename, (".yaml", ".yml"))


def kpi_cards(plan) -> list:
    from dash import html

    from dcplan.cli.output import usd

    best = plan.ranking[0].hardware if plan.ranking else None
    cards = []
    for o in plan.options:
        rows = [
            ("accelerators", f"{o.accelerators:,} ({o.nodes} nodes, {o.racks} racks)"),
            ("power", f"{o.it_mw:.3g} MW IT / {o.facility_mw:.3g} MW facility"),
            ("capex", usd(o.capex_usd)),
            ("TCO per year", usd(o.tco_usd_per_year)),
            ("$ per accelerator-hour", usd(o.usd_per_accelerator_hour)),
            ("$ per million output tokens", usd(o.usd_per_mtok)),
        ]
        title = o.hardware + ("  ★ recommended" if o.hardware == best else "")
        cards.append(html.Div([html.Div(title, className="value")] + [html.Div(f"{k}: {v}", className="label") for k, v in rows],
                              className="kpi", id=f"plan-kpi-{o.hardware}"))
    return cards


def ranking_rows(plan) -> list[dict[str, Any]]:
    return [{"rank": r.rank, "hardware": r.hardware, "tco": r.tco_usd_per_year, "factor": r.deciding_factor} for r in plan.ranking]


def layout(settings):
    from dash import dcc, html

    from dcplan.io.catalog import hardware_catalog

    samples = sample_files()
    initial = samples[DEFAULT_SAMPLE].read_text(encoding="utf-8") if DEFAULT_SAMPLE in samples else ""
    return html.Div([
        html.H2("Capacity planner"),
        html.P("A workload (training jobs, inference services with latency targets, hardware options, site and finance) "
               "becomes accelerators, racks, MW and dollars per option. Fields, units and defaults with sources: docs/plan.md.",
               className="hint"),
        html.Div([
            html.Div([
                html.Label("Sample workload"),
                dcc.Dropdown(id=ID.SAMPLE, options=[{"label": n, "value": n} for n in samples], value=DEFAULT_SAMPLE, clearable=False),
                html.Label("Or upload a workload YAML"),
                dcc.Upload(id=ID.UPLOAD, children=html.Div("Drop or click to choose a .yaml file"), className="upload",
                           max_size=MAX_UPLOAD_BYTES, accept=".yaml,.yml"),
                html.Label("Hardware options (empty: those in the workload)"),
                dcc.Dropdown(id=ID.HARDWARE, options=[{"label": n, "value": n} for n in hardware_catalog()], value=[], multi=True),
                html.Div(html.Button("Plan", id=ID.RUN, n_clicks=0), style={"marginTop": "0.8rem"}),
            ], className="col-narrow card controls"),
            html.Div([
                html.Label("Workload (YAML, editable)"),
                dcc.Textarea(id=ID.EDITOR, value=initial, className="editor", spellCheck=False),
            ], className="col card controls"),
        ], className="row"),
        dcc.Loading([
            html.Div(id=ID.STATUS),
            html.Div(id=ID.SUMMARY),
            html.Div([
                html.Div(dcc.Graph(id=ID.COST, config={"displaylogo": False}), className="col card"),
                html.Div(dcc.Graph(id=ID.CAPACITY, config={"displaylogo": False}), className="col card"),
            ], className="row"),
            html.Div(dcc.Graph(id=ID.TIMELINE, config={"displaylogo": False}), className="card"),
        ]),
        html.Div([html.Button("Download plan (JSON)", id=ID.DOWNLOAD_BUTTON), dcc.Download(id=ID.DOWNLOAD)]),
    ])


def run_plan(text: str, hardware: list[str] | None):
    """(plan dict or None, status component, summary, figures...) for the page outputs."""
    from dash import html

    from dcplan.errors import InputError
    from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure

    try:
        plan = plan_from_text(text or "", tuple(sorted(hardware or ())))
    except InputError as exc:
        empty = _empty_figure()
        return None, html.Div(exc.one_line(), className="error"), None, empty, empty, empty
    summary = html.Div([
        html.Div(kpi_cards(plan), className="kpis"),
        html.H3("Ranking"),
        simple_table([("rank", "Rank"), ("hardware", "Option"), ("tco", "TCO [USD/year]"), ("factor", "Deciding factor")],
                     [{**r, "tco": f"{r['tco']:,.0f}"} for r in ranking_rows(plan)]),
    ], className="card")
    status = html.Div(f"Planned '{plan.workload}' over {plan.horizon_years} year(s) on {len(plan.options)} option(s).", className="ok")
    return plan.to_dict(), status, summary, cost_breakdown_figure(plan), capacity_figure(plan), timeline_figure(plan)


def _empty_figure():
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title="No plan: fix the workload above", xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return fig


def register_callbacks(app, settings) -> None:
    from dash import Input, Output, State, ctx, no_update

    @app.callback(Output(ID.EDITOR, "value"), Output(ID.STATUS, "children", allow_duplicate=True),
                  Input(ID.SAMPLE, "value"), Input(ID.UPLOAD, "contents"), State(ID.UPLOAD, "filename"),
                  prevent_initial_call=True)
    def load_text(sample, contents, filename):
        from dash import html

        from dcplan.errors import InputError

        if ctx.triggered_id == ID.UPLOAD and contents:
            try:
                return decode_upload(contents, filename), html.Div(f"Loaded {filename}; press Plan.", className="ok")
            except InputError as exc:
                return no_update, html.Div(exc.one_line(), className="error")
        path = sample_files().get(sample)
        return (path.read_text(encoding="utf-8") if path else no_update), None

    @app.callback(Output(ID.STORE, "data"), Output(ID.STATUS, "children"), Output(ID.SUMMARY, "children"),
                  Output(ID.COST, "figure"), Output(ID.CAPACITY, "figure"), Output(ID.TIMELINE, "figure"),
                  Input(ID.RUN, "n_clicks"), State(ID.EDITOR, "value"), State(ID.HARDWARE, "value"))
    def plan(_clicks, text, hardware):
        data, *rest = run_plan(text, hardware)
        return ({"plan": data, "text": text} if data else None), *rest

    @app.callback(Output(ID.DOWNLOAD, "data"), Input(ID.DOWNLOAD_BUTTON, "n_clicks"), State(ID.STORE, "data"), prevent_initial_call=True)
    def download(_n, data):
        import json

        if not data or not data.get("plan"):
            return no_update
        plan = data["plan"]
        return {"content": json.dumps(plan, indent=1), "filename": f"dcplan-plan-{plan.get('workload', 'workload')}.json"}
