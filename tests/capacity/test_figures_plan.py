"""Figures of a plan: pure, titled, axes labelled with units, one trace per quantity shown."""

from __future__ import annotations

import pytest

from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure


def test_cost_breakdown_stacks_to_the_tco(sample_plans):
    plan = sample_plans["portfolio"]
    fig = cost_breakdown_figure(plan)
    assert "cost of ownership" in fig.layout.title.text.replace("<br>", " ")
    unit = fig.layout.yaxis.title.text  # money in the unit people read: USD million/yr for this plan, never 1e6 ticks
    assert "USD million/yr" in unit
    totals = [sum(tr.y[i] for tr in fig.data) * 1e6 for i in range(len(plan.options))]
    assert totals == pytest.approx([o.tco_usd_per_year for o in plan.options])
    assert fig.layout.barmode == "stack"


def test_capacity_figure_shows_accelerators_and_megawatts(sample_plans):
    plan = sample_plans["train-70b"]
    fig = capacity_figure(plan)
    assert "Accelerators" in fig.layout.title.text
    top = max(o.facility_mw for o in plan.options)
    div, unit = (1.0, "MW") if 1 <= top < 1e3 else ((1e-3, "kW") if top < 1 else (1e3, "GW"))
    assert "count" in fig.layout.yaxis.title.text and f"[{unit}]" in fig.layout.yaxis2.title.text
    it = next(tr for tr in fig.data if tr.name.startswith("IT power"))
    assert list(it.y) == pytest.approx([o.it_mw / div for o in plan.options])


def test_timeline_figure_installed_versus_required(sample_plans):
    plan = sample_plans["chat-70b"]
    fig = timeline_figure(plan, "h200")
    assert [tr.name for tr in fig.data] == ["h200 installed (from the quarter's start)", "h200 required (by the quarter's end)"]
    rows = [r for r in plan.timeline if r.hardware == "h200"]
    installed, required = fig.data
    # installed capacity is a step that begins at each quarter's start (x = q); the demand it covers is due at its end (x = q + 1)
    assert list(installed.x[:-1]) == [r.quarter_index for r in rows] and installed.line.shape == "hv"
    assert list(installed.y[:-1]) == [r.installed_accelerators for r in rows]
    assert list(required.x) == [r.quarter_index + 1 for r in rows]
    assert all(i >= r for i, r in zip(installed.y[:-1], required.y, strict=True))  # what is installed at the start covers the end
    assert list(fig.layout.xaxis.ticktext) == list(plan.quarters)
    assert "Accelerators" in fig.layout.yaxis.title.text and "Quarter" in fig.layout.xaxis.title.text
    assert len(timeline_figure(plan).data) == 2 * len(plan.options)
    with pytest.raises(KeyError):
        timeline_figure(plan, "tpu-v4")
