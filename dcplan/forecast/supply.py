"""The vintage fleet: shipments limited by chip supply and grid capacity, retirement, backlog.

Stock_g(t) = sum_tau Ship(tau) S(t - tau) with S a Weibull survival of median life L
(Epoch AI ai-compute-users builds fleets "in vintage layers"). Each forecast year
ships what closes the gap between the H100-equivalents required ``planning_lead_years`` ahead
(capacity is ordered before the demand it serves) and those surviving, at most what chip
supply allows and what the connected critical IT capacity can power; a gap that remains is the
backlog, carried because the requirement is a stock target (a system-dynamics queue, as in
Schneider Electric's AI-demand model, Paccou & Wijnhoven 2024). Capacity grows by at most the
grid additions of the year the connection was started, ``construction_lag_years`` earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN2 = float(np.log(2.0))


def weibull_survival(age_years: np.ndarray, median_life_years: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Share of a vintage still in service at ``age_years``: S = exp(-ln2 (a/L)^k), S(L) = 0.5."""
    return np.exp(-LN2 * (np.maximum(age_years, 0.0) / median_life_years) ** shape)


@dataclass(frozen=True, kw_only=True, eq=False)
class Fleet:
    """Year-by-year fleet arrays, each [n, years]; stocks are at the end of the year."""

    shipped_h100e: np.ndarray
    required_h100e: np.ndarray
    stock_h100e: np.ndarray
    stock_units: np.ndarray
    stock_peak_w: np.ndarray
    """Peak IT power of the surviving fleet (server, network, storage) [W]."""
    stock_value_usd: np.ndarray
    """Accelerator spend still in service [USD]."""
    capacity_w: np.ndarray
    """Critical IT capacity built for AI [W]."""
    capacity_added_w: np.ndarray
    units_by_generation: dict[str, np.ndarray]


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetInputs:
    """Everything the fleet loop reads; arrays [n, years] unless noted."""

    t0: int
    """Index of the start year (last history year)."""
    history_h100e: np.ndarray
    """[n, t0 + 1] shipments of the history years."""
    required_h100e: np.ndarray | None
    """Chain mode: required stock per year (NaN in history years). None in trend mode."""
    trend_scale: np.ndarray | None
    """Trend mode [n]: share of the trailing 3-year growth that persists."""
    h100e_per_unit: np.ndarray
    peak_w_per_h100e: np.ndarray
    price_usd_per_h100e: np.ndarray
    survival: np.ndarray
    """[n, years] S(age + 0.5) for age = 0, 1, ...: vintages ship mid-year."""
    chip_cap_h100e: np.ndarray
    grid_add_max_w: np.ndarray
    headroom: np.ndarray
    """[n] built capacity / installed peak load - 1."""
    lead_years: np.ndarray
    """[n] the fleet built in year t targets the requirement of year t + lead (capacity built ahead)."""
    generation_of_vintage: tuple[str, ...]


def _trend_required(stock: np.ndarray, t0: int, scale: np.ndarray, n_years: int) -> np.ndarray:
    """Required stock extrapolating the trailing 3-year growth: g = 1 + (g3 - 1) x scale."""
    back = max(t0 - 3, 0)
    span = max(t0 - back, 1)
    g3 = (np.maximum(stock[:, t0], 1e-9) / np.maximum(stock[:, back], 1e-9)) ** (1.0 / span)
    g = 1.0 + (g3 - 1.0) * scale
    k = np.arange(n_years) - t0
    return stock[:, t0 : t0 + 1] * g[:, None] ** np.maximum(k, 0)[None, :]


def ahead(required: np.ndarray, lead_years: np.ndarray, first: int) -> np.ndarray:
    """Requirement ``lead_years`` ahead: log-linear between whole years, the last year's growth beyond the horizon."""
    n, years = required.shape
    r = np.maximum(required[:, first:], 1e-12)
    logr = np.log(r)
    last_growth = logr[:, -1:] - logr[:, -2:-1] if r.shape[1] > 1 else np.zeros((n, 1))
    x = np.arange(r.shape[1])[None, :] + lead_years[:, None]
    lo = np.floor(x).astype(int)
    frac = x - lo
    k = r.shape[1] - 1
    at = lambda i: np.take_along_axis(logr, np.minimum(i, k), 1) + np.maximum(i - k, 0) * last_growth  # noqa: E731
    out = required.copy()
    out[:, first:] = np.exp(at(lo) * (1 - frac) + at(lo + 1) * frac)
    return out


