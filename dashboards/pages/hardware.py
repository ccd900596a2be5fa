"""Hardware page: the accelerator catalog compared, the roofline, and measured profiles."""

from __future__ import annotations

import functools
from typing import Any

from dashboards.components import simple_table
from dashboards.ids import Hardware as ID
from dashboards.language import tr
from dcplan.i18n import N_, translator

PATH = "/hardware"
TITLE = N_("Hardware")
DEFAULT_SELECTION = ("a100-80gb", "h100-sxm", "h200", "b200", "mi300x", "gaudi3", "tpu-v5p")


def catalog_rows() -> list[dict[str, Any]]:
    """One row per catalog accelerator, numbers in display units, with source quality."""
    from dcplan.io.catalog import hardware_catalog
    from dcplan.io.measured import measured_calibrations

    measured = measured_calibrations()
    rows = []
    for h in hardware_catalog().values():
        peak = h.peak_flops_per_s
        note = h.source_of("peak_flops_per_s")
        rows.append({
            "name": h.name,
            "product": h.display_name,
            "year": h.launch_year,
            "bf16_tflops": _r(peak.get("bf16") or peak.get("fp16"), 1e12),
            "fp8_tflops": _r(peak.get("fp8"), 1e12),
            "memory_gb": _r(h.hbm_bytes, 1e9),
            "bandwidth_tbs": _r(h.hbm_bytes_per_s, 1e12),
            "tdp_w": h.tdp_w,
            "cloud_usd_per_hour": h.cloud_usd_per_hour,
            "measured": measured[h.name].profile_name if h.name in measured else None,
            "quality": note.quality if note else "",
            "source": note.source if note else "",
        })
    return rows


def measured_note():
    """One paragraph per shipped measured profile: which accelerator, where and how, and that estimates use it."""
    from dash import html

    from dcplan.io.measured import measured_calibrations
    from dcplan.units import percent

    _ = tr()
    items = []
    for name, m in measured_calibrations().items():
        med = {k: v.get("median_ape_pct") for k, v in m.heldout.items() if isinstance(v, dict) and v.get("n")}
        errs = _(", ").join(f"{_(k)} {percent(v / 100, 1, _.lang)}" for k, v in med.items())
        items.append(html.Li([html.B(f"{name}: {m.profile_name}. "),
                              _("Estimates and plans for {name} use its fitted efficiencies by default (--no-measured opts out); "
                                "held-out median errors: {errors}. ").format(name=name, errors=errs), html.Span(m.notes, className="hint")]))
    if not items:
        return html.Div()
    return html.Div([html.H3(_("Measured profiles shipped with dcplan")), html.Ul(items, id="hw-measured-list")], className="card")


def _r(v: float | None, scale: float) -> float | None:
    """``v / scale`` to 4 significant digits; None (shown as missing) when the catalog does not know it."""
    return float(f"{v / scale:.4g}") if v else None


@functools.lru_cache(maxsize=64)
def bars_figure(names: tuple[str, ...], metric: str, lang: str = "en"):
    from dcplan.figures.hardware import catalog_bars
    from dcplan.io.catalog import get_hardware

    return catalog_bars([get_hardware(n) for n in names], metric, translator(lang))


@functools.lru_cache(maxsize=64)
def roofline_figure(names: tuple[str, ...], precision: str, lang: str = "en"):
    from dcplan.figures.hardware import decode_prefill_markers, roofline
    from dcplan.io.catalog import get_hardware

    return roofline([get_hardware(n) for n in names], precision, decode_prefill_markers(tr=translator(lang)), translator(lang))


def layout(settings):
    from dash import dcc, html

    from dcplan.figures.hardware import METRICS
    from dcplan.io.catalog import hardware_catalog

    _ = tr()
    names = list(hardware_catalog())
    columns = [
        ("name", _("Name")), ("product", _("Product")), ("year", _("Year")), ("bf16_tflops", "BF16 [TFLOP/s]"),
        ("fp8_tflops", "FP8 [TFLOP/s]"), ("memory_gb", _("Memory [GB]")), ("bandwidth_tbs", _("Bandwidth [TB/s]")),
        ("tdp_w", "TDP [W]"), ("cloud_usd_per_hour", _("Cloud [$/h]")), ("measured", _("Measured profile")), ("quality", _("Quality")),
        ("source", _("Source")),
    ]
    from dashboards.components import run_banner
    from dashboards.ids import Run
    from dashboards.pages import profiles

    run = settings.run
    what = ((_("its calibration {calibration} of profile {profile}, in Measured profiles below") if run.profile else
             _("its calibration {calibration}, in Measured profiles below")).format(calibration=run.calibration.name, profile=run.profile.name if run.profile else "")
            if run is not None and run.calibration is not None else "")
    return html.Div([
        html.H2(_("Hardware")),
        run_banner(settings, what, Run.HARDWARE),
        html.P(_("Dense peaks (no sparsity) from data/hardware, every figure with its source. "
                 "Missing values are unknown, not zero."), className="hint"),
        html.Div([
            html.Div([
                html.Label(_("Accelerators")),
                dcc.Dropdown(id=ID.SELECT, options=[{"label": n, "value": n} for n in names], value=list(DEFAULT_SELECTION), multi=True),
                html.Label(_("Metric")),
                dcc.RadioItems(id=ID.METRIC, options=[{"label": _(lab), "value": k} for k, (lab, _get) in METRICS.items()], value="bf16"),
                html.Label(_("Roofline precision")),
                dcc.RadioItems(id=ID.PRECISION, options=[{"label": p, "value": p} for p in ("bf16", "fp8", "fp32")], value="bf16", inline=True),
            ], className="col-narrow card controls"),
            html.Div([
                dcc.Loading(dcc.Graph(id=ID.BARS, config={"displaylogo": False})),
            ], className="col card"),
        ], className="row"),
        html.Div([dcc.Loading(dcc.Graph(id=ID.ROOFLINE, config={"displaylogo": False}))], className="card"),
        html.H3(_("Catalog")),
        html.Div(simple_table(columns, catalog_rows(), table_id=ID.TABLE), className="card", style={"overflowX": "auto"}),
        measured_note(),
        profiles.section(settings),
    ])


def register_callbacks(app, settings) -> None:
    from dash import Input, Output

    from dashboards.pages import profiles

    @app.callback(Output(ID.BARS, "figure"), Input(ID.SELECT, "value"), Input(ID.METRIC, "value"))
    def update_bars(selected, metric):
        return bars_figure(tuple(selected or DEFAULT_SELECTION), metric or "bf16", tr().lang)

    @app.callback(Output(ID.ROOFLINE, "figure"), Input(ID.SELECT, "value"), Input(ID.PRECISION, "value"))
    def update_roofline(selected, precision):
        return roofline_figure(tuple(selected or DEFAULT_SELECTION), precision or "bf16", tr().lang)

    profiles.register_callbacks(app, settings)
