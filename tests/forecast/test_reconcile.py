"""The start-year reconciliation and the conditioning on the start year's fleet."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.forecast import chain as ch
from dcplan.forecast.conditioning import effective_sample_size, start_fit_log_ratio, systematic_resample, weights
from dcplan.forecast.reconcile import reconcile
from dcplan.forecast.sampling import draw


def test_reconcile_reports_the_fleet_beside_the_chain(base):
    r = reconcile(base, samples=600, seed=0)
    assert r.year == 2024
    lo, mid, hi = r.installed_h100e
    assert lo < mid < hi and 3e6 < mid < 9e6  # 2024 fleet built from spend (Epoch AI: ~4 M NVIDIA H100e alone, Feb 2025)
    assert r.target_over_installed[1] == pytest.approx(r.target_h100e[1] / mid, rel=0.35)
    assert 0.8 < r.target_over_installed[1] < 3.0  # conditioned on the start year being supply-bound (ratio ~1.5)
    assert sum(v[1] for v in r.share.values()) == pytest.approx(1.0, abs=0.15)  # medians of shares that sum to 1 per sample
    assert r.share["inference"][1] + r.share["training"][1] > 0.2  # the LLM chain explains a real part of 2024, not ~12 %
    d = r.to_dict()
    assert set(d["share"]) == {"inference", "training", "other"}


def test_systematic_resampling_keeps_weights_in_expectation():
    rng = np.random.default_rng(0)
    w = np.array([0.5, 0.25, 0.125, 0.125])
    idx = systematic_resample(w, rng)
    counts = np.bincount(idx, minlength=4)
    assert counts.tolist() == [2, 1, 0, 1] or counts.tolist() == [2, 1, 1, 0]
    assert effective_sample_size(np.full(4, 0.25)) == pytest.approx(4.0) and effective_sample_size(np.array([1.0, 0, 0, 0])) == 1.0
    assert np.allclose(weights(np.array([0.0, 0.4, -0.4]), np.array(0.4)) * (1 + 2 * np.exp(-0.5)), [1, np.exp(-0.5), np.exp(-0.5)])


def test_conditioning_pulls_the_start_year_towards_the_observed_fleet(base):
    setup = ch.setup_from(base)
    d = draw(base, 3000, np.random.default_rng(1))
    before = start_fit_log_ratio(d, setup) - np.log(1.5)
    from dcplan.forecast.conditioning import condition

    after_draws, _, ess = condition(d, setup, np.random.default_rng(2))
    after = start_fit_log_ratio(after_draws, setup) - np.log(1.5)
    assert np.abs(after).mean() < np.abs(before).mean()
    assert 0.05 * 3000 < ess < 3000  # informative, but far from degenerate
