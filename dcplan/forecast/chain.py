"""The whole equation chain, vectorised over Monte Carlo samples: demand -> fleet -> power -> money -> carbon.

``run_chain(draws, setup)`` takes the drawn drivers (arrays [n] or [n, forecast years]) and a
:class:`ChainSetup` built once from a scenario, and returns every metric as an array
[n, years]. Years up to ``start_year`` are history: the fleet comes from accelerator spend.
Later years follow demand (chain mode: users -> tokens -> FLOPs; trend mode: trailing fleet
growth) within chip-supply and grid limits. Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dcplan.forecast import demand as dm
from dcplan.forecast import economics as ec
from dcplan.forecast import power as pw
from dcplan.forecast.demand import col
from dcplan.forecast.scenario import REGIONS, SEGMENTS, Scenario
from dcplan.forecast.supply import FleetInputs, run_fleet, weibull_survival

#: Metric key -> unit; the keys of ``Forecast.metrics`` and of the JSON output.
METRIC_UNITS: dict[str, str] = {
    "accelerators_installed": "accelerators (reference-generation units, end of year)",
    "h100e_installed": "H100-equivalents (end of year)",
    "h100e_required": "H100-equivalents",
    "h100e_required_llm": "H100-equivalents",
    "shipments_h100e": "H100-equivalents/yr",
    "it_power_mw": "MW (average, all data centres)",
    "facility_power_mw": "MW (average, all data centres)",
    "energy_twh": "TWh/yr (all data centres)",
    "ai_it_power_mw": "MW (average)",
    "ai_facility_power_mw": "MW (average)",
    "ai_energy_twh": "TWh/yr",
    "nonai_energy_twh": "TWh/yr",
    "ai_capacity_mw": "MW (critical IT, end of year)",
    "pue_ai": "ratio",
    "capex_usd": "USD/yr",
    "accelerator_spend_usd": "USD/yr",
    "gpu_spend_usd": "USD/yr",
    "opex_usd": "USD/yr",
    "market_size_usd": "USD/yr",
    "usd_per_h100e_hour": "USD/h",
    "usd_per_mtok": "USD/Mtok",
    "emissions_tco2e": "tCO2e/yr",
    "unmet_demand_frac": "fraction",
    "tokens_per_year": "tokens/yr",
    "inference_flop_per_year": "FLOP/yr",
    "training_flop_per_year": "FLOP/yr",
}

#: Metrics that do not scale with a region's share.
INTENSIVE = frozenset({"pue_ai", "usd_per_h100e_hour", "usd_per_mtok", "unmet_demand_frac"})


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainSetup:
    """What the chain needs from a scenario besides the drawn drivers (built once, reused)."""

    years: np.ndarray
    t0: int
    anchor: int
    start_year: int
    price_reference_year: int
    demand_mode: str
    gpu_spend_usd: np.ndarray
    """[t0 + 1] GPU revenue of the history years."""
    peak_flops_per_s: float
    """H100 SXM dense BF16 peak: the H100-equivalent [FLOP/s]."""
    generation_of_vintage: tuple[str, ...]
    base_h100e_per_unit: np.ndarray
    base_server_power_w: np.ndarray
    years_extrapolated: np.ndarray
    """Years beyond the catalog generation each vintage extends (0 for catalog generations)."""


def setup_from(scenario: Scenario, peak_flops_per_s: float) -> ChainSetup:
    """Per-vintage generation data and indices for ``scenario``."""
    years = np.array(scenario.years)
    gens = scenario.generations
    base_h, base_w, extra, names = [], [], [], []
    for y in years:
        g = max((g for g in gens if g.first_vintage <= y), key=lambda g: g.first_vintage, default=gens[0])
        cat = max((c for c in gens if c.hardware and c.first_vintage <= g.first_vintage), key=lambda c: c.first_vintage)
        base_h.append(cat.h100e_per_unit)
        base_w.append(cat.server_power_w)
        extra.append(0 if g.hardware else y - cat.first_vintage)
        names.append(g.name)
    t0 = scenario.start_year - scenario.first_year
    return ChainSetup(
        years=years,
        t0=t0,
        anchor=scenario.nonai_anchor_year - scenario.first_year,
        start_year=scenario.start_year,
        price_reference_year=scenario.price_reference_year,
        demand_mode=scenario.demand_mode,
        gpu_spend_usd=np.array(scenario.history.gpu_spend_usd[: t0 + 1]),
        peak_flops_per_s=peak_flops_per_s,
        generation_of_vintage=tuple(names),
        base_h100e_per_unit=np.array(base_h, dtype=float),
        base_server_power_w=np.array(base_w, dtype=float),
        years_extrapolated=np.array(extra, dtype=float),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainOutput:
    """Every metric [n, years] for the world, and what splits them by region."""

    metrics: dict[str, np.ndarray]
    region_shares: np.ndarray
    """[n, regions] in the order of ``scenario.REGIONS``."""
    gco2_per_kwh_start: np.ndarray
    """[n, regions] grid intensity in the start year."""
    intensity_index: np.ndarray
    """[n, years] grid intensity / start-year intensity."""
    units_by_generation: dict[str, np.ndarray]


def _full_years(x: np.ndarray, n: int, n_years: int, t0: int) -> np.ndarray:
    """A growth driver over all years: forecast years take their own value, history years the first one."""
    a = np.broadcast_to(col(x), (n, n_years - t0 - 1))
    return np.concatenate([np.repeat(a[:, :1], t0 + 1, axis=1), a], axis=1)


def _rel_index(growth_full: np.ndarray, base: int) -> np.ndarray:
    """prod of growth over (base, t], and its inverse before ``base``: index = 1 at ``base``."""
    c = np.cumsum(np.log(growth_full), axis=1)
    return np.exp(c - c[:, base : base + 1])


def _demand(d: dict[str, np.ndarray], s: ChainSetup, installed_start: np.ndarray) -> dict[str, np.ndarray]:
    """Tokens, FLOPs and H100e of the chain for the start year and after ([n, years - t0])."""
    yrs = s.years[s.t0 :].astype(float)
    k = len(yrs) - 1
    seg_users = [dm.users(yrs, d[f"{g}_market_size_users"], d[f"{g}_bass_p"], d[f"{g}_bass_q"], d[f"{g}_adoption_start_year"]) for g in SEGMENTS]
    tok_index = dm.tapered_index(d["tokens_per_user_growth_per_year"], d["token_growth_halflife_years"], k)
    tokens = dm.tokens_per_year(seg_users, [d[f"{g}_tokens_per_user_per_day"] for g in SEGMENTS], tok_index)
    active = col(d["served_active_params"]) * dm.plain_index(d["served_active_params_growth_per_year"], k)
    efficiency = dm.plain_index(d["inference_efficiency_gain_per_year"], k)
    fpt = dm.flop_per_token(active, d["attention_overhead_ratio"], efficiency)
    c_inf = tokens * fpt
    frontier = dm.tapered_index(d["frontier_compute_growth_per_year"], d["frontier_growth_halflife_years"], k)
    c_train = dm.training_flop_per_year(d["frontier_run_flop"], frontier, d["frontier_runs_per_year"], d["experiment_compute_multiplier"])
    h_llm = dm.h100e_needed(c_inf, c_train, d["inference_utilisation_frac"], d["training_utilisation_frac"], s.peak_flops_per_s)
    h_other = dm.other_ai_h100e(installed_start, h_llm[:, 0], dm.plain_index(d["other_ai_compute_growth_per_year"], k))
    return {"tokens": tokens, "fpt": fpt, "c_inf": c_inf, "c_train": c_train, "h_llm": h_llm, "h_req": h_llm + h_other}


def _grid_limit_w(d: dict[str, np.ndarray], s: ChainSetup, n: int) -> np.ndarray:
    """Connectable AI capacity per year [W]: G0 grown to year (t - lag), G0 in the first forecast year."""
    n_years = len(s.years)
    k = n_years - s.t0 - 1
    logg = np.log(np.broadcast_to(col(d["grid_additions_growth_per_year"]), (n, k)))
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(logg, axis=1)[:, :-1]], axis=1)  # at first forecast year = 0
    x = np.arange(k)[None, :] - col(d["construction_lag_years"])  # years after the first forecast year
    lo = np.clip(np.floor(x), 0, k - 1).astype(int)
    frac = np.clip(x - lo, 0.0, 1.0)
    inside = np.take_along_axis(cum, lo, 1) * (1 - frac) + np.take_along_axis(cum, np.minimum(lo + 1, k - 1), 1) * frac
    log_at = np.where(x < 0, x * logg[:, :1], inside)
    out = np.zeros((n, n_years))
    out[:, s.t0 + 1 :] = col(d["grid_additions_start_mw"]) * 1e6 * np.exp(log_at)
    return out


def _fleet_inputs(d: dict[str, np.ndarray], s: ChainSetup, n: int) -> FleetInputs:
    """Vintage data, history shipments and limits for the fleet loop (requirement filled in later)."""
    yrs = s.years.astype(float)
    perf, fpw = col(d["chip_perf_growth_per_year"]), col(d["chip_flops_per_watt_growth_per_year"])
    h_unit = s.base_h100e_per_unit[None, :] * perf ** s.years_extrapolated[None, :]
    w_unit = s.base_server_power_w[None, :] * (perf / fpw) ** s.years_extrapolated[None, :]
    price = ec.price_per_h100e(yrs, s.price_reference_year, d["usd_per_h100e"], d["price_performance_gain_per_year"])
    hist = s.gpu_spend_usd[None, :] / (1.0 - col(d["custom_accelerator_spend_frac"])) / price[:, : s.t0 + 1]
    chip_cap = np.zeros((n, len(yrs)))
    cap_units0 = hist[:, s.t0] / h_unit[:, s.t0] * (1.0 + d["chip_supply_headroom_frac"])
    chip_cap[:, s.t0 :] = col(cap_units0) * dm.plain_index(d["chip_supply_growth_per_year"], len(yrs) - s.t0 - 1) * h_unit[:, s.t0 :]
    return FleetInputs(
        t0=s.t0,
        history_h100e=hist,
        required_h100e=None,
        trend_scale=d.get("trend_growth_scale") if s.demand_mode == "trend" else None,
        h100e_per_unit=h_unit,
        peak_w_per_h100e=w_unit * col(d["it_overhead_factor"]) / h_unit,
        price_usd_per_h100e=price,
        survival=weibull_survival(np.arange(len(yrs))[None, :] + 0.5, col(d["accelerator_median_life_years"]), col(d["accelerator_life_weibull_shape"])),
        chip_cap_h100e=chip_cap,
        grid_add_max_w=_grid_limit_w(d, s, n),
        headroom=d["capacity_headroom_frac"],
        lead_years=d["planning_lead_years"],
        generation_of_vintage=s.generation_of_vintage,
    )


def installed_at_start(x: FleetInputs) -> np.ndarray:
    """H100e in service at the end of the start year, from the history shipments alone [n]."""
    t0 = x.t0
    return (x.history_h100e[:, : t0 + 1] * x.survival[:, t0::-1]).sum(axis=1)


def run_chain(d: dict[str, np.ndarray], s: ChainSetup) -> ChainOutput:
    """Every metric for ``n`` drawn samples (see the module docstring)."""
    n = len(d["pue_ai"])
    n_years = len(s.years)
    yrs = s.years.astype(float)
    nan = np.full((n, n_years), np.nan)
    x = _fleet_inputs(d, s, n)
    dem = _demand(d, s, installed_at_start(x)) if s.demand_mode == "chain" else None
    if dem is not None:
        required = nan.copy()
        required[:, s.t0 :] = dem["h_req"]
        x = replace(x, required_h100e=required)
    fleet = run_fleet(x)
    price, peak_w_per_h = x.price_usd_per_h100e, x.peak_w_per_h100e

    load = col(d["accelerator_load_frac"])
    ai_it_w = pw.year_average(fleet.stock_peak_w) * load
    pue = pw.pue_path(yrs, s.start_year, d["pue_ai"], d["pue_ai_floor"], d["pue_improvement_halflife_years"])
    ai_fac_w = ai_it_w * pue
    ai_twh = pw.energy_twh(ai_fac_w)
    nonai_index = _rel_index(_full_years(d["nonai_growth_per_year"], n, n_years, s.t0), s.anchor)
    nonai_twh = pw.nonai_energy_twh(d["nonai_energy_anchor_twh"], ai_twh[:, s.anchor], nonai_index)
    total_twh = ai_twh + nonai_twh

    sysmult = col(d["it_system_cost_multiplier"])
    spend = fleet.shipped_h100e * price
    capex = spend * sysmult + fleet.capacity_added_w / 1e6 * col(d["facility_usd_per_mw"])
    opex = ai_twh * 1e9 * col(d["electricity_usd_per_kwh"]) + col(d["maintenance_frac_per_year"]) * fleet.stock_value_usd * sysmult
    tco_h = ec.tco_usd_per_h100e_hour(
        it_capex_per_h100e=price * sysmult,
        peak_w_per_h100e=peak_w_per_h,
        headroom=d["capacity_headroom_frac"],
        load_frac=d["accelerator_load_frac"],
        pue=pue,
        usd_per_kwh=d["electricity_usd_per_kwh"],
        facility_usd_per_mw=d["facility_usd_per_mw"],
        crf_it=ec.capital_recovery_factor(d["discount_rate_frac"], d["accelerator_median_life_years"]),
        crf_facility=ec.capital_recovery_factor(d["discount_rate_frac"], d["facility_life_years"]),
        maintenance_frac=d["maintenance_frac_per_year"],
    )

    gco2 = np.stack([d[f"grid_gco2_per_kwh_{r}"] for r in REGIONS], axis=1)
    intensity_index = _rel_index(_full_years(d["grid_intensity_change_per_year"], n, n_years, s.t0), s.t0)
    shares = d["region_shares"]
    emissions = pw.emissions_tco2e(total_twh * intensity_index, (shares * gco2).sum(axis=1)[:, None])

    unmet = np.zeros((n, n_years))
    req = fleet.required_h100e
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.maximum(req[:, s.t0 + 1 :] - fleet.stock_h100e[:, s.t0 + 1 :], 0.0) / req[:, s.t0 + 1 :]
    unmet[:, s.t0 + 1 :] = np.nan_to_num(gap)

    m: dict[str, np.ndarray] = {
        "accelerators_installed": fleet.stock_units,
        "h100e_installed": fleet.stock_h100e,
        "h100e_required": req,
        "h100e_required_llm": nan.copy(),
        "shipments_h100e": fleet.shipped_h100e,
        "ai_it_power_mw": ai_it_w / 1e6,
        "ai_facility_power_mw": ai_fac_w / 1e6,
        "ai_energy_twh": ai_twh,
        "nonai_energy_twh": nonai_twh,
        "energy_twh": total_twh,
        "it_power_mw": (ai_it_w + nonai_twh * pw.W_PER_TWH_YEAR / col(d["pue_nonai"])) / 1e6,
        "facility_power_mw": total_twh * pw.W_PER_TWH_YEAR / 1e6,
        "ai_capacity_mw": fleet.capacity_w / 1e6,
        "pue_ai": np.broadcast_to(pue, (n, n_years)),
        "capex_usd": capex,
        "accelerator_spend_usd": spend,
        "gpu_spend_usd": spend * (1.0 - col(d["custom_accelerator_spend_frac"])),
        "opex_usd": opex,
        "market_size_usd": capex + opex,
        "usd_per_h100e_hour": tco_h,
        "usd_per_mtok": nan.copy(),
        "emissions_tco2e": emissions,
        "unmet_demand_frac": unmet,
        "tokens_per_year": nan.copy(),
        "inference_flop_per_year": nan.copy(),
        "training_flop_per_year": nan.copy(),
    }
    if dem is not None:
        m["usd_per_mtok"][:, s.t0 :] = ec.usd_per_mtok(tco_h[:, s.t0 :], s.peak_flops_per_s, d["inference_utilisation_frac"], dem["fpt"])
        m["tokens_per_year"][:, s.t0 :] = dem["tokens"]
        m["h100e_required_llm"][:, s.t0 :] = dem["h_llm"]
        m["inference_flop_per_year"][:, s.t0 :] = dem["c_inf"]
        m["training_flop_per_year"][:, s.t0 :] = dem["c_train"]
    return ChainOutput(metrics=m, region_shares=shares, gco2_per_kwh_start=gco2, intensity_index=intensity_index, units_by_generation=fleet.units_by_generation)
