"""Figures of a plan: pure, titled, axes labelled with units, one trace per quantity shown."""

from __future__ import annotations

import pytest

from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure


def test_cost_breakdown_stacks_to_the_tco(sample_plans):
    plan = sample_plans["portfolio"]
    fig = cost_breakdown_figure(plan)
    assert "cost of ownership" in fig.layout.title.text and "USD per year" in fig.layout.yaxis.title.text
    totals = [sum(tr.y[i] for tr in fig.data) for i in range(len(plan.options))]
    assert totals == pytest.approx([o.tco_usd_per_year for o in plan.options])
    assert fig.layout.barmode == "stack"


def test_capacity_figure_shows_accelerators_and_megawatts(sample_plans):
    plan = sample_plans["train-70b"]
    fig = capacity_figure(plan)
    assert "Accelerators" in fig.layout.title.text
    assert "count" in fig.layout.yaxis.title.text and "MW" in fig.layout.yaxis2.title.text
    it = next(tr for tr in fig.data if tr.name.startswith("IT power"))
    assert list(it.y) == pytest.approx([o.it_mw for o in plan.options])


def test_timeline_figure_installed_versus_required(sample_plans):
    plan = sample_plans["chat-70b"]
    fig = timeline_figure(plan, "h200")
    assert [tr.name for tr in fig.data] == ["h200 installed", "h200 required"]
    assert list(fig.data[0].x) == list(plan.quarters)
    assert "Accelerators" in fig.layout.yaxis.title.text and "Quarter" in fig.layout.xaxis.title.text
    assert len(timeline_figure(plan).data) == 2 * len(plan.options)
    with pytest.raises(KeyError):
        timeline_figure(plan, "tpu-v4")