def _toeplitz(survival: np.ndarray) -> np.ndarray:
    """[n, t, v] = survival[n, t - v] for v <= t, else 0: the survival matrix of each vintage."""
    n, years = survival.shape
    # windows of [s reversed, zeros]: window Y-1-t holds s[t], s[t-1], ..., s[0], 0, ... (a view, no gather)
    padded = np.concatenate([survival[:, ::-1], np.zeros((n, years - 1))], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, years, axis=1)
    return windows[:, ::-1, :]


def run_fleet(x: FleetInputs) -> Fleet:
    """Step the fleet through the years (a loop over years, vectorised over samples)."""
    n, years = x.h100e_per_unit.shape
    ship = np.zeros((n, years))
    cap, added = np.zeros((n, years)), np.zeros((n, years))
    required = np.full((n, years), np.nan) if x.required_h100e is None else x.required_h100e.copy()
    target = np.full((n, years), np.nan) if x.required_h100e is None else ahead(required, x.lead_years, x.t0)
    units_per_h = 1.0 / x.h100e_per_unit
    gens = list(dict.fromkeys(x.generation_of_vintage))
    masks = [np.array([g == gv for gv in x.generation_of_vintage], dtype=float)[None, :] for g in gens]
    # layers: what one shipped H100e carries: itself, units, peak W, spend, units of each generation
    layers = np.stack([np.ones((n, years)), units_per_h, x.peak_w_per_h100e, x.price_usd_per_h100e] + [units_per_h * m for m in masks])
    # the year loop needs only H100e (layer 0) and peak W (layer 2) of the surviving fleet; the
    # other layers follow from the shipments afterwards in one product (same sums, fewer passes)
    live = layers[[0, 2]]
    shipped_live = np.zeros_like(live)
    prev_cap = np.zeros(n)
    for t in range(years):
        surv = np.einsum("knv,nv->kn", shipped_live[:, :, :t], x.survival[:, t:0:-1]) if t else np.zeros((2, n))
        if t <= x.t0:
            ship[:, t] = x.history_h100e[:, t]
            load = surv[1] + ship[:, t] * x.peak_w_per_h100e[:, t]
            cap_t = np.maximum(prev_cap, load * (1.0 + x.headroom))
        else:
            if t == x.t0 + 1 and x.trend_scale is not None:
                stock0 = np.einsum("nv,ntv->nt", live[0][:, : x.t0 + 1] * ship[:, : x.t0 + 1], _toeplitz(x.survival)[:, :, : x.t0 + 1])
                required[:, x.t0 :] = _trend_required(stock0, x.t0, x.trend_scale, years)[:, x.t0 :]
                target = ahead(required, x.lead_years, x.t0)
            desired = np.maximum(target[:, t] - surv[0], 0.0)
            feasible = np.minimum(desired, x.chip_cap_h100e[:, t])
            cap_target = (surv[1] + feasible * x.peak_w_per_h100e[:, t]) * (1.0 + x.headroom)
            cap_t = prev_cap + np.clip(cap_target - prev_cap, 0.0, x.grid_add_max_w[:, t])
            room = np.maximum(cap_t - surv[1], 0.0) / x.peak_w_per_h100e[:, t]
            ship[:, t] = np.minimum(feasible, room)
        shipped_live[:, :, t] = live[:, :, t] * ship[None, :, t]
        added[:, t] = cap_t - prev_cap
        cap[:, t] = prev_cap = cap_t
    # stock of every layer in year t: shipments of each vintage v <= t times their survival S(t - v)
    stocks = np.einsum("knv,ntv->knt", layers * ship[None, :, :], _toeplitz(x.survival), optimize=True)
    return Fleet(
        shipped_h100e=ship,
        required_h100e=required,
        stock_h100e=stocks[0],
        stock_units=stocks[1],
        stock_peak_w=stocks[2],
        stock_value_usd=stocks[3],
        capacity_w=cap,
        capacity_added_w=added,
        units_by_generation={g: stocks[4 + i] for i, g in enumerate(gens)},
    )
