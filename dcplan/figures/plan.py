"""Figures of a :class:`~dcplan.capacity.result.CapacityPlan`: pure functions to plotly Figures.

- :func:`cost_breakdown_figure`: annualised TCO per option, stacked by component [USD/year];
- :func:`capacity_figure`: accelerators (bars) and IT / facility power (markers, right axis) per option;
- :func:`timeline_figure`: installed versus required accelerators per quarter, per option.

They read the plan and compute nothing the plan does not hold; the dashboard and the reports
share them.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dcplan.capacity.result import CapacityPlan
from dcplan.i18n import ENGLISH, N_, Translator

#: Order and labels of the TCO components (keys of ``tco_breakdown_usd_per_year``).
COMPONENTS = (
    ("accelerators", N_("Accelerators (annualised)")),
    ("servers", N_("Servers (annualised)")),
    ("network", N_("Network (annualised)")),
    ("facility", N_("Facility (annualised)")),
    ("electricity", N_("Electricity")),
    ("maintenance", N_("Maintenance")),
    ("staff", N_("Staff")),
)


def cost_breakdown_figure(plan: CapacityPlan, tr: Translator = ENGLISH) -> go.Figure:
    """Stacked bars: each option's annualised total cost of ownership by component [USD/year]."""
    from dcplan.figures.style import finish, scale_for
    from dcplan.units import unit_words, usd

    _ = tr
    names = [o.hardware for o in plan.options]
    div, unit = scale_for("USD/yr", [o.tco_usd_per_year for o in plan.options], _)
    fig = go.Figure()
    for key, label in COMPONENTS:
        values = [o.tco_breakdown_usd_per_year[key] for o in plan.options]
        if any(values):
            fig.add_trace(go.Bar(name=_(label), x=names, y=[v / div for v in values], customdata=[usd(v, locale=_.lang) + unit_words("/yr", _.lang) for v in values],
                                 hovertemplate="%{x}: %{customdata}<extra>" + _(label) + "</extra>"))
    fig.update_layout(barmode="stack")
    return finish(fig, title=_("Annualised cost of ownership by component: {workload}").format(workload=plan.workload), x_title=_("Hardware option"),
                  y_title=_("Cost [{unit}]").format(unit=unit))


def capacity_figure(plan: CapacityPlan, tr: Translator = ENGLISH) -> go.Figure:
    """Accelerators per option (training and serving pools stacked) and IT / facility power on a second axis."""
    from dcplan.figures.style import finish

    _ = tr
    names = [o.hardware for o in plan.options]
    top_mw = max((o.facility_mw for o in plan.options), default=0.0)
    div, unit = (1e3, "GW") if top_mw >= 1e3 else ((1.0, "MW") if top_mw >= 1 else (1e-3, "kW"))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(name=_("Training accelerators"), x=names, y=[o.accelerators_training for o in plan.options]), secondary_y=False)
    fig.add_trace(go.Bar(name=_("Serving accelerators"), x=names, y=[o.accelerators_serving for o in plan.options]), secondary_y=False)
    fig.add_trace(go.Scatter(name=_("IT power"), x=names, y=[o.it_mw / div for o in plan.options], mode="markers",
                             marker={"size": 12, "symbol": "diamond"}, hovertemplate="%{x}: %{y:.3g} " + unit + " IT<extra></extra>"), secondary_y=True)
    fig.add_trace(go.Scatter(name=_("Facility power"), x=names, y=[o.facility_mw / div for o in plan.options], mode="markers",
                             marker={"size": 12, "symbol": "circle-open"}, hovertemplate="%{x}: %{y:.3g} " + unit + " " + _("facility") + "<extra></extra>"),
                  secondary_y=True)
    fig.update_layout(barmode="stack")
    finish(fig, title=_("Accelerators and power per option: {workload}").format(workload=plan.workload), x_title=_("Hardware option"))
    fig.update_yaxes(title_text=_("Accelerators [count]"), secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=_("Power [{unit}]").format(unit=unit), secondary_y=True, rangemode="tozero", showgrid=False, tickmode="auto")
    return fig


def timeline_figure(plan: CapacityPlan, hardware: str | None = None, tr: Translator = ENGLISH) -> go.Figure:
    """Installed (steps from the start of each quarter) and required (at each quarter's end) accelerators.

    The plan installs capacity at the start of a quarter to cover the demand at its end, so the
    x axis is time: a quarter spans [start, end), installed capacity is a step that begins at
    the quarter's start, and the requirement it must cover is marked at the quarter's end.
    """
    from dcplan.figures.style import finish

    _ = tr
    chosen = [hardware] if hardware else [o.hardware for o in plan.options]
    fig = go.Figure()
    labels: list[str] = []
    palette = ("#3566a8", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
    for n, hw in enumerate(chosen):
        colour = palette[n % len(palette)]
        rows = [r for r in plan.timeline if r.hardware == hw]
        if not rows:
            raise KeyError(f"no timeline for {hw!r} in plan {plan.workload!r}")
        labels = [r.quarter for r in rows] if len(rows) > len(labels) else labels
        starts = [r.quarter_index for r in rows]
        installed = [r.installed_accelerators for r in rows]
        fig.add_trace(go.Scatter(name=_("{hardware} installed (from the quarter's start)").format(hardware=hw), x=[*starts, starts[-1] + 1], y=[*installed, installed[-1]],
                                 mode="lines", line={"shape": "hv", "color": colour}, legendgroup=hw,
                                 customdata=[*[r.quarter for r in rows], _("end")],
                                 hovertemplate=_("%{customdata} start: %{y:,} installed") + "<extra>" + hw + "</extra>"))
        fig.add_trace(go.Scatter(name=_("{hardware} required (by the quarter's end)").format(hardware=hw), x=[s + 1 for s in starts], y=[r.required_accelerators for r in rows],
                                 mode="markers", marker={"symbol": "line-ew-open", "size": 14, "color": colour, "line": {"width": 3, "color": colour}},
                                 legendgroup=hw,
                                 customdata=[r.quarter for r in rows], hovertemplate=_("%{customdata} end: %{y:,} required") + "<extra>" + hw + "</extra>"))
    finish(fig, title=_("Installed versus required capacity by quarter: {workload}").format(workload=plan.workload),
           x_title=_("Quarter"), y_title=_("Accelerators [count]"))
    fig.update_xaxes(tickmode="array", tickvals=[i + 0.5 for i in range(len(labels))], ticktext=labels, range=[-0.1, len(labels) + 0.1],
                     showgrid=False, minor={"tickvals": list(range(len(labels) + 1)), "showgrid": True, "gridcolor": "#e1e5ea", "ticks": "outside"})
    fig.update_yaxes(rangemode="tozero")
    return fig
