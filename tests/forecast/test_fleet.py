"""The vectorised fleet loop against a plain per-sample loop written from the method's description."""

from __future__ import annotations

import math

import numpy as np

from dcplan.forecast import supply as sp


def _loop(x: sp.FleetInputs, i: int) -> dict[str, list[float]]:
    """One sample, year by year: ship what the target needs, within chips (growing, faster after a shortfall) and capacity."""
    years = x.peak_w_per_h100e.shape[1]
    ship, cap, onsite, chip = [0.0] * years, [0.0] * years, [0.0] * years, [0.0] * years
    binding = [0] * years
    prev_cap = prev_on = 0.0
    units, short = x.chip_units_start[i], 0.0
    hr = x.headroom[i]
    for t in range(years):
        alive_h = sum(ship[v] * x.survival[i, t - v] for v in range(t))
        alive_w = sum(ship[v] * x.peak_w_per_h100e[i, v] * x.survival[i, t - v] for v in range(t))
        w = x.peak_w_per_h100e[i, t]
        if t <= x.t0:
            ship[t] = x.history_h100e[i, t]
            cap_t, on_t = max(prev_cap, (alive_w + ship[t] * w) * (1 + hr)), prev_on
            if t == x.t0:
                chip[t] = units * x.h100e_per_unit[i, t]
        else:
            want = max(x.target_h100e[i, t] - alive_h, 0.0)
            planned = units * x.chip_growth[i, t] * x.h100e_per_unit[i, t]
            short_now = (want - planned) / want if want > planned else 0.0
            units *= x.chip_growth[i, t] + x.chip_response[i] * 0.5 * (short + short_now)
            chip[t] = units * x.h100e_per_unit[i, t]
            feasible = min(want, chip[t])
            short = (want - feasible) / want if want > 0 else 0.0
            need = max((alive_w + feasible * w) * (1 + hr) - prev_cap, 0.0)
            grid = min(need, x.grid_add_max_w[i, t])
            extra = min(need - grid, x.onsite_add_max_w[i, t])
            cap_t, on_t = prev_cap + grid + extra, prev_on + extra
            ship[t] = min(feasible, max(cap_t - alive_w, 0.0) / w)
            binding[t] = sp.POWER if feasible - ship[t] > 1e-9 * max(want, 1) else sp.CHIPS if want - feasible > 1e-9 * max(want, 1) else sp.DEMAND
        cap[t], onsite[t], prev_cap, prev_on = cap_t, on_t, cap_t, on_t
    return {"ship": ship, "cap": cap, "onsite": onsite, "chip": chip, "binding": binding}


def test_vectorised_fleet_equals_the_plain_loop():
    rng = np.random.default_rng(3)
    n, years, t0 = 6, 10, 3
    life = rng.uniform(3, 7, n)
    x = sp.FleetInputs(
        t0=t0,
        history_h100e=rng.uniform(1, 3, (n, t0 + 1)) * np.array([1, 2, 4, 8.0]),
        target_h100e=np.concatenate([np.full((n, t0 + 1), np.nan), 20 * 1.6 ** np.arange(years - t0 - 1)[None, :] * rng.uniform(0.5, 2, (n, 1))], axis=1),
        peak_w_per_h100e=1500.0 / 1.25 ** np.arange(years)[None, :] * rng.uniform(0.9, 1.1, (n, 1)),
        survival=sp.weibull_survival(np.arange(years)[None, :] + 0.5, life[:, None], 3.0),
        chip_units_start=rng.uniform(1, 12, n),
        chip_growth=rng.uniform(1.0, 1.8, (n, years)),
        chip_response=rng.uniform(0, 1.5, n),
        h100e_per_unit=1.3 ** np.arange(years)[None, :] * np.ones((n, 1)),
        grid_add_max_w=rng.uniform(2e3, 2e4, (n, years)),
        onsite_add_max_w=rng.uniform(0, 5e3, (n, years)),
        headroom=rng.uniform(0, 0.3, n),
    )
    f = sp.run_fleet(x)
    codes = set()
    for i in range(n):
        ref = _loop(x, i)
        assert np.allclose(f.shipped_h100e[i], ref["ship"], rtol=1e-12)
        assert np.allclose(f.capacity_w[i], ref["cap"], rtol=1e-12) and np.allclose(f.onsite_capacity_w[i], ref["onsite"], rtol=1e-12)
        assert np.allclose(f.chip_cap_h100e[i], ref["chip"], rtol=1e-12)
        assert list(f.binding[i]) == ref["binding"]
        codes |= set(ref["binding"][t0 + 1 :])
    assert codes >= {sp.CHIPS, sp.POWER}, codes  # the case exercises both limits
    st = sp.stocks(f.shipped_h100e, [np.ones((n, years))], x.survival)[0]
    for i in range(n):
        for t in range(years):
            assert math.isclose(st[i, t], sum(f.shipped_h100e[i, v] * x.survival[i, t - v] for v in range(t + 1)), rel_tol=1e-12)


def _backlog_loop(required: np.ndarray, available: np.ndarray, t0: int, cap_years: float = 15.0) -> np.ndarray:
    """backlog_years written as the definition reads: for each sample and year, walk forward to the first year that catches up."""
    n, years = required.shape
    out = np.zeros((n, years))
    log_a = np.log(np.maximum(available, 1e-12))
    for i in range(n):
        last = max(log_a[i, -1] - log_a[i, -2], 1e-9)
        for t in range(t0 + 1, years):
            goal = math.log(max(required[i, t], 1e-12)) if not math.isnan(required[i, t]) else math.nan
            if log_a[i, t] >= goal:
                delay = 0.0
            else:
                tau = next((u for u in range(t + 1, years) if log_a[i, u] >= goal), None)
                if tau is None:
                    delay = years - 1 - t + (goal - log_a[i, -1]) / last
                else:
                    step = max(log_a[i, tau] - log_a[i, tau - 1], 1e-12)
                    delay = tau - t - 1 + min(max((goal - log_a[i, tau - 1]) / step, 0.0), 1.0)
            out[i, t] = min(delay, cap_years)
    return out


def test_backlog_years_equals_the_plain_loop():
    """The backlog, vectorised over samples and years, gives the walk-forward definition's numbers (misses, NaN and flat stocks included)."""
    rng = np.random.default_rng(0)
    for trial in range(120):
        n, years = int(rng.integers(1, 12)), int(rng.integers(2, 20))
        t0 = int(rng.integers(0, years))
        avail = np.exp(np.cumsum(rng.normal(0.2, 0.5, size=(n, years)), axis=1))
        req = avail * np.exp(rng.normal(0.3, 0.8, size=(n, years)))
        if trial % 5 == 0:
            req[rng.random((n, years)) < 0.1] = np.nan
        if trial % 7 == 0:
            avail[rng.random((n, years)) < 0.1] = 0.0
        if trial % 9 == 0:
            avail[:, -1] = avail[:, -2]
        with np.errstate(all="ignore"):
            assert np.array_equal(sp.backlog_years(req, avail, t0), _backlog_loop(req, avail, t0), equal_nan=True), trial
