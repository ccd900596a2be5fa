"""The vintage fleet: shipments within chip supply and connected capacity, retirement, binding limits, backlog.

Stock(t) = sum_v Ship(v) S(t - v) with S a Weibull survival of median life L (Epoch AI builds
fleets "in vintage layers": ai-chip-counts and ai-compute-users). Each forecast year ships what
closes the gap between the H100-equivalents required ``planning_lead_years`` ahead (capacity is
ordered before the demand it serves) and those surviving, at most what chip supply allows and
what the connected critical IT capacity can power. Chip supply is a packaging-limited path:
accelerator packages producible per year grow from the start year's shipments with the
CoWoS/HBM capacity growth, tapering (TSMC doubled CoWoS capacity in 2024 and again in 2025 and
guided further growth in 2026: TSMC Q3 2024 earnings call, via TrendForce and MoneyDJ), and
faster when orders exceed it, half with a year's delay and half within the year (TSMC raised
CoWoS capacity quarter by quarter in 2023: TrendForce, Sep 2023; the expansions answered
NVIDIA's backlog: NVIDIA 10-Q Q3 FY2025, demand to exceed supply for several quarters). Capacity
grows by at most the grid connections of :mod:`dcplan.forecast.grid`, then on-site generation.
Which limit binds is recorded per sample and year; demand not met is a backlog, reported as the
years until the fleet catches up with it (:func:`backlog_years`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN2 = float(np.log(2.0))

#: Codes of ``Fleet.binding``: what set a forecast year's shipments.
DEMAND, CHIPS, POWER = 0, 1, 2
LIMIT_NAMES = {CHIPS: "chip supply (packaging, HBM)", POWER: "grid connections and on-site power"}


def weibull_survival(age_years: np.ndarray, median_life_years: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Share of a vintage still in service at ``age_years``: S = exp(-ln2 (a/L)^k), S(L) = 0.5."""
    return np.exp(-LN2 * (np.maximum(age_years, 0.0) / median_life_years) ** shape)


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetInputs:
    """Everything the fleet loop reads; arrays [n, years] unless noted."""

    t0: int
    """Index of the start year (last history year)."""
    history_h100e: np.ndarray
    """[n, t0 + 1] shipments of the history years."""
    target_h100e: np.ndarray
    """Stock wanted at the end of each year (the requirement ``planning_lead_years`` ahead); history years unused."""
    peak_w_per_h100e: np.ndarray
    """Peak IT power per H100e of each vintage (server x IT overhead) [W]."""
    survival: np.ndarray
    """[n, years] S(age + 0.5) for age = 0, 1, ...: vintages ship mid-year."""
    chip_units_start: np.ndarray
    """[n] accelerator packages producible in the start year (its shipments x (1 + headroom))."""
    chip_growth: np.ndarray
    """[n, years] packaging capacity growth into each year (the tapered path)."""
    chip_response: np.ndarray
    """[n] extra growth per unit of chip shortfall (share of orders not made): half last year's, half this year's before expansion."""
    h100e_per_unit: np.ndarray
    grid_add_max_w: np.ndarray
    onsite_add_max_w: np.ndarray
    headroom: np.ndarray
    """[n] built capacity / installed peak load - 1."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Fleet:
    """Year-by-year results of the loop, each [n, years]; stocks and capacity at the end of the year."""

    shipped_h100e: np.ndarray
    chip_cap_h100e: np.ndarray
    """Producible H100e each year from the start year on (0 before)."""
    desired_h100e: np.ndarray
    """What demand asked to ship (0 in history years)."""
    binding: np.ndarray
    """DEMAND, CHIPS or POWER: what set the year's shipments (DEMAND in history years)."""
    short_chips_h100e: np.ndarray
    """Desired shipments chip supply could not make."""
    short_power_h100e: np.ndarray
    """Shipments made possible by chips that connected capacity could not power."""
    capacity_w: np.ndarray
    """Critical IT capacity built for AI [W] (grid and on-site)."""
    capacity_added_w: np.ndarray
    onsite_capacity_w: np.ndarray
    onsite_added_w: np.ndarray


def toeplitz(survival: np.ndarray) -> np.ndarray:
    """[n, t, v] = survival[n, t - v] for v <= t, else 0: the survival matrix of each vintage (a strided view)."""
    n, years = survival.shape
    padded = np.concatenate([survival[:, ::-1], np.zeros((n, years - 1))], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, years, axis=1)
    return windows[:, ::-1, :]


def stocks(shipped_h100e: np.ndarray, per_h100e: list[np.ndarray], survival: np.ndarray) -> np.ndarray:
    """[k, n, years] year-end stock of each layer: sum_v Ship(v) x layer(v) x S(t - v) (one batched matrix product per sample)."""
    return stocks_of([x * shipped_h100e for x in per_h100e], survival)


def stocks_of(shipped: list[np.ndarray], survival: np.ndarray) -> np.ndarray:
    """[k, n, years] year-end stock of each layer of amounts shipped per vintage: sum_v x(v) S(t - v)."""
    layers = np.stack([np.broadcast_to(x, survival.shape) for x in shipped], axis=1)  # [n, k, v]
    return np.matmul(layers, toeplitz(survival).transpose(0, 2, 1)).transpose(1, 0, 2)


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


