"""Figures build from result objects, with units in titles and axes."""

from __future__ import annotations

from dcplan.figures.forecast import (
    backtest_chart,
    demand_split_chart,
    fan_chart,
    limits_chart,
    scenario_comparison,
    sobol_chart,
    tornado_chart,
)
from dcplan.forecast import run_forecast
from dcplan.forecast.backtest import run_backtest
from dcplan.forecast.sensitivity import sobol, tornado
from dcplan.io.market import read_observations
from dcplan.io.scenario import load_scenario


def test_figures(base):
    obs = read_observations()
    fc = run_forecast(base, samples=200, seed=0, years=(2022, 2035), observations=obs)
    fig = fan_chart(fc, "energy_twh")
    assert "TWh" in fig.layout.yaxis.title.text and len(fig.data) >= 3
    low = run_forecast(load_scenario("low"), samples=200, seed=0, years=(2022, 2035))
    assert len(scenario_comparison([fc, low], "capex_usd").data) >= 4
    t = tornado_chart(tornado(base, metric="energy_twh", year=2030))
    assert "TWh" in t.layout.xaxis.title.text
    bt = run_backtest(base, obs, vintages=(2021,), samples=200)
    b = backtest_chart(bt, current=fc)
    assert "TWh" in b.layout.yaxis.title.text and len(b.data) >= 3
    lim = limits_chart(fc)
    assert len(lim.data) == len(fc.limits) + 2 and "years" in lim.layout.yaxis2.title.text
    split = demand_split_chart(fc)
    assert [d.name for d in split.data] == ["LLM serving (inference)", "training and research", "AI outside the LLM chain"]
    s = sobol_chart(sobol(base, metric="energy_twh", year=2030, base_samples=16, n_resamples=20), top=5)
    assert len(s.data) == 2 and s.data[0].error_x.array is not None
