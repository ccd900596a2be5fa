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

#: Order and labels of the TCO components (keys of ``tco_breakdown_usd_per_year``).
COMPONENTS = (
    ("accelerators", "Accelerators (annualised)"),
    ("servers", "Servers (annualised)"),
    ("network", "Network (annualised)"),
    ("facility", "Facility (annualised)"),
    ("electricity", "Electricity"),
    ("maintenance", "Maintenance"),
    ("staff", "Staff"),
)


def cost_breakdown_figure(plan: CapacityPlan) -> go.Figure:
    """Stacked bars: each option's annualised total cost of ownership by component [USD/year]."""
    names = [o.hardware for o in plan.options]
    fig = go.Figure()
    for key, label in COMPONENTS:
        values = [o.tco_breakdown_usd_per_year[key] for o in plan.options]
        if any(values):
            fig.add_trace(go.Bar(name=label, x=names, y=values, hovertemplate="%{x}: $%{y:,.0f}/yr<extra>" + label + "</extra>"))
    fig.update_layout(
        barmode="stack",
        title=f"Annualised cost of ownership by component: {plan.workload}",
        xaxis_title="Hardware option",
        yaxis_title="Cost [USD per year]",
        legend_title="Component",
    )
    return fig


def capacity_figure(plan: CapacityPlan) -> go.Figure:
    """Accelerators per option (training and serving pools stacked) and IT / facility MW on a second axis."""
    names = [o.hardware for o in plan.options]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(name="Training accelerators", x=names, y=[o.accelerators_training for o in plan.options]), secondary_y=False)
    fig.add_trace(go.Bar(name="Serving accelerators", x=names, y=[o.accelerators_serving for o in plan.options]), secondary_y=False)
    fig.add_trace(go.Scatter(name="IT power [MW]", x=names, y=[o.it_mw for o in plan.options], mode="markers", marker={"size": 12, "symbol": "diamond"}), secondary_y=True)
    fig.add_trace(go.Scatter(name="Facility power [MW]", x=names, y=[o.facility_mw for o in plan.options], mode="markers", marker={"size": 12, "symbol": "circle-open"}), secondary_y=True)
    fig.update_layout(barmode="stack", title=f"Accelerators and power per option: {plan.workload}", xaxis_title="Hardware option", legend_title="Quantity")
    fig.update_yaxes(title_text="Accelerators [count]", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="Power [MW]", secondary_y=True, rangemode="tozero")
    return fig


def timeline_figure(plan: CapacityPlan, hardware: str | None = None) -> go.Figure:
    """Installed (steps) and required (dashed) accelerators per quarter, for one option or all."""
    chosen = [hardware] if hardware else [o.hardware for o in plan.options]
    fig = go.Figure()
    for hw in chosen:
        rows = [r for r in plan.timeline if r.hardware == hw]
        if not rows:
            raise KeyError(f"no timeline for {hw!r} in plan {plan.workload!r}")
        q = [r.quarter for r in rows]
        fig.add_trace(go.Scatter(name=f"{hw} installed", x=q, y=[r.installed_accelerators for r in rows], mode="lines+markers", line={"shape": "hv"}))
        fig.add_trace(go.Scatter(name=f"{hw} required", x=q, y=[r.required_accelerators for r in rows], mode="lines", line={"dash": "dash"}))
    fig.update_layout(
        title=f"Installed versus required capacity by quarter: {plan.workload}",
        xaxis_title="Quarter (demand at the quarter's end)",
        yaxis_title="Accelerators [count]",
        legend_title="Option",
    )
    fig.update_yaxes(rangemode="tozero")
    return fig
