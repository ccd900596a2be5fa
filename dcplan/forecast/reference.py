"""A straightforward per-sample Python loop over the same equations as ``chain.run_chain``.

Kept as the reference the vectorised chain is tested against (identical numbers for a few
samples, tests/forecast/test_reference.py) and timed against (scripts/bench_forecast.py). Not
used by the forecast itself.
"""

from __future__ import annotations

import math

import numpy as np

from dcplan.forecast.chain import ChainSetup
from dcplan.forecast.scenario import REGIONS, SEGMENTS
from dcplan.units import HOURS_PER_YEAR, SECONDS_PER_YEAR


def _g(d: dict, name: str, i: int, k: int) -> float:
    """Driver ``name`` of sample ``i`` in forecast year ``k`` (0-based; history years use k = 0)."""
    v = d[name]
    return float(v[i, min(max(k, 0), v.shape[1] - 1)] if v.ndim == 2 else v[i])


def run_one(d: dict, s: ChainSetup, i: int) -> dict[str, list[float]]:
    """Every headline metric of sample ``i``, one value per year."""
    g = lambda name, k=0: _g(d, name, i, k)  # noqa: E731
    years = [int(y) for y in s.years]
    ny, t0 = len(years), s.t0
    nf = ny - t0 - 1
    # vintages
    perf, fpw = g("chip_perf_growth_per_year"), g("chip_flops_per_watt_growth_per_year")
    h_unit = [s.base_h100e_per_unit[t] * perf ** s.years_extrapolated[t] for t in range(ny)]
    w_per_h = [s.base_server_power_w[t] * (perf / fpw) ** s.years_extrapolated[t] * g("it_overhead_factor") / h_unit[t] for t in range(ny)]
    price = [g("usd_per_h100e") / g("price_performance_gain_per_year") ** (years[t] - s.price_reference_year) for t in range(ny)]
    life, shape = g("accelerator_median_life_years"), g("accelerator_life_weibull_shape")
    surv = [math.exp(-math.log(2.0) * ((a + 0.5) / life) ** shape) for a in range(ny)]
    hist = [s.gpu_spend_usd[t] / (1 - g("custom_accelerator_spend_frac")) / price[t] for t in range(t0 + 1)]
    installed0 = sum(hist[v] * surv[t0 - v] for v in range(t0 + 1))
    # demand (chain mode)
    req = [math.nan] * ny
    tok_idx = act_idx = eff_idx = fr_idx = oth_idx = 1.0
    fpt = [math.nan] * ny
    for k in range(nf + 1):
        t = t0 + k
        if k:
            tok_idx *= 1 + (g("tokens_per_user_growth_per_year", k - 1) - 1) * 0.5 ** ((k - 1) / g("token_growth_halflife_years"))
            act_idx *= g("served_active_params_growth_per_year", k - 1)
            eff_idx *= g("inference_efficiency_gain_per_year", k - 1)
            fr_idx *= 1 + (g("frontier_compute_growth_per_year", k - 1) - 1) * 0.5 ** ((k - 1) / g("frontier_growth_halflife_years"))
            oth_idx *= g("other_ai_compute_growth_per_year", k - 1)
        tokens = 0.0
        for seg in SEGMENTS:
            p, q = g(f"{seg}_bass_p"), g(f"{seg}_bass_q")
            tau = max(years[t] + 0.5 - g(f"{seg}_adoption_start_year"), 0.0)
            e = math.exp(-(p + q) * tau)
            tokens += g(f"{seg}_market_size_users") * (1 - e) / (1 + q / p * e) * g(f"{seg}_tokens_per_user_per_day")
        tokens *= tok_idx * 365.25
        fpt[t] = 2 * g("served_active_params") * act_idx * (1 + g("attention_overhead_ratio")) / eff_idx
        c_train = g("frontier_run_flop") * fr_idx * g("frontier_runs_per_year") * g("experiment_compute_multiplier")
        llm = (tokens * fpt[t] / g("inference_utilisation_frac") + c_train / g("training_utilisation_frac")) / (s.peak_flops_per_s * SECONDS_PER_YEAR)
        if k == 0:
            llm0 = llm
        req[t] = llm + max(installed0 - llm0, 0.0) * oth_idx
    # requirement `lead` years ahead
    lead = g("planning_lead_years")
    logr = [math.log(max(r, 1e-12)) for r in req[t0:]]
    last = logr[-1] - logr[-2]

    def log_at(j: int) -> float:
        return logr[min(j, len(logr) - 1)] + max(j - (len(logr) - 1), 0) * last

    target = [math.nan] * ny
    for k in range(nf + 1):
        x = k + lead
        lo = math.floor(x)
        target[t0 + k] = math.exp(log_at(lo) * (1 - (x - lo)) + log_at(lo + 1) * (x - lo))
    # grid limit
    g0, lag = g("grid_additions_start_mw"), g("construction_lag_years")
    cum = [0.0]
    for k in range(1, nf):
        cum.append(cum[-1] + math.log(g("grid_additions_growth_per_year", k - 1)))
    grid = [0.0] * ny
    for k in range(nf):
        x = k - lag
        if x < 0:
            la = x * math.log(g("grid_additions_growth_per_year", 0))
        else:
            lo = min(int(math.floor(x)), nf - 1)
            fr = min(max(x - lo, 0.0), 1.0)
            la = cum[lo] * (1 - fr) + cum[min(lo + 1, nf - 1)] * fr
        grid[t0 + 1 + k] = g0 * 1e6 * math.exp(la)
    # chip cap
    cap_units = hist[t0] / h_unit[t0] * (1 + g("chip_supply_headroom_frac"))
    chip = [0.0] * ny
    for k in range(nf + 1):
        if k:
            cap_units *= g("chip_supply_growth_per_year", k - 1)
        chip[t0 + k] = cap_units * h_unit[t0 + k]
    # fleet loop
    ship, stock_h, stock_w, stock_u, stock_v, cap, added = ([0.0] * ny for _ in range(7))
    prev_cap, headroom = 0.0, g("capacity_headroom_frac")
    for t in range(ny):
        sh = sum(ship[v] * surv[t - v] for v in range(t))
        sw = sum(ship[v] * w_per_h[v] * surv[t - v] for v in range(t))
        su = sum(ship[v] / h_unit[v] * surv[t - v] for v in range(t))
        sv = sum(ship[v] * price[v] * surv[t - v] for v in range(t))
        if t <= t0:
            ship[t] = hist[t]
            cap_t = max(prev_cap, (sw + ship[t] * w_per_h[t]) * (1 + headroom))
        else:
            feasible = min(max(target[t] - sh, 0.0), chip[t])
            cap_t = prev_cap + min(max((sw + feasible * w_per_h[t]) * (1 + headroom) - prev_cap, 0.0), grid[t])
            ship[t] = min(feasible, max(cap_t - sw, 0.0) / w_per_h[t])
        stock_h[t] = sh + ship[t] * surv[0]
        stock_w[t] = sw + ship[t] * w_per_h[t] * surv[0]
        stock_u[t] = su + ship[t] / h_unit[t] * surv[0]
        stock_v[t] = sv + ship[t] * price[t] * surv[0]
        added[t], cap[t], prev_cap = cap_t - prev_cap, cap_t, cap_t
    # power, energy, money, carbon
    w_twh = 1e12 / HOURS_PER_YEAR
    out: dict[str, list[float]] = {k: [] for k in ("h100e_installed", "accelerators_installed", "shipments_h100e", "energy_twh", "ai_energy_twh", "capex_usd", "market_size_usd", "emissions_tco2e", "unmet_demand_frac")}
    floor = min(g("pue_ai_floor"), g("pue_ai"))
    ai_twh = []
    for t in range(ny):
        avg_w = 0.5 * ((stock_w[t - 1] if t else 0.0) + stock_w[t]) * g("accelerator_load_frac")
        pue = floor + (g("pue_ai") - floor) * 0.5 ** ((years[t] - s.start_year) / g("pue_improvement_halflife_years"))
        ai_twh.append(avg_w * pue / w_twh)
    nonai0 = max(g("nonai_energy_anchor_twh") - ai_twh[s.anchor], 0.0)
    share = d["region_shares"][i]
    gco2 = sum(share[r] * g(f"grid_gco2_per_kwh_{reg}") for r, reg in enumerate(REGIONS))
    for t in range(ny):
        idx = 1.0
        for y in range(min(t, s.anchor) + 1, max(t, s.anchor) + 1):
            gy = g("nonai_growth_per_year", y - t0 - 1)
            idx = idx * gy if t > s.anchor else idx / gy
        total = ai_twh[t] + nonai0 * idx
        ci = 1.0
        for y in range(min(t, t0) + 1, max(t, t0) + 1):
            gy = g("grid_intensity_change_per_year", y - t0 - 1)
            ci = ci * gy if t > t0 else ci / gy
        capex = ship[t] * price[t] * g("it_system_cost_multiplier") + added[t] / 1e6 * g("facility_usd_per_mw")
        opex = ai_twh[t] * 1e9 * g("electricity_usd_per_kwh") + g("maintenance_frac_per_year") * stock_v[t] * g("it_system_cost_multiplier")
        out["h100e_installed"].append(stock_h[t])
        out["accelerators_installed"].append(stock_u[t])
        out["shipments_h100e"].append(ship[t])
        out["ai_energy_twh"].append(ai_twh[t])
        out["energy_twh"].append(total)
        out["capex_usd"].append(capex)
        out["market_size_usd"].append(capex + opex)
        out["emissions_tco2e"].append(total * ci * gco2 * 1e3)
        out["unmet_demand_frac"].append(max(req[t] - stock_h[t], 0.0) / req[t] if t > t0 else 0.0)
    return out


def run_all(d: dict, s: ChainSetup) -> dict[str, np.ndarray]:
    """``run_one`` for every sample: the loop the benchmark times."""
    n = len(d["pue_ai"])
    rows = [run_one(d, s, i) for i in range(n)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}
