"""Tornado, Sobol indices (scipy) with intervals, and the vintage backtest scored on independent points."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast.backtest import DEFAULT_VINTAGES, run_backtest, vintage_scenario
from dcplan.forecast.sensitivity import sobol, tornado
from dcplan.io.market import read_observations


def test_tornado_ranks_and_ignores_what_does_not_matter(base):
    t = tornado(base, metric="energy_twh", year=2030)
    names = [b.name for b in t.bars]
    assert t.bars[0].swing >= t.bars[-1].swing
    assert [b for b in t.bars if b.name == "grid_intensity_change_per_year"][0].swing == 0.0
    assert names.index("dialogue_tokens_per_use") < names.index("discount_rate_frac")
    e = tornado(base, metric="emissions_tco2e", year=2030)
    assert [b for b in e.bars if b.name == "grid_intensity_change_per_year"][0].swing > 0


def test_sobol_indices_with_intervals_on_the_chain(base):
    s = sobol(base, metric="energy_twh", year=2030, base_samples=64, seed=1, n_resamples=50)
    assert s.base_samples == 64 and len(s.first_order) == len(base.uncertain()) and s.variance > 0
    idx = {n: i for i, n in enumerate(s.names)}
    zero = idx["grid_intensity_change_per_year"]  # carbon cannot move energy
    assert s.total_order[zero] == pytest.approx(0.0, abs=1e-12)
    top = int(np.argmax(s.total_order))
    assert s.total_order[top] > 0.05 and s.total_order_ci[top][0] <= s.total_order[top] <= s.total_order_ci[top][1]
    d = s.to_dict()
    assert d["indices"][0]["total_order"] >= d["indices"][-1]["total_order"] and len(d["indices"][0]["first_order_ci"]) == 2
    assert sobol(base, metric="energy_twh", year=2030, base_samples=50, seed=1, n_resamples=20).base_samples == 64  # rounded up to 2^k


def test_backtest_scores_only_independent_points(base):
    bt = run_backtest(base, read_observations(), vintages=(2022,), samples=400, seed=0)
    v = bt.vintages[0]
    assert all(c.year > 2022 for c in v.comparisons)
    assert v.scored and all(c.independent and c.kind == "actual" and c.role == "check" and c.scope == "like-for-like" for c in v.scored)
    scored = {(c.metric, c.region, c.year) for c in v.scored}
    assert ("energy_twh", "china", 2024) not in scored  # set the regional split: an anchor, never scored
    assert ("accelerator_spend_usd", "world", 2024) in scored and ("hyperscaler_capex_usd", "world", 2025) in scored
    assert 0 <= v.coverage_frac <= 1 and v.bias_frac is not None
    d = bt.to_dict()
    assert d["band"] == "P10-P90" and d["n_scored"] == len(v.scored) and "bias_frac" in d


def test_vintage_scenario_truncates_history_and_keeps_the_chain(base):
    s = vintage_scenario(base, 2020)
    assert s.history.years[-1] == 2020 and s.start_year == 2020 and s.demand_anchor_year == base.demand_anchor_year
    assert DEFAULT_VINTAGES == (2019, 2020, 2022)
    with pytest.raises(InputError, match="vintage"):
        vintage_scenario(base, 2030)


def test_sobol_intervals_repeat_with_the_seed_and_leave_numpys_state_alone(base):
    """scipy's bootstrap resamples from numpy's global state: sobol seeds it for the call, so one seed gives one set of
    intervals, and the caller's global random stream is where it was."""
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    one = sobol(base, metric="energy_twh", year=2030, base_samples=16, seed=4, n_resamples=20)
    assert np.random.random() == expected_next
    two = sobol(base, metric="energy_twh", year=2030, base_samples=16, seed=4, n_resamples=20)
    assert one.first_order_ci == two.first_order_ci and one.total_order_ci == two.total_order_ci
