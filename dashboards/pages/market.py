"""Market scenarios page: pick a scenario, move its key drivers, read the bands and what matters."""

from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from dashboards.components import simple_table
from dashboards.ids import Market as ID
from dashboards.language import gettext, tr
from dashboards.settings import MAX_UPLOAD_BYTES
from dcplan.i18n import N_, translator

PATH = "/market"
TITLE = N_("Market")
#: Monte Carlo samples per driver update (the dashboard's fast path; the CLI defaults to 10,000), and how they are
#: drawn: a scrambled Sobol' sequence (dcplan.forecast.sampling), whose band error against 100,000 samples is in BENCHMARKS.md.
SAMPLES = 2048
SAMPLING = "sobol"
SEED = 0
#: Forecasts kept per worker process, keyed by scenario and quantised driver values (a few kB each).
CACHE_SIZE = 256
HEADLINE_YEAR = 2030
#: Drivers the page exposes, in display order, with a short label.
DRIVERS = (
    ("dialogue_tokens_per_use", N_("Dialogue: tokens per message")),
    ("code_tokens_growth_per_year", N_("Code generation: token growth [x/yr]")),
    ("agents_tokens_per_use", N_("Agents and reasoning: tokens per task")),
    ("consumer_tokens_per_use", N_("Tokens per consumer user per day")),
    ("enterprise_tokens_per_use", N_("Tokens per enterprise seat per day")),
    ("inference_efficiency_gain_per_year", N_("Inference efficiency gain [x/yr]")),
    ("training_spend_share_of_ai_revenue", N_("Training spend / AI revenue")),
    ("other_ai_h100e", N_("AI outside LLMs in 2024 [H100e]")),
    ("chip_supply_growth_per_year", N_("Chip packaging growth [x/yr]")),
    ("china_import_cap_h100e_per_year", N_("China's import ceiling [H100e per year]")),
    ("grid_additions_ceiling_mw", N_("Grid connections ceiling [per year]")),
    ("onsite_generation_max_mw_per_year", N_("On-site generation [per year]")),
    ("pue_ai", N_("PUE of AI capacity")),
    ("electricity_usd_per_kwh", N_("Electricity price [per kWh]")),
    ("nonai_growth_per_year", N_("Non-AI data-centre growth [x/yr]")),
)
METRICS = (
    ("facility_power_mw", N_("Facility power, all data centres (average)")),
    ("energy_twh", N_("Electricity, all data centres")),
    ("ai_energy_twh", N_("AI electricity")),
    ("h100e_installed", N_("H100-equivalents installed")),
    ("accelerator_spend_usd", N_("Accelerator spend")),
    ("capex_usd", N_("AI capex")),
    ("capex_cumulative_usd", N_("AI capex since the start year")),
    ("hyperscaler_capex_usd", N_("Big-4 hyperscaler capex")),
    ("emissions_tco2e", N_("Emissions")),
    ("unmet_demand_frac", N_("Demand not served (share)")),
    ("backlog_years", N_("Backlog: delay until served (years)")),
)
SLIDER_STEPS = 20
#: China's supply by origin (the China chart).
CHINA_KEYS = ("china_placed_h100e", "china_domestic_shipments_h100e", "china_import_shipments_h100e", "china_shortfall_h100e")


# --------------------------------------------------------------------------------------------
# pure helpers (memoised by their inputs; no server state is mutated)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def scenario_from(source: str):
    """A Scenario from 'name:<shipped name>' or 'yaml:<digest>\\n<text>' (uploaded)."""
    from dashboards.uploads import check_scenario_text, shipped_scenario
    from dcplan.io.scenario import load_scenario

    kind, _, rest = str(source).partition(":")  # sent back by the browser: checked again here
    if kind == "name":
        return load_scenario(shipped_scenario(rest))
    text = check_scenario_text(rest.partition("\n")[2])
    with tempfile.TemporaryDirectory(prefix="dcplan-scenario-") as tmp:
        path = Path(tmp) / "uploaded.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(str(path))


def source_for_upload(text: str) -> str:
    return f"yaml:{hashlib.sha1(text.encode()).hexdigest()}\n{text}"


