"""Tornado, Sobol estimators and the vintage backtest."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast.backtest import run_backtest, vintage_scenario
from dcplan.forecast.sensitivity import sobol, sobol_estimates, tornado
from dcplan.io.market import read_observations


def test_sobol_estimators_on_a_linear_model():
    # Y = sum a_i X_i, X_i ~ U(0,1) independent: S_i = ST_i = a_i^2 / sum a^2
    rng = np.random.default_rng(0)
    a = np.array([4.0, 2.0, 1.0, 0.0])
    n = 20000
    A, B = rng.random((n, 4)), rng.random((n, 4))
    f = lambda x: x @ a  # noqa: E731
    f_ab = []
    for i in range(4):
        abi = A.copy()
        abi[:, i] = B[:, i]
        f_ab.append(f(abi))
    s1, st, _ = sobol_estimates(f(A), f(B), np.array(f_ab))
    expected = a**2 / np.sum(a**2)
    assert np.allclose(s1, expected, atol=0.03) and np.allclose(st, expected, atol=0.03)


def test_tornado_ranks_and_ignores_what_does_not_matter(base):
    t = tornado(base, metric="energy_twh", year=2030)
    names = [b.name for b in t.bars]
    assert t.bars[0].swing >= t.bars[-1].swing
    carbon = [b for b in t.bars if b.name == "grid_intensity_change_per_year"][0]
    assert carbon.swing == 0.0
    assert names.index("nonai_growth_per_year") < names.index("discount_rate_frac")
    e = tornado(base, metric="emissions_tco2e", year=2030)
    assert [b for b in e.bars if b.name == "grid_intensity_change_per_year"][0].swing > 0


def test_sobol_runs_on_the_chain(base):
    s = sobol(base, metric="energy_twh", year=2028, base_samples=64, seed=1)
    assert len(s.first_order) == len(base.uncertain()) and s.variance > 0
    top = s.names[int(np.argmax(s.total_order))]
    assert top in ("nonai_growth_per_year", "grid_additions_start_mw", "accelerator_load_frac", "nonai_energy_anchor_twh")


def test_backtest_scores_out_of_sample_actuals(base):
    bt = run_backtest(base, read_observations(), vintages=(2021,), samples=400, seed=0)
    v = bt.vintages[0]
    assert all(c.year > 2021 for c in v.comparisons)
    assert 0 <= v.coverage_frac <= 1 and v.median_abs_log_error is not None
    world24 = [c for c in v.scored if c.metric == "energy_twh" and c.region == "world" and c.year == 2024][0]
    assert world24.p10 < world24.p50 < world24.p90
    d = bt.to_dict()
    assert d["band"] == "P10-P90" and d["n_scored"] == len(v.scored)


def test_vintage_scenario_truncates_history(base):
    s = vintage_scenario(base, 2020)
    assert s.history.years[-1] == 2020 and s.demand_mode == "trend" and s.start_year == 2020
    with pytest.raises(InputError, match="vintage"):
        vintage_scenario(base, 2030)