def run_fleet(x: FleetInputs) -> Fleet:
    """Step the fleet through the years (a loop over years, vectorised over samples).

    Inside the loop the arrays are year-major ([years, n]: one year's samples contiguous, each
    step reads and writes whole rows); they come back [n, years].
    """
    n, years = x.peak_w_per_h100e.shape
    rows = lambda a: np.ascontiguousarray(a.T)  # noqa: E731
    w_all, target, growth, per_unit = rows(x.peak_w_per_h100e), rows(x.target_h100e), rows(x.chip_growth), rows(x.h100e_per_unit)
    grid_max, onsite_max, history = rows(x.grid_add_max_w), rows(x.onsite_add_max_w), rows(x.history_h100e)
    ship, desired = np.zeros((years, n)), np.zeros((years, n))
    short_c, short_p = np.zeros((years, n)), np.zeros((years, n))
    binding = np.zeros((years, n), dtype=np.int8)
    cap, added, onsite, onsite_added, chip_cap = (np.zeros((years, n)) for _ in range(5))
    units, short_frac = x.chip_units_start.copy(), np.zeros(n)
    live = np.zeros((2, n, years))  # surviving-stock layers the loop needs: H100e and peak W per shipped H100e
    prev_cap, prev_onsite = np.zeros(n), np.zeros(n)
    hr = x.headroom
    for t in range(years):
        surv = np.einsum("knv,nv->kn", live[:, :, :t], x.survival[:, t:0:-1]) if t else np.zeros((2, n))
        w_t = w_all[t]
        if t <= x.t0:
            ship[t] = history[t]
            cap_t = np.maximum(prev_cap, (surv[1] + ship[t] * w_t) * (1.0 + hr))
            on_t = prev_onsite
            if t == x.t0:
                chip_cap[t] = units * per_unit[t]
        else:
            # packaging capacity grows on its path, and faster when orders exceed it: capacity is added
            # quarter by quarter, so half the response follows last year's shortfall, half this year's
            want = np.maximum(target[t] - surv[0], 0.0)
            planned = units * growth[t] * per_unit[t]
            short_now = np.where(want > planned, (want - planned) / np.where(want > 0, want, 1.0), 0.0)
            units = units * (growth[t] + x.chip_response * 0.5 * (short_frac + short_now))
            chip_cap[t] = units * per_unit[t]
            feasible = np.minimum(want, chip_cap[t])
            short_frac = np.where(want > 0, (want - feasible) / np.where(want > 0, want, 1.0), 0.0)
            need = np.maximum((surv[1] + feasible * w_t) * (1.0 + hr) - prev_cap, 0.0)
            grid = np.minimum(need, grid_max[t])
            extra = np.minimum(need - grid, onsite_max[t])
            cap_t = prev_cap + grid + extra
            on_t = prev_onsite + extra
            room = np.maximum(cap_t - surv[1], 0.0) / w_t
            ship[t] = np.minimum(feasible, room)
            desired[t] = want
            short_c[t] = want - feasible
            short_p[t] = feasible - ship[t]
            binding[t] = np.where(short_p[t] > 1e-9 * np.maximum(want, 1.0), POWER, np.where(short_c[t] > 1e-9 * np.maximum(want, 1.0), CHIPS, DEMAND))
        live[0, :, t] = ship[t]
        live[1, :, t] = ship[t] * w_t
        added[t] = cap_t - prev_cap
        onsite_added[t] = on_t - prev_onsite
        cap[t], onsite[t] = cap_t, on_t
        prev_cap, prev_onsite = cap_t, on_t
    return Fleet(shipped_h100e=rows(ship), chip_cap_h100e=rows(chip_cap), desired_h100e=rows(desired), binding=rows(binding), short_chips_h100e=rows(short_c),
                 short_power_h100e=rows(short_p), capacity_w=rows(cap), capacity_added_w=rows(added), onsite_capacity_w=rows(onsite), onsite_added_w=rows(onsite_added))


def backlog_years(required: np.ndarray, available: np.ndarray, t0: int, cap_years: float = 15.0) -> np.ndarray:
    """Delay until the fleet serves each year's requirement: first (fractional) year tau >= t with
    available(tau) >= required(t), minus t [years]; 0 where it is met, history years 0.

    Between whole years the available stock is interpolated log-linearly; past the horizon it
    grows at its last year's rate (capped at ``cap_years``).
    """
    n, years = required.shape
    out = np.zeros((n, years))
    ts = np.arange(t0 + 1, years)
    if len(ts) == 0:
        return out
    log_a = np.log(np.maximum(available, 1e-12))
    last = np.maximum(log_a[:, -1] - log_a[:, -2], 1e-9)
    goal = np.log(np.maximum(required[:, ts], 1e-12))  # [n, forecast years]
    # the first year tau >= t whose stock reaches year t's goal, all (sample, t) at once
    reach = (log_a[:, None, :] >= goal[:, :, None]) & (np.arange(years)[None, :] >= ts[:, None])
    hit = reach.any(axis=2)
    tau = np.where(hit, reach.argmax(axis=2), ts[None, :])
    now = tau == ts[None, :]  # met in its own year (or never met: handled below)
    prev = np.maximum(tau - 1, 0)
    lo, at = np.take_along_axis(log_a, prev, 1), np.take_along_axis(log_a, tau, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        later = tau - ts[None, :] - 1 + np.clip((goal - lo) / np.maximum(at - lo, 1e-12), 0.0, 1.0)
        beyond = years - 1 - ts[None, :] + (goal - log_a[:, -1:]) / last[:, None]
    delay = np.where(~hit, beyond, np.where(now, 0.0, later))
    out[:, ts] = np.minimum(delay, cap_years)
    return out