def decode_upload(contents: str, filename: str | None) -> str:
    """Text of an uploaded scenario YAML (see dashboards.uploads)."""
    from dashboards.uploads import decode_upload as decode

    return decode(contents, filename, (".yaml", ".yml"))


def driver_range(scenario, name: str) -> tuple[float, float, float]:
    """(low, median, high) slider range of a driver: its P5 and P95 in the scenario."""
    import numpy as np

    p = scenario.parameters[name]
    med = float(p.dist.median())
    if p.dist.is_fixed:
        return med * 0.5, med, med * 1.5
    lo, hi = (float(v) for v in p.dist.ppf(np.array([0.05, 0.95])))
    return lo, med, hi


def _nice(v: float, unit: str = "", locale: str = "en") -> str:
    """A driver value as people read it: money and power with their units ($0.085, 2 GW), counts short (3k, 2.5B; 250万 in Chinese)."""
    from dcplan.units import for_people, human_count

    base = unit.split("/")[0]
    if base.startswith(("USD", "MW")):
        return for_people(v, base, locale=locale)
    return human_count(v, locale=locale)


@functools.lru_cache(maxsize=CACHE_SIZE)
def forecast(source: str, fixed: tuple[tuple[str, float], ...], metrics: tuple[str, ...] | None = None):
    """The scenario's forecast with some drivers fixed (common random numbers, memoised draws and chain stages).

    ``metrics``: those summarised (default: the page's metrics, the headline and the AI energy
    split). Memoised per worker process by (scenario, fixed values, metrics): ``fixed`` comes
    quantised to the sliders' grid (:func:`fixed_from_sliders`), so a slider moved back to a
    position seen before is answered from memory.
    """
    from dcplan.forecast.engine import run_forecast_fixed
    from dcplan.forecast.headline import HEADLINE_KEYS
    from dcplan.io.market import read_observations

    scenario = scenario_from(source)
    keys = metrics or tuple(dict.fromkeys([k for k, _ in METRICS] + list(HEADLINE_KEYS) + list(SPLIT_KEYS) + ["h100e_required_inference", *CHINA_KEYS]
                                          + [f"h100e_required_{g}" for g in scenario.segments]))
    return run_forecast_fixed(scenario, fixed=dict(fixed), samples=SAMPLES, seed=SEED, observations=read_observations(), metrics=keys,
                              sampling=SAMPLING)


def view_metrics(metric: str) -> tuple[str, ...]:
    """What one driver update summarises: the fan chart's metric and the headline table's."""
    from dcplan.forecast.headline import HEADLINE_KEYS

    return tuple(dict.fromkeys([metric, *HEADLINE_KEYS]))


#: The AI energy split by use (the demand split chart).
SPLIT_KEYS = ("ai_energy_inference_twh", "ai_energy_training_twh", "ai_energy_other_twh")


@functools.lru_cache(maxsize=16)
def tornado_figure(source: str, metric: str, year: int, lang: str = "en"):
    from dcplan.figures.forecast import tornado_chart
    from dcplan.forecast.sensitivity import tornado

    return tornado_chart(tornado(scenario_from(source), metric=metric, year=year), top=12, tr=translator(lang))


@functools.lru_cache(maxsize=8)
def comparison_figure(metric: str, lang: str = "en"):
    from dcplan.figures.forecast import scenario_comparison
    from dcplan.forecast.engine import run_forecast
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import list_scenarios, load_scenario

    obs = read_observations()
    fcs = [run_forecast(load_scenario(name), samples=1000, seed=SEED, observations=obs) for name in list_scenarios()]
    return scenario_comparison(fcs, metric, translator(lang))


@functools.lru_cache(maxsize=8)
def backtest_figure(source: str, metric: str, lang: str = "en"):
    from dcplan.figures.forecast import backtest_chart
    from dcplan.forecast.backtest import run_backtest
    from dcplan.io.market import read_observations

    bt = run_backtest(scenario_from(source), read_observations(), samples=1000, seed=SEED)
    scored = {k.split("@")[0] for v in bt.vintages for k in v.paths}
    shown = metric if metric in scored else "energy_twh"
    return backtest_chart(bt, shown, "world", forecast(source, ()), translator(lang))


