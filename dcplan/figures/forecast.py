"""Forecast figures: fan chart, tornado, Sobol, limits, demand split and by segment, China by origin, scenario comparison, backtest.

Pure functions from result objects (``Forecast``, ``Tornado``, ``SobolIndices``, ``Backtest``)
to plotly Figures; titles and axes carry units. plotly is imported here only.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from dcplan.figures.style import driver_label, finish, lower_first, metric_label, region_label, scale_for, wrap
from dcplan.forecast.backtest import Backtest
from dcplan.forecast.result import Forecast
from dcplan.forecast.sensitivity import SobolIndices, Tornado
from dcplan.i18n import ENGLISH, Translator

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def _scale(forecasts: Sequence[Forecast], metric: str, tr: Translator = ENGLISH) -> tuple[float, str]:
    """(divisor, axis unit) for a metric across forecasts: GW, USD billion/yr... (see figures.style)."""
    unit = forecasts[0].metric(metric).unit if forecasts else ""
    return scale_for(unit, [v for fc in forecasts for v in fc.metric(metric).p90], tr)


def _axis(metric: str, unit: str, tr: Translator = ENGLISH) -> str:
    """The y axis title: the unit only (the chart's title names the metric), short enough for a 420 px chart."""
    base, _ = unit.partition(" (")[0], tr
    return _("{unit} (average)").format(unit=base) if base in ("MW", "GW") else base


def _band_y(fc: Forecast, metric: str, div: float) -> tuple[list[float], list[float]]:
    """The y values of a band's two traces: the P10-P90 outline (P90 forward, P10 back) and the P50, divided by ``div``."""
    s = fc.metric(metric)
    return [v / div for v in list(s.p90) + list(s.p10)[::-1]], [v / div for v in s.p50]


def _band(fig: go.Figure, fc: Forecast, metric: str, colour: str, name: str, div: float = 1.0) -> None:
    x = list(fc.years)
    band, p50 = _band_y(fc, metric, div)
    fig.add_trace(go.Scatter(x=x + x[::-1], y=band, fill="toself", fillcolor=colour, opacity=0.2,
                             line={"width": 0}, name=f"{name} P10-P90", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=p50, mode="lines", line={"color": colour, "width": 2}, name=f"{name} P50",
                             hovertemplate="%{x}: %{y:,.3~r}<extra>" + name + " P50</extra>"))


def fan_chart(fc: Forecast, metric: str = "energy_twh", tr: Translator = ENGLISH) -> go.Figure:
    """P10-P90 band and median of one metric over the years, with published numbers in the same units (text in ``tr``'s language)."""
    _ = tr
    fig = go.Figure()
    div, unit = _scale([fc], metric, _)
    _band(fig, fc, metric, _COLOURS[0], fc.title or fc.scenario, div)
    _published(fig, fc, metric, div, _)
    finish(fig, title=_("{metric} ({region}, {scenario}): P50 and P10-P90").format(metric=metric_label(metric, _), region=region_label(fc.region, _),
                                                                                 scenario=fc.title or fc.scenario),
           x_title=_("Year"), y_title=_axis(metric, unit, _))
    fig.update_xaxes(tickformat="d")
    return fig


def fan_data(fc: Forecast, metric: str, tr: Translator = ENGLISH) -> dict:
    """What of :func:`fan_chart` follows the forecast's numbers, without building a figure (a dashboard patch).

    ``{"y_title": str, "traces": [{"y": [...]} for the band and the P50, then {"y", "error_plus",
    "error_minus"} for each group of published points]}``, in the chart's trace order and its
    scaled unit (the scale can change when the numbers do); the axis title in ``tr``'s language.
    """
    div, unit = _scale([fc], metric, tr)
    band, p50 = _band_y(fc, metric, div)
    traces: list[dict] = [{"y": band}, {"y": p50}]
    for _kind, pts in _published_groups(fc, metric):
        err = _errors(pts, div)
        traces.append({"y": [c.value / div for c in pts], "error_plus": [e[0] for e in err], "error_minus": [e[1] for e in err]})
    return {"y_title": _axis(metric, unit, tr), "traces": traces}


def _published_groups(fc: Forecast, metric: str) -> list[tuple[str, list]]:
    """(kind, comparisons) of the history and the published forecasts beside the band, the non-empty ones."""
    groups = [(kind, [c for c in fc.comparisons if c.metric == metric and c.region == fc.region and c.kind == kind]) for kind in ("actual", "published")]
    return [(kind, pts) for kind, pts in groups if pts]


def _errors(pts: list, div: float) -> list[tuple[float, float]]:
    return [(((c.high - c.value) if c.high is not None else 0) / div, ((c.value - c.low) if c.low is not None else 0) / div) for c in pts]


def _published(fig: go.Figure, fc: Forecast, metric: str, div: float = 1.0, tr: Translator = ENGLISH) -> None:
    _ = tr
    for kind, pts in _published_groups(fc, metric):
        symbol = "circle" if kind == "actual" else "diamond"
        err = _errors(pts, div)
        fig.add_trace(go.Scatter(
            x=[c.year for c in pts], y=[c.value / div for c in pts], mode="markers", marker={"symbol": symbol, "size": 9, "color": "black" if kind == "actual" else "#ff7f0e"},
            error_y={"type": "data", "symmetric": False, "array": [e[0] for e in err], "arrayminus": [e[1] for e in err]},
            text=[f"{c.label} ({c.source})" for c in pts], name=_("history") if kind == "actual" else _("published forecasts")))


def scenario_comparison(forecasts: Sequence[Forecast], metric: str = "energy_twh", tr: Translator = ENGLISH) -> go.Figure:
    """Several scenarios' bands of one metric on one chart."""
    _ = tr
    fig = go.Figure()
    div, unit = _scale(forecasts, metric, _)
    for fc, colour in zip(forecasts, _COLOURS, strict=False):
        _band(fig, fc, metric, colour, fc.title or fc.scenario, div)
    if forecasts:
        _published(fig, forecasts[0], metric, div, _)
    finish(fig, title=_("{metric}: scenarios compared (P50 and P10-P90)").format(metric=metric_label(metric, _)), x_title=_("Year"),
           y_title=_axis(metric, unit, _))
    fig.update_xaxes(tickformat="d")
    return fig


def _short(label: str, width: int = 32) -> str:
    """A driver label on at most two lines of ``width`` characters (the full name is in the hover)."""
    if len(label) > 2 * width:
        label = label[: 2 * width - 1].rsplit(" ", 1)[0] + "…"
    return wrap(label, width)


def tornado_chart(t: Tornado, top: int = 15, tr: Translator = ENGLISH) -> go.Figure:
    """Bars from the metric at each driver's P10 to its P90 around the all-median value, widest on top."""
    from dcplan.units import for_people

    _ = tr
    bars = list(t.bars[:top])[::-1]
    div, unit = scale_for(t.unit, [t.base_value, *(b.at_low for b in bars), *(b.at_high for b in bars)], _)
    names = [_short(driver_label(b.name, _)) for b in bars]
    fig = go.Figure()
    for side, name, colour in (("at_low", _("driver at P10"), _COLOURS[0]), ("at_high", _("driver at P90"), _COLOURS[1])):
        fig.add_trace(go.Bar(y=names, x=[(getattr(b, side) - t.base_value) / div for b in bars], base=t.base_value / div, orientation="h",
                             name=name, marker_color=colour, customdata=[b.name for b in bars],
                             hovertemplate="%{customdata}: %{x:,.3~r}<extra>" + name + "</extra>"))
    fig.update_layout(barmode="overlay")
    finish(fig, title=_("What moves {metric} in {year} ({region}, {scenario}): all drivers at their medians give {base}").format(
               metric=lower_first(metric_label(t.metric, _)), year=t.year, region=region_label(t.region, _), scenario=t.scenario,
               base=for_people(t.base_value, t.unit, locale=_.lang)),
           x_title=unit.partition(" (")[0], y_title="", height=150 + 40 * len(bars))
    fig.update_yaxes(tickfont={"size": 10})
    return fig


def backtest_chart(bt: Backtest, metric: str = "energy_twh", region: str = "world", current: Forecast | None = None,
                   tr: Translator = ENGLISH) -> go.Figure:
    """Each vintage's P50 and P10-P90 path against the actuals, with today's run and published forecasts (EIA-style vintages)."""
    _ = tr
    fig = go.Figure()
    key = f"{metric}@{region}"
    paths = [(v, v.paths[key]) for v in bt.vintages if key in v.paths]
    unit = paths[0][1].unit if paths else (current.metric(metric).unit if current is not None and metric in current.metrics else "")
    div, shown = scale_for(unit, [x for _v, s in paths for x in s.p90] + (list(current.metric(metric).p90) if current is not None and metric in current.metrics else []),
                           _)
    for (v, s), colour in zip(paths, _COLOURS[1:], strict=False):
        x = list(v.years)
        fig.add_trace(go.Scatter(x=x + x[::-1], y=[y / div for y in list(s.p90) + list(s.p10)[::-1]], fill="toself", fillcolor=colour, opacity=0.12,
                                 line={"width": 0}, hoverinfo="skip", name=_("from {year}: P10-P90").format(year=v.vintage)))
        fig.add_trace(go.Scatter(x=x, y=[y / div for y in s.p50], mode="lines", line={"color": colour, "dash": "dot"},
                                 name=_("from {year}: P50").format(year=v.vintage)))
    actual = {(c.year, c.value): c for v in bt.vintages for c in v.comparisons if c.metric == metric and c.region == region}
    if actual:
        pts = sorted(actual.values(), key=lambda c: c.year)
        fig.add_trace(go.Scatter(x=[c.year for c in pts], y=[c.value / div for c in pts], mode="markers", marker={"color": "black", "size": 9},
                                 text=[f"{c.label} ({c.source})" for c in pts], name=_("actual")))
    if current is not None and metric in current.metrics and current.region == region:
        _band(fig, current, metric, _COLOURS[0], _("today ({scenario})").format(scenario=current.title or current.scenario), div)
        _published(fig, current, metric, div, _)
    finish(fig, title=_("Backtest: {metric} ({region}) forecast from earlier years, against what happened and published forecasts").format(
               metric=lower_first(metric_label(metric, _)), region=region_label(region, _)),
           x_title=_("Year"), y_title=_axis(metric, shown, _), height=560)
    fig.update_xaxes(tickformat="d")
    return fig


def sobol_chart(s: SobolIndices, top: int = 15, tr: Translator = ENGLISH) -> go.Figure:
    """First- and total-order Sobol indices with their bootstrap intervals, largest total order on top."""
    _ = tr
    order = sorted(range(len(s.names)), key=lambda i: s.total_order[i], reverse=True)[:top][::-1]
    names = [s.names[i] for i in order]
    fig = go.Figure()
    for label, vals, cis, colour in ((_("first order"), s.first_order, s.first_order_ci, _COLOURS[0]),
                                     (_("total order"), s.total_order, s.total_order_ci, _COLOURS[1])):
        v = [vals[i] for i in order]
        fig.add_trace(go.Bar(y=names, x=v, orientation="h", name=label, marker_color=colour,
                             error_x={"type": "data", "symmetric": False, "array": [max(cis[i][1] - vals[i], 0.0) for i in order],
                                      "arrayminus": [max(vals[i] - cis[i][0], 0.0) for i in order]}))
    fig.update_layout(barmode="group", title=wrap(_("Sobol indices: {metric} in {year} ({region}), N = {n}, {confidence} bootstrap intervals").format(
                          metric=metric_label(s.metric, _), year=s.year, region=region_label(s.region, _), n=s.base_samples, confidence=f"{s.confidence:.0%}")),
                      xaxis_title=_("share of the variance"), yaxis_title=_("driver"))
    return fig


def limits_chart(fc: Forecast, tr: Translator = ENGLISH) -> go.Figure:
    """Share of samples in which each supply limit binds, by year, with the P50 backlog in years on a second axis."""
    _ = tr
    fig = go.Figure()
    x = list(fc.years)
    for lim, colour in zip(fc.limits, _COLOURS, strict=False):
        fig.add_trace(go.Bar(x=x, y=list(lim.binding_frac), name=_("{limit}: share of samples binding").format(limit=_(lim.name)), marker_color=colour,
                             opacity=0.7))
    if "backlog_years" in fc.metrics:
        b = fc.metric("backlog_years")
        fig.add_trace(go.Scatter(x=x, y=list(b.p50), mode="lines", name=_("backlog P50 [years]"), yaxis="y2", line={"color": "black"}))
        fig.add_trace(go.Scatter(x=x, y=list(b.p90), mode="lines", name=_("backlog P90 [years]"), yaxis="y2", line={"color": "black", "dash": "dot"}))
    fig.update_layout(barmode="group", title=wrap(_("Supply limits ({scenario}): which binds, when, and the delay it causes").format(
                          scenario=fc.title or fc.scenario)),
                      legend={"orientation": "h", "yanchor": "top", "y": -0.2}, xaxis_title=_("year"),
                      yaxis={"title": _("share of samples"), "range": [0, 1]},
                      yaxis2={"title": _("backlog [years]"), "overlaying": "y", "side": "right", "rangemode": "tozero"})
    return fig


def demand_split_chart(fc: Forecast, tr: Translator = ENGLISH) -> go.Figure:
    """P50 AI electricity by use: LLM serving, training (bounded by revenue), AI outside the LLM chain."""
    _ = tr
    fig = go.Figure()
    x = list(fc.years)
    for key, label, colour in (("ai_energy_inference_twh", _("LLM serving (inference)"), _COLOURS[0]),
                               ("ai_energy_training_twh", _("training and research"), _COLOURS[1]),
                               ("ai_energy_other_twh", _("AI outside the LLM chain"), _COLOURS[2])):
        if key in fc.metrics:
            fig.add_trace(go.Scatter(x=x, y=list(fc.metric(key).p50), mode="lines", stackgroup="ai", name=label, line={"color": colour}))
    fig.update_layout(title=wrap(_("AI electricity by use, P50 ({scenario}, {region})").format(scenario=fc.title or fc.scenario,
                                                                                              region=region_label(fc.region, _))),
                      xaxis_title=_("year"), yaxis_title=_("AI electricity [TWh/yr]"))
    return fig


#: The serving requirement of the LLM chain's segments, ``h100e_required_<segment>``.
_NOT_SEGMENTS = ("h100e_required_inference", "h100e_required_training", "h100e_required_other")


def segment_keys(fc: Forecast) -> list[str]:
    """The demand segments of ``fc`` in the scenario's order (from its ``h100e_required_<segment>`` metrics)."""
    return [k[len("h100e_required_"):] for k in fc.metrics if k.startswith("h100e_required_") and k not in _NOT_SEGMENTS]


def segment_demand_chart(fc: Forecast, tr: Translator = ENGLISH) -> go.Figure:
    """LLM serving demand by application segment: P50 of each segment's requirement, stacked, with the P50 of their sum.

    The stack of P50s is not the P50 of the sum (the segments are uncertain independently), so the
    total's own P50 is drawn as a line for comparison.
    """
    from dcplan.forecast.scenario import SEGMENT_LABELS

    _ = tr
    fig = go.Figure()
    x = list(fc.years)
    for seg, colour in zip(segment_keys(fc), _COLOURS, strict=False):
        fig.add_trace(go.Scatter(x=x, y=[v / 1e6 for v in fc.metric(f"h100e_required_{seg}").p50], mode="lines", stackgroup="segments",
                                 name=_(SEGMENT_LABELS[seg]) if seg in SEGMENT_LABELS else seg, line={"color": colour}))
    if "h100e_required_inference" in fc.metrics:
        fig.add_trace(go.Scatter(x=x, y=[v / 1e6 for v in fc.metric("h100e_required_inference").p50], mode="lines",
                                 name=_("all LLM serving, P50 of the sum"), line={"color": "black", "dash": "dot"}))
    finish(fig, title=_("LLM serving demand by application, P50 ({region}, {scenario})").format(region=region_label(fc.region, _),
                                                                                               scenario=fc.title or fc.scenario),
           x_title=_("Year"), y_title=_("Million H100e busy all year"))
    fig.update_xaxes(tickformat="d")
    return fig


def china_supply_chart(fc: Forecast, tr: Translator = ENGLISH) -> go.Figure:
    """China's new accelerators by origin (P50, H100e a year): made in China, imported under export controls, and the shortfall, beside what its demand asked for."""
    _ = tr
    fig = go.Figure()
    x = list(fc.years)
    for key, label, colour in (("china_domestic_shipments_h100e", _("made in China (Ascend...)"), _COLOURS[1]),
                               ("china_import_shipments_h100e", _("imported under export controls"), _COLOURS[0]),
                               ("china_shortfall_h100e", _("short: neither made nor importable"), _COLOURS[7])):
        if key in fc.metrics:
            fig.add_trace(go.Bar(x=x, y=[v / 1e6 for v in fc.metric(key).p50], name=label, marker_color=colour))
    if "china_placed_h100e" in fc.metrics:
        fig.add_trace(go.Scatter(x=x, y=[v / 1e6 for v in fc.metric("china_placed_h100e").p50], mode="lines+markers", name=_("China's demand (placed)"),
                                 line={"color": "black"}))
    fig.update_layout(barmode="stack")
    finish(fig, title=_("China's new AI accelerators by origin, P50 ({scenario})").format(scenario=fc.title or fc.scenario), x_title=_("Year"),
           y_title=_("Million H100e a year"))
    fig.update_xaxes(tickformat="d")
    return fig
