"""Capacity planner page: edit or upload a workload, pick hardware, compare the options."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dashboards.components import simple_table
from dashboards.ids import Planner as ID
from dashboards.language import gettext, tr
from dashboards.settings import MAX_UPLOAD_BYTES
from dcplan.i18n import N_

PATH = "/planner"
TITLE = N_("Capacity planner")
DEFAULT_SAMPLE = "chat-70b.yaml"
#: The sample-dropdown value of the main job's own workload.
RUN_SAMPLE = "__run__"


def sample_files() -> dict[str, Path]:
    """Sample workloads shipped in data/workloads, by file name."""
    from dcplan.io.catalog import data_dir

    folder = data_dir() / "workloads"
    return {p.name: p for p in sorted(folder.glob("*.yaml"))}


@functools.lru_cache(maxsize=32)
def plan_from_text(text: str, hardware: tuple[str, ...] = (), models: tuple[tuple[str, str], ...] = (),
                   profile: str | None = None):
    """Plan a workload given as YAML text (memoised by its inputs); InputError on bad input.

    ``models``: uploaded Hugging Face config.json files as (name, text) pairs, which the
    workload names by ``model: <name>``; paths in the workload are refused (the browser's text
    must not read the server's files). ``profile`` is a calibration file (the run's) applied to
    the option it calibrates, as in ``dcplan plan --profile`` and the report; a CPU calibration
    calibrates no accelerator.
    """
    from dashboards.uploads import check_workload_text
    from dcplan.capacity.loaders import parse_workload_text, read_cost_defaults, resolve
    from dcplan.capacity.plan import plan_capacity

    specs = {name: model_from_upload_text(body, name) for name, body in models}
    spec, origin = parse_workload_text(check_workload_text(text), "workload.yaml")
    return plan_capacity(resolve(spec, origin, read_cost_defaults(), hardware=list(hardware) or None, models=specs, model_files=False,
                                 profile=_plan_profile(profile)))

def model_from_upload_text(text: str, filename: str):
    """The ModelSpec of an uploaded config.json, named after the file (``my-model.json`` -> ``my-model``)."""
    from dcplan.io.hf_config import config_spec_from_text, default_name

    return config_spec_from_text(text, filename, name=default_name(filename))


def add_model_uploads(stored: dict | None, contents: list[str] | str | None, filenames: list[str] | str | None):
    """(stored models {name: text}, status component) after uploading config.json files."""
    from dash import html

    from dashboards.uploads import decode_upload as decode
    from dcplan.errors import InputError
    from dcplan.model.params import count_params
    from dcplan.units import human_count

    _ = tr()
    models = dict(stored or {})
    contents = contents if isinstance(contents, list) else [contents] if contents else []
    filenames = filenames if isinstance(filenames, list) else [filenames] * len(contents)
    lines = []
    for body, name in zip(contents, filenames, strict=False):
        try:
            text = decode(body, name, (".json",))
            spec = model_from_upload_text(text, name or "config.json")
        except InputError as exc:
            return models, html.Div(exc.one_line(), className="error")
        models[spec.name] = text
        c = count_params(spec)
        lines.append(_("Loaded {name}: {family}, {params} parameters, {layers} layers, d_model {d_model}.").format(
            name=spec.name, family=spec.family, params=human_count(c.total), layers=spec.n_layers, d_model=spec.d_model))
    names = ", ".join(f"model: {n}" for n in models)
    return models, html.Div([html.Div(line) for line in lines] + [html.Div(_("Use in the workload as {names}.").format(names=names))],
                            className="ok")


def _plan_profile(calibration: str | None) -> str | None:
    """The calibration when it calibrates a catalog accelerator (what the report's plan uses), else None."""
    if not calibration:
        return None
    from dcplan.io.calibration import read_calibration

    return calibration if read_calibration(calibration).hardware else None


def decode_upload(contents: str, filename: str | None) -> str:
    """Text of an uploaded workload YAML (see dashboards.uploads)."""
    from dashboards.uploads import decode_upload as decode

    return decode(contents, filename, (".yaml", ".yml"))


def kpi_cards(plan) -> list:
    from dash import html

    from dcplan.units import power_mw, unit_words, usd

    _ = tr()
    loc = _.lang
    best = plan.ranking[0].hardware if plan.ranking else None
    cards = []
    for o in plan.options:
        rows = [
            (_("accelerators"), _("{accelerators} ({nodes} nodes, {racks} racks)").format(accelerators=f"{o.accelerators:,}", nodes=f"{o.nodes:,}",
                                                                                       racks=f"{o.racks:,}")),
            (_("power"), _("{it} IT / {facility} facility").format(it=power_mw(o.it_mw, locale=loc), facility=power_mw(o.facility_mw, locale=loc))),
            (_("capex"), usd(o.capex_usd, locale=loc)),
            (_("TCO per year"), usd(o.tco_usd_per_year, locale=loc) + unit_words("/yr", loc)),
            (_("$ per accelerator-hour"), usd(o.usd_per_accelerator_hour, locale=loc)),
            (_("$ per million output tokens"), usd(o.usd_per_mtok, locale=loc)),
        ]
        title = o.hardware + ("  ★ " + _("recommended") if o.hardware == best else "")
        cards.append(html.Div([html.Div(title, className="value")] + [html.Div(_("{what}: {value}").format(what=k, value=v), className="label")
                                                                       for k, v in rows],
                              className="kpi", id=f"plan-kpi-{o.hardware}"))
    return cards


def ranking_rows(plan) -> list[dict[str, Any]]:
    from dcplan.capacity.ranking import reasons

    _ = tr()
    why = reasons(list(plan.options), _) if _.lang != "en" else {r.hardware: r.deciding_factor for r in plan.ranking}
    return [{"rank": r.rank, "hardware": r.hardware, "tco": r.tco_usd_per_year, "factor": why[r.hardware]} for r in plan.ranking]


def excluded_block(plan) -> list:
    """The options left out of the plan (cannot run the workload, or no published power), each with why; [] when none."""
    from dash import html

    if not plan.excluded:
        return []
    _ = tr()
    return [html.H3(_("Options left out of the plan")),
            simple_table([("hardware", _("Option")), ("reason", _("Why"))], [e.to_dict() for e in plan.excluded], table_id=ID.EXCLUDED)]


def layout(settings):
    from dash import dcc, html

    from dashboards.components import run_banner
    from dashboards.ids import Run
    from dcplan.io.catalog import hardware_catalog

    _ = tr()
    samples = sample_files()
    options = [{"label": n, "value": n} for n in samples]
    run = settings.run
    if run is not None:
        options.insert(0, {"label": _("this run: {name}").format(name=Path(run.workload).name), "value": RUN_SAMPLE})
        initial, chosen = run.workload_text, RUN_SAMPLE
    else:
        initial = samples[DEFAULT_SAMPLE].read_text(encoding="utf-8") if DEFAULT_SAMPLE in samples else ""
        chosen = DEFAULT_SAMPLE
    cal = (_("calibration {name} where it applies").format(name=run.calibration.name) if run is not None and run.calibration
           else _("the shipped efficiencies"))
    return html.Div([
        html.H2(_("Capacity planner")),
        run_banner(settings, _("its workload {name}, planned as in its report ({calibration})").format(name=Path(run.workload).name if run else "",
                                                                                                     calibration=cal), Run.PLANNER),
        html.P(_("A workload (training jobs, inference services with latency targets, hardware options, site and finance) "
                 "becomes accelerators, racks, MW and dollars per option. Fields, units and defaults with sources: docs/plan.md."),
               className="hint"),
        html.Div([
            html.Div([
                html.Label(_("Sample workload")),
                dcc.Dropdown(id=ID.SAMPLE, options=options, value=chosen, clearable=False),
                html.Label(_("Or upload a workload YAML")),
                dcc.Upload(id=ID.UPLOAD, children=html.Div(_("Drop or click to choose a .yaml file")), className="upload",
                           max_size=MAX_UPLOAD_BYTES, accept=".yaml,.yml"),
                html.Label(_("Models outside the catalog: upload Hugging Face config.json files")),
                dcc.Upload(id=ID.MODEL_UPLOAD, children=html.Div(_("Drop or click to choose config.json files")), className="upload",
                           max_size=MAX_UPLOAD_BYTES, accept=".json", multiple=True),
                dcc.Store(id=ID.MODELS, storage_type="session"),
                html.Div(id=ID.MODEL_STATUS),
                html.Label(_("Hardware options (empty: those in the workload)")),
                dcc.Dropdown(id=ID.HARDWARE, options=[{"label": n, "value": n} for n in hardware_catalog()], value=[], multi=True),
                html.Div(html.Button(_("Plan"), id=ID.RUN, n_clicks=0), style={"marginTop": "0.8rem"}),
            ], className="col-narrow card controls"),
            html.Div([
                html.Label(_("Workload (YAML, editable)")),
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
        html.Div([html.Button(_("Download plan (JSON)"), id=ID.DOWNLOAD_BUTTON), dcc.Download(id=ID.DOWNLOAD)]),
    ])


def run_plan(text: str, hardware: list[str] | None, models: dict | None = None, profile: str | None = None):
    """(plan dict or None, status component, summary, figures...) for the page outputs."""
    from dash import html

    from dcplan.errors import InputError
    from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure
    from dcplan.units import usd

    _ = tr()
    try:
        plan = plan_from_text(text or "", tuple(sorted(hardware or ())), tuple(sorted((models or {}).items())), profile)
    except InputError as exc:
        empty = _empty_figure()
        return None, html.Div(exc.one_line(), className="error"), None, empty, empty, empty
    summary = html.Div([
        html.Div(kpi_cards(plan), className="kpis"),
        html.H3(_("Ranking")),
        simple_table([("rank", _("Rank")), ("hardware", _("Option")), ("tco", _("TCO per year")), ("factor", _("Deciding factor"))],
                     [{**r, "tco": usd(r["tco"], locale=_.lang)} for r in ranking_rows(plan)]),
        *excluded_block(plan),
    ], className="card")
    status = html.Div(_("Planned '{workload}' over {years} year(s) on {n} option(s).").format(workload=plan.workload, years=plan.horizon_years,
                                                                                           n=len(plan.options)), className="ok")
    return plan.to_dict(), status, summary, cost_breakdown_figure(plan, _), capacity_figure(plan, _), timeline_figure(plan, tr=_)


def _empty_figure():
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=gettext("No plan: fix the workload above"), xaxis={"visible": False}, yaxis={"visible": False}, height=260)
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
                return decode_upload(contents, filename), html.Div(gettext("Loaded {file}; press Plan.").format(file=filename), className="ok")
            except InputError as exc:
                return no_update, html.Div(exc.one_line(), className="error")
        if sample == RUN_SAMPLE and settings.run is not None:
            return settings.run.workload_text, None
        path = sample_files().get(sample)
        return (path.read_text(encoding="utf-8") if path else no_update), None

    @app.callback(Output(ID.STORE, "data"), Output(ID.STATUS, "children"), Output(ID.SUMMARY, "children"),
                  Output(ID.COST, "figure"), Output(ID.CAPACITY, "figure"), Output(ID.TIMELINE, "figure"),
                  Input(ID.RUN, "n_clicks"), State(ID.EDITOR, "value"), State(ID.HARDWARE, "value"), State(ID.MODELS, "data"))
    def plan(_clicks, text, hardware, models):
        cal = settings.run.calibration if settings.run is not None else None
        data, *rest = run_plan(text, hardware, models, str(cal) if cal else None)
        return ({"plan": data, "text": text, "models": models or {}} if data else None), *rest

    @app.callback(Output(ID.MODELS, "data"), Output(ID.MODEL_STATUS, "children"),
                  Input(ID.MODEL_UPLOAD, "contents"), State(ID.MODEL_UPLOAD, "filename"), State(ID.MODELS, "data"),
                  prevent_initial_call=True)
    def upload_models(contents, filenames, stored):
        return add_model_uploads(stored, contents, filenames)

    @app.callback(Output(ID.DOWNLOAD, "data"), Input(ID.DOWNLOAD_BUTTON, "n_clicks"), State(ID.STORE, "data"), prevent_initial_call=True)
    def download(_n, data):
        import json

        if not data or not data.get("plan"):
            return no_update
        plan = data["plan"]
        return {"content": json.dumps(plan, indent=1), "filename": f"dcplan-plan-{plan.get('workload', 'workload')}.json"}