def headline(fc, year: int = HEADLINE_YEAR, lang: str = "en") -> list[dict[str, Any]]:
    """Rows of the headline table (the shared definition in dcplan.forecast.headline) with their anchors."""
    from dcplan.forecast.headline import headline_rows, number

    _ = translator(lang)
    return [{"metric": f"{r['label']} [{r['unit']}]", "p10": number(r["p10"]), "p50": number(r["p50"]), "p90": number(r["p90"]),
             "anchors": _("; ").join(r["anchors"]) or "-"} for r in headline_rows(fc, year, compact=True, all_regions=True, tr=_)]


def quantise(scenario, name: str, value: float) -> float:
    """``value`` snapped to the driver's slider grid (low + k (high - low) / SLIDER_STEPS), where the slider puts it anyway."""
    lo, _, hi = driver_range(scenario, name)
    if not hi > lo:
        return float(value)
    step = (hi - lo) / SLIDER_STEPS
    k = min(max(round((float(value) - lo) / step), 0), SLIDER_STEPS)
    return lo + k * step


def fixed_from_sliders(scenario, values: list[float], names: list[str]) -> tuple[tuple[str, float], ...]:
    """Drivers whose slider left the scenario median become fixed overrides, at their value on the slider grid (:func:`quantise`)."""
    out = []
    for name, v in zip(names, values, strict=True):
        if v is None:
            continue
        _, med, _ = driver_range(scenario, name)
        if abs(float(v) - med) > 1e-12 * max(1.0, abs(med)):
            out.append((name, quantise(scenario, name, v)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------------------------


def _unit(name: str) -> str:
    from dcplan.forecast.scenario import DRIVERS

    d = DRIVERS.get(name)
    return d.unit if d is not None and d.unit not in ("x/yr", "ratio", "-", "fraction", "years") else ""


def slider_block(scenario) -> list:
    from dash import dcc, html

    _ = tr()
    blocks = []
    for name, label in DRIVERS:
        if name not in scenario.parameters or not scenario.active(name):  # a segment the scenario does not sum
            continue
        lo, med, hi = driver_range(scenario, name)
        step = (hi - lo) / SLIDER_STEPS if hi > lo else None
        blocks.append(html.Div([
            html.Label(_(label), title=scenario.parameters[name].source),
            dcc.Slider(id={"type": ID.DRIVER, "name": name}, min=lo, max=hi, step=step, value=med,
                       marks={v: _nice(v, _unit(name).split("/")[0], _.lang) for v in (lo, med, hi)},
                       updatemode="mouseup", allow_direct_input=False),
        ], className="driver"))
    return blocks


def initial_source(settings) -> tuple[str, str]:
    """(dropdown name, scenario source) the page opens on: the run's scenario (a variant of a family too), else base."""
    from dcplan.io.scenario import list_scenarios, scenario_choices

    names = list(dict.fromkeys([*scenario_choices(), *list_scenarios()]))
    first = "base" if "base" in names else names[0]
    run = settings.run
    if run is None:
        return first, f"name:{first}"
    if run.scenario_text is not None:
        return first, source_for_upload(run.scenario_text)
    return (run.scenario, f"name:{run.scenario}") if run.scenario in names else (first, f"name:{first}")


def run_note(settings) -> str:
    """What the banner says about the run's scenario and its headline range."""
    _ = tr()
    run = settings.run
    s = run.summary if run is not None else {}
    e = s.get("energy_twh") if isinstance(s, dict) else None
    text = _("its scenario {name}").format(name=Path(run.scenario).name if run else "")
    if e:
        text += _("; its report ({year}): data-centre electricity {p50} TWh/yr (P10-P90 {p10}-{p90}) from {samples} samples; this page draws {drawn}").format(
            year=s.get("year"), p50=f"{e['p50']:,.0f}", p10=f"{e['p10']:,.0f}", p90=f"{e['p90']:,.0f}", samples=f"{s.get('samples', 0):,}", drawn=f"{SAMPLES:,}")
    return text


def layout(settings):
    from dash import dcc, html

    from dashboards.components import run_banner
    from dashboards.ids import Run
    from dcplan.io.scenario import scenario_choices

    _ = tr()
    names = scenario_choices()
    first, source = initial_source(settings)
    scenario = scenario_from(source)
    return html.Div([
        html.H2(_("Market scenarios")),
        run_banner(settings, run_note(settings), Run.MARKET),
        html.P(_("AI compute demand to accelerators, power, energy and spending: P10-P90 bands of {samples} Monte Carlo samples "
                 "(the CLI uses 10,000). A moved driver is fixed at the chosen value; the others keep their distributions and draws.").format(
                   samples=f"{SAMPLES:,}"), className="hint"),
        html.Div([
            html.Div([
                html.Label(_("Scenario")),
                dcc.Dropdown(id=ID.SCENARIO, options=[{"label": n, "value": n} for n in names], value=first, clearable=False),
                html.Label(_("Or upload a scenario YAML (may `extends: base`)")),
                dcc.Upload(id=ID.UPLOAD, children=html.Div(_("Drop or click to choose a .yaml file")), className="upload",
                           max_size=MAX_UPLOAD_BYTES, accept=".yaml,.yml"),
                html.Div(id=ID.STATUS),
                html.Label(_("Metric")),
                dcc.Dropdown(id=ID.METRIC, options=[{"label": _(lab), "value": k} for k, lab in METRICS], value="facility_power_mw", clearable=False),
                html.H3(_("Drivers (P5 to P95 of the scenario)")),
                html.Div(slider_block(scenario), id="mkt-drivers"),
                html.Button(_("Reset drivers"), id=ID.RESET, n_clicks=0),
            ], className="col-narrow card controls"),
            html.Div([
                dcc.Loading([
                    dcc.Graph(id=ID.FAN, config={"displaylogo": False}),
                    html.Div(id=ID.HEADLINE),
                ]),
            ], className="col card"),
        ], className="row"),
        html.Div([
            html.Div(dcc.Loading(dcc.Graph(id=ID.TORNADO, config={"displaylogo": False})), className="col card"),
            html.Div(dcc.Loading(dcc.Graph(id=ID.COMPARE, config={"displaylogo": False})), className="col card"),
        ], className="row"),
        html.Div([
            html.Div(dcc.Loading(dcc.Graph(id=ID.LIMITS, config={"displaylogo": False})), className="col card"),
            html.Div(dcc.Loading(dcc.Graph(id=ID.SPLIT, config={"displaylogo": False})), className="col card"),
        ], className="row"),
        html.Div([
            html.Div(dcc.Loading(dcc.Graph(id=ID.SEGMENTS, config={"displaylogo": False})), className="col card"),
            html.Div(dcc.Loading(dcc.Graph(id=ID.CHINA, config={"displaylogo": False})), className="col card"),
        ], className="row"),
        html.Div(dcc.Loading(dcc.Graph(id=ID.BACKTEST, config={"displaylogo": False})), className="card"),
        dcc.Store(id=ID.STORE, data=source, storage_type="session"),
    ])


# --------------------------------------------------------------------------------------------
# callbacks (thin)
# --------------------------------------------------------------------------------------------


def update_view(source: str, metric: str, values: list[float] | None, names: list[str], patch: bool = False):
    """(fan figure, headline table) for the scenario, metric and driver values.

    ``patch``: the browser already shows this scenario's and metric's fan chart, so only the
    band's and the median's values are sent (a Dash ``Patch``), not a new figure.
    """
    from dcplan.figures.forecast import fan_chart

    _ = tr()
    scenario = scenario_from(source)
    fixed = fixed_from_sliders(scenario, values or [], names) if values else ()
    fc = forecast(source, fixed, view_metrics(metric))
    return (fan_patch(fc, metric, _) if patch else fan_chart(fc, metric, _)), headline_block(fc, fixed, _)


def fan_patch(fc, metric: str, translate=None):
    """A Dash ``Patch`` of the fan chart's numbers (:func:`dcplan.figures.forecast.fan_data`): each trace's y values and
    error bars and the y axis title (the chart's scale can change with the numbers); the rest of the figure stays."""
    from dash import Patch

    from dcplan.figures.forecast import fan_data

    data = fan_data(fc, metric, translate) if translate is not None else fan_data(fc, metric)
    patch = Patch()
    for i, trace in enumerate(data["traces"]):
        patch["data"][i]["y"] = trace["y"]
        if "error_plus" in trace:
            patch["data"][i]["error_y"]["array"] = trace["error_plus"]
            patch["data"][i]["error_y"]["arrayminus"] = trace["error_minus"]
    patch["layout"]["yaxis"]["title"]["text"] = data["y_title"]
    return patch


def headline_block(fc, fixed: tuple[tuple[str, float], ...], _=None):
    """The headline table, the supply limits and the fixed drivers under the fan chart (text in ``_``'s language)."""
    from dash import html

    from dcplan.forecast.headline import limit_lines

    _ = _ or tr()
    rows = headline(fc, lang=_.lang)
    labels = dict(DRIVERS)
    unit_note = _("; ").join(f"{_(labels[n]) if n in labels else n} = {_nice(v, _unit(n), _.lang)}" for n, v in fixed) or _("all drivers at their scenario distributions")
    table = html.Div([
        html.H3(_("{year}: P10 / P50 / P90, with published numbers beside").format(year=HEADLINE_YEAR)),
        simple_table([("metric", _("Metric")), ("p10", "P10"), ("p50", "P50"), ("p90", "P90"), ("anchors", _("Published and actual (sources: CLI and report)"))],
                     rows, table_id="mkt-headline-table"),
        html.H3(_("Supply limits")),
        html.Ul([html.Li(line) for line in limit_lines(fc, _)], id="mkt-limits"),
        html.P(_("Fixed: {drivers}.").format(drivers=unit_note), className="hint"),
    ])
    return table


def register_callbacks(app, settings) -> None:
    from dash import ALL, Input, Output, State, ctx, html, no_update

    from dcplan.errors import InputError

    @app.callback(Output(ID.STORE, "data"), Output(ID.STATUS, "children"), Output("mkt-drivers", "children"),
                  Input(ID.SCENARIO, "value"), Input(ID.UPLOAD, "contents"), Input(ID.RESET, "n_clicks"),
                  State(ID.UPLOAD, "filename"), State(ID.STORE, "data"), prevent_initial_call=True)
    def choose(name, contents, _reset, filename, current):
        try:
            if ctx.triggered_id == ID.UPLOAD and contents:
                source = source_for_upload(decode_upload(contents, filename))
                status = html.Div(gettext("Loaded {file}.").format(file=filename), className="ok")
            elif ctx.triggered_id == ID.RESET:
                source, status = current or f"name:{name}", None
            else:
                source, status = f"name:{name}", None
            scenario = scenario_from(source)
        except InputError as exc:
            return no_update, html.Div(exc.one_line(), className="error"), no_update
        return source, status, slider_block(scenario)

    @app.callback(Output(ID.FAN, "figure"), Output(ID.HEADLINE, "children"),
                  Input(ID.STORE, "data"), Input(ID.METRIC, "value"), Input({"type": ID.DRIVER, "name": ALL}, "value"),
                  State({"type": ID.DRIVER, "name": ALL}, "id"))
    def update(source, metric, values, ids):
        # only sliders moved: the browser's figure is this scenario's and metric's, so patch its data
        drivers_only = bool(ctx.triggered_prop_ids) and all(isinstance(t, dict) and t.get("type") == ID.DRIVER
                                                            for t in ctx.triggered_prop_ids.values())
        try:
            return update_view(source, metric, values, [i["name"] for i in ids], patch=drivers_only)
        except InputError as exc:
            return no_update, html.Div(exc.one_line(), className="error")

    @app.callback(Output(ID.TORNADO, "figure"), Output(ID.COMPARE, "figure"), Output(ID.BACKTEST, "figure"),
                  Output(ID.LIMITS, "figure"), Output(ID.SPLIT, "figure"), Output(ID.SEGMENTS, "figure"), Output(ID.CHINA, "figure"),
                  Input(ID.STORE, "data"), Input(ID.METRIC, "value"))
    def analyses(source, metric):
        from dcplan.figures.forecast import china_supply_chart, demand_split_chart, limits_chart, segment_demand_chart

        base, _ = forecast(source, ()), tr()
        return (tornado_figure(source, metric, HEADLINE_YEAR, _.lang), comparison_figure(metric, _.lang), backtest_figure(source, metric, _.lang),
                limits_chart(base, _), demand_split_chart(base, _), segment_demand_chart(base, tr=_), china_supply_chart(base, tr=_))
