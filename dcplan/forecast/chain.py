"""The whole chain, vectorised over Monte Carlo samples: demand -> supply -> power -> money -> regions.

``run_chain(draws, setup)`` takes the drawn drivers (arrays [n] or [n, forecast years]) and a
:class:`ChainSetup` built once from a scenario, and returns every metric as an array
[n, years]. Years up to ``start_year`` are history: the fleet comes from accelerator spend.
Later years follow demand (a sum of application segments) within chip supply and connected
capacity; China's share is met by its own chips and by imports under export controls
(:mod:`dcplan.forecast.china`).

The five stages are separate functions, each reading its own drivers (``Driver.stage``) and the
outputs of the stages before it, kept in :class:`ChainOutput`. :func:`rerun` recomputes only the
stages at and after the first one a changed driver enters: a power or money driver moved on the
dashboard reuses the cached demand and fleet arrays. Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field, fields
from typing import Iterable

import numpy as np

from dcplan.forecast import china as cn
from dcplan.forecast import demand as dm
from dcplan.forecast import economics as ec
from dcplan.forecast import grid as gr
from dcplan.forecast import power as pw
from dcplan.forecast import regions as rg
from dcplan.forecast import roadmap as rm
from dcplan.forecast import supply as sp
from dcplan.forecast.demand import col
from dcplan.forecast.scenario import DRIVERS, REGIONS, STAGES, Generation, Scenario
from dcplan.units import SECONDS_PER_YEAR

#: Metric key -> unit; the keys of ``Forecast.metrics`` and of the JSON output.
METRIC_UNITS: dict[str, str] = {
    "energy_twh": "TWh/yr (all data centres)",
    "ai_energy_twh": "TWh/yr",
    "ai_energy_inference_twh": "TWh/yr",
    "ai_energy_training_twh": "TWh/yr",
    "ai_energy_other_twh": "TWh/yr",
    "nonai_energy_twh": "TWh/yr",
    "onsite_energy_frac": "fraction",
    "facility_power_mw": "MW (average, all data centres)",
    "it_power_mw": "MW (average, all data centres)",
    "ai_it_power_mw": "MW (average)",
    "ai_facility_power_mw": "MW (average)",
    "ai_capacity_mw": "MW (critical IT, end of year)",
    "ai_capacity_added_mw": "MW/yr (critical IT)",
    "onsite_capacity_added_mw": "MW/yr (critical IT on on-site generation)",
    "pue_ai": "ratio",
    "accelerators_installed": "accelerators (end of year)",
    "h100e_installed": "H100-equivalents (end of year)",
    "h100e_required": "H100-equivalents (year average)",
    "h100e_required_inference": "H100-equivalents (year average)",
    "h100e_required_training": "H100-equivalents (year average)",
    "h100e_required_other": "H100-equivalents (year average)",
    "shipments_h100e": "H100-equivalents/yr",
    "shipments_units": "accelerators/yr",
    "chip_supply_h100e": "H100-equivalents/yr",
    "unmet_demand_frac": "fraction",
    "backlog_years": "years",
    "binding_chips": "fraction of samples",
    "binding_power": "fraction of samples",
    "training_budget_bound": "fraction of samples",
    "accelerator_spend_usd": "USD/yr",
    "gpu_spend_usd": "USD/yr",
    "capex_usd": "USD/yr",
    "capex_cumulative_usd": "USD (from the first forecast year)",
    "hyperscaler_capex_usd": "USD/yr",
    "opex_usd": "USD/yr",
    "market_size_usd": "USD/yr",
    "usd_per_h100e_hour": "USD/h",
    "usd_per_mtok": "USD/Mtok",
    "emissions_tco2e": "tCO2e/yr",
    "tokens_per_year": "tokens/yr",
    "inference_flop_per_year": "FLOP/yr",
    "training_flop_per_year": "FLOP/yr",
    "china_placed_h100e": "H100-equivalents/yr (China's demand for new capacity)",
    "china_domestic_shipments_h100e": "H100-equivalents/yr (made in China)",
    "china_import_shipments_h100e": "H100-equivalents/yr (imported under export controls)",
    "china_shortfall_h100e": "H100-equivalents/yr (China's demand neither made nor importable)",
}
#: Units of the metrics whose names carry a segment or a generation.
PREFIX_UNITS = {"h100e_required_": "H100-equivalents (year average)", "accelerators_installed_": "accelerators (end of year)"}
INTENSIVE = rg.INTENSIVE
#: The stage that first reads each regional share group (drawn as one vector, not a driver).
SHARE_GROUP_STAGES = {"ai_share_new": "supply", "ai_share_history": "regions", "nonai_share": "regions"}


def metric_unit(name: str) -> str | None:
    """Unit of metric ``name`` (fixed, per segment or per generation), None if unknown."""
    if name in METRIC_UNITS:
        return METRIC_UNITS[name]
    return next((u for pre, u in PREFIX_UNITS.items() if name.startswith(pre)), None)


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainSetup:
    """What the chain needs from a scenario besides the drawn drivers (built once, reused)."""

    years: np.ndarray
    t0: int
    """Index of the start year (last history year)."""
    start_year: int
    demand_anchor: int
    """Index of the demand anchor year."""
    demand_anchor_year: int
    nonai_anchor: int
    gpu_spend_usd: np.ndarray
    """[t0 + 1] GPU revenue of the history years."""
    peak_flops_per_s: float
    """H100 SXM dense BF16 peak: the H100-equivalent [FLOP/s]."""
    generations: tuple[Generation, ...]
    generation_of_vintage: tuple[str, ...]
    segments: tuple[str, ...] = ()
    """The demand segments summed (``Scenario.segments``)."""


def setup_from(scenario: Scenario) -> ChainSetup:
    """Indices, history and generations of ``scenario``."""
    years = np.array(scenario.years)
    t0 = scenario.start_year - scenario.first_year
    return ChainSetup(
        years=years, t0=t0, start_year=scenario.start_year,
        demand_anchor=scenario.demand_anchor_year - scenario.first_year, demand_anchor_year=scenario.demand_anchor_year,
        nonai_anchor=scenario.nonai_anchor_year - scenario.first_year,
        gpu_spend_usd=np.array(scenario.history.gpu_spend_usd[: t0 + 1], dtype=float),
        peak_flops_per_s=scenario.h100e_peak_flops_per_s,
        generations=scenario.generations,
        generation_of_vintage=rm.generation_of_vintage(years, scenario.generations),
        segments=scenario.segments,
    )


# --------------------------------------------------------------------------------------------
# Stage outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class Demand:
    """Compute needed per year, [n, years], every year (history too, for the reconciliation)."""

    tokens: np.ndarray
    flop_per_token: np.ndarray
    """Token-weighted mean over the segments [FLOP/token]."""
    inference_flop: np.ndarray
    training_flop: np.ndarray
    """Training FLOPs done: the frontier trend, or what the budget pays for if less."""
    inference_h100e: np.ndarray
    training_h100e: np.ndarray
    training_trend_h100e: np.ndarray
    training_budget_h100e: np.ndarray
    other_h100e: np.ndarray
    segment_h100e: np.ndarray
    """[n, segments, years] H100e each segment's serving needs (they sum to ``inference_h100e``)."""

    @property
    def required_h100e(self) -> np.ndarray:
        return self.inference_h100e + self.training_h100e + self.other_h100e

    def take(self, idx: np.ndarray | slice) -> Demand:
        """The same arrays for the samples ``idx`` (resampling or a chunk)."""
        return Demand(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Demand]) -> Demand:
        """The demand of consecutive blocks of samples, joined in order."""
        return Demand(**{f.name: np.concatenate([getattr(x, f.name) for x in parts]) for f in fields(Demand)})


@dataclass(frozen=True, kw_only=True, eq=False)
class ChinaSupply:
    """China's placement met by origin, and the domestic path behind it ([n, years])."""

    split: cn.OriginSplit
    domestic: cn.DomesticPath
    stock_domestic_h100e: np.ndarray
    stock_domestic_units: np.ndarray
    stock_domestic_w: np.ndarray
    """Peak IT power of the domestic systems in service [W]."""
    stock_imported_w: np.ndarray
    """Peak IT power of the imported accelerators (forecast years) in service [W]."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Supply:
    """The fleet: vintages, limits, stocks ([n, years]); China's share met by origin."""

    vintage: rm.VintageSpec
    peak_w_per_h100e: np.ndarray
    usd_per_h100e: np.ndarray
    survival: np.ndarray
    chip_cap_h100e: np.ndarray
    target_h100e: np.ndarray
    fleet: sp.Fleet
    """The world loop (its limits and shortfalls, its shipments before China's split), its capacity moved by China's split."""
    ship_h100e: np.ndarray
    """Shipments of the world's (non-Chinese-made) accelerators after China's split: the loop's less what China made
    or could not import, plus chips redirected from China."""
    china: ChinaSupply
    stock_h100e: np.ndarray
    stock_units: np.ndarray
    stock_peak_w: np.ndarray
    stock_value_usd: np.ndarray
    stock_w_hist: np.ndarray
    """Peak W of the vintages up to the start year still in service (the rest of ``stock_peak_w`` is later vintages)."""
    stock_w_unsplit: np.ndarray
    """Peak W the world loop's fleet would have, China's placement included as placed (for demand shares)."""
    units_by_generation: dict[str, np.ndarray]
    unmet_frac: np.ndarray
    backlog_years: np.ndarray
    t0: int
    """Index of the start year."""

    @property
    def capacity_w(self) -> np.ndarray:
        """Critical IT capacity for AI at year end [W] (the loop's, moved by China's split)."""
        return self.fleet.capacity_w

    @property
    def capacity_added_w(self) -> np.ndarray:
        return self.fleet.capacity_added_w

    @property
    def onsite_capacity_w(self) -> np.ndarray:
        return self.fleet.onsite_capacity_w

    @property
    def onsite_added_w(self) -> np.ndarray:
        return self.fleet.onsite_added_w

    @functools.cached_property
    def china_stocks(self) -> dict[str, np.ndarray]:
        """Stocks the regions need beyond the world's, built on first use: history vintages' and imports' H100e and units [n, years]."""
        hist = (np.arange(self.ship_h100e.shape[1]) <= self.t0)[None, :] * self.ship_h100e
        imp = self.china.split.imported
        per_unit = 1.0 / self.vintage.h100e_per_unit
        st = sp.stocks_of([hist, hist * per_unit, imp, imp * per_unit], self.survival)
        return {"hist_h100e": st[0], "hist_units": st[1], "imp_h100e": st[2], "imp_units": st[3]}


@dataclass(frozen=True, kw_only=True, eq=False)
class Power:
    ai_it_w: np.ndarray
    pue: np.ndarray
    ai_facility_w: np.ndarray
    ai_twh: np.ndarray
    onsite_frac: np.ndarray
    nonai_twh: np.ndarray
    total_twh: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class Money:
    spend: np.ndarray
    gpu_spend: np.ndarray
    capex: np.ndarray
    capex_it: np.ndarray
    """The part of capex that follows accelerator spend (servers, network, storage) [USD/yr]."""
    capex_facility: np.ndarray
    """The part that follows capacity added and refitted (facility, on-site generation) [USD/yr]."""
    opex: np.ndarray
    tco_h: np.ndarray
    usd_per_mtok: np.ndarray
    hyperscaler_capex: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class Regions:
    """What splits the world by region; a region's arrays are built on request (no [n, years, regions] kept).

    History vintages are split by ``share_hist``. Later vintages: China holds what it made and
    imported (:class:`ChinaSupply`); the other regions share the rest of the world's shipments in
    proportion to ``share_new`` (renormalised without China). Demand-side metrics (requirement,
    tokens) follow the split China's demand asked for (``demand_share``).
    """

    t0: int
    sup: Supply
    mon: Money
    custom_frac: np.ndarray
    """[n] share of accelerator spend outside GPU revenue."""
    w_hist: np.ndarray
    """[n, years] year-average peak W of the vintages up to the start year."""
    w_total: np.ndarray
    """[n, years] year-average peak W of the whole AI fleet."""
    w_unsplit: np.ndarray
    """[n, years] the same with China's placement as placed (before its split by origin)."""
    share_hist: np.ndarray
    """[n, regions] where the history vintages were installed."""
    share_new: np.ndarray
    """[n, regions] where the later vintages were asked for (the Dirichlet draw)."""
    nonai_raw: np.ndarray
    """[n, years, regions] non-AI start split x relative growth, before normalising."""
    gco2_per_kwh: np.ndarray
    """[n, regions] grid intensity in the start year."""
    intensity_index: np.ndarray
    """[n, years] grid intensity / start-year intensity."""
    onsite_gco2_per_kwh: np.ndarray
    """[n] on-site generation's intensity."""
    emissions_world: np.ndarray
    """[n, years] tCO2e/yr."""

    CHINA = REGIONS.index("china")

    def _rest(self, r: int) -> np.ndarray:
        """[n, 1] region ``r``'s weight in the non-Chinese later vintages."""
        cn_share = self.share_new[:, self.CHINA : self.CHINA + 1]
        return self.share_new[:, r : r + 1] / np.maximum(1.0 - cn_share, 1e-12)

    @functools.cached_property
    def w_china_new(self) -> np.ndarray:
        """[n, years] year-average peak W of China's later vintages (imports and domestic)."""
        return pw.year_average(self.sup.china.stock_imported_w + self.sup.china.stock_domestic_w)

    def ai_share(self, r: int) -> np.ndarray:
        """[n, years] region ``r``'s share of the AI fleet's power."""
        hist = self.w_hist * self.share_hist[:, r : r + 1]
        new = self.w_china_new if r == self.CHINA else (self.w_total - self.w_hist - self.w_china_new) * self._rest(r)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (hist + new) / self.w_total
        return np.where(self.w_total > 0, out, self.share_hist[:, r : r + 1])

    def demand_share(self, r: int) -> np.ndarray:
        """[n, years] region ``r``'s share of what the world's demand asked for (China before its supply split)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (self.w_hist * self.share_hist[:, r : r + 1] + (self.w_unsplit - self.w_hist) * self.share_new[:, r : r + 1]) / self.w_unsplit
        return np.where(self.w_unsplit > 0, out, self.share_hist[:, r : r + 1])

    def stock(self, kind: str, r: int) -> np.ndarray:
        """[n, years] region ``r``'s installed H100e (``kind`` h100e) or accelerators (units) at year end."""
        cs, sup = self.sup.china_stocks, self.sup
        hist, imp = cs[f"hist_{kind}"], cs[f"imp_{kind}"]
        dom = sup.china.stock_domestic_h100e if kind == "h100e" else sup.china.stock_domestic_units
        world = sup.stock_h100e if kind == "h100e" else sup.stock_units  # world vintages and domestic
        if r == self.CHINA:
            return hist * self.share_hist[:, r : r + 1] + imp + dom
        return hist * self.share_hist[:, r : r + 1] + (world - dom - hist - imp) * self._rest(r)

    def generation_share(self, r: int) -> np.ndarray:
        """[n, years] region ``r``'s share of the world's (non-Chinese-made) accelerators in service."""
        world = self.sup.stock_units - self.sup.china.stock_domestic_units
        mine = self.stock("units", r) - (self.sup.china.stock_domestic_units if r == self.CHINA else 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = mine / world
        return np.where(world > 0, out, self.share_hist[:, r : r + 1])

    def flow(self, basis: str, r: int) -> np.ndarray:
        """[n, years] region ``r``'s part of a flow: ``h100e`` shipped, ``units``, ``spend``, ``gpu`` spend or ``w`` (peak W added)."""
        sup, sp_ = self.sup, self.sup.china.split
        dom = sup.china.domestic
        world_per = {"h100e": 1.0, "units": 1.0 / sup.vintage.h100e_per_unit, "spend": sup.usd_per_h100e,
                     "gpu": sup.usd_per_h100e * (1.0 - col(self.custom_frac)), "w": sup.peak_w_per_h100e}[basis]
        dom_per = {"h100e": 1.0, "units": 1.0 / dom.h100e_per_unit, "spend": dom.usd_per_h100e, "gpu": 0.0, "w": dom.w_per_h100e}[basis]
        world = sup.ship_h100e * world_per
        if r == self.CHINA:
            new = sp_.imported * world_per + sp_.domestic * dom_per
        else:
            new = (sup.ship_h100e - sp_.imported) * world_per * self._rest(r)
        hist_years = (np.arange(world.shape[1]) <= self.t0)[None, :]
        return np.where(hist_years, world * self.share_hist[:, r : r + 1], new)

    def flow_share(self, basis: str, r: int) -> np.ndarray:
        """[n, years] region ``r``'s share of a world flow (``flow`` / the world's)."""
        total = sum(self.flow(basis, i) for i in range(len(REGIONS)))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.flow(basis, r) / total
        return np.where(total > 0, out, self.share_hist[:, r : r + 1])

    def capex(self, r: int) -> np.ndarray:
        """[n, years] region ``r``'s AI capex: its accelerator spend x the system multiplier, the facility part by its share of W added."""
        mon = self.mon
        with np.errstate(invalid="ignore", divide="ignore"):
            it = np.where(mon.spend > 0, mon.capex_it * self.flow("spend", r) / np.where(mon.spend > 0, mon.spend, 1.0), 0.0)
        return it + mon.capex_facility * self.flow_share("w", r)

    @functools.cached_property
    def nonai_total(self) -> np.ndarray:
        """[n, years] the non-AI split's sum over regions, before normalising (computed once)."""
        return self.nonai_raw.sum(axis=2)

    def nonai_share(self, r: int) -> np.ndarray:
        return self.nonai_raw[:, :, r] / self.nonai_total

    def emissions(self, pwr: Power, r: int) -> np.ndarray:
        """[n, years] tCO2e/yr of region index ``r`` (grid power at the region's intensity, on-site power at its own)."""
        ai, nonai = self.ai_share(r), self.nonai_share(r)
        grid = (pwr.ai_twh * (1.0 - pwr.onsite_frac) * ai + pwr.nonai_twh * nonai) * self.gco2_per_kwh[:, r : r + 1] * self.intensity_index
        return pw.emissions_tco2e(grid, 1.0) + pw.emissions_tco2e(pwr.ai_twh * pwr.onsite_frac * ai, col(self.onsite_gco2_per_kwh))


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainOutput:
    """Every metric [n, years] for the world, the stage outputs behind them, and what splits them by region."""

    metrics: dict[str, np.ndarray]
    demand: Demand
    supply: Supply
    power: Power
    money: Money
    regions: Regions
    units_by_generation: dict[str, np.ndarray] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------


def _steps(d: dict[str, np.ndarray], name: str, s: ChainSetup, n: int) -> np.ndarray:
    return dm.year_steps(d[name], n, len(s.years), s.t0)


def stage_demand(d: dict[str, np.ndarray], s: ChainSetup, n: int) -> Demand:
    """Serving by application segment from adoption and tokens, training bounded by revenue, other AI: H100e needed each year."""
    yrs = s.years.astype(float)
    a, full = s.demand_anchor, s.demand_anchor_year + 1
    eff = dm.index_at(dm.taper(_steps(d, "inference_efficiency_gain_per_year", s, n), d["inference_efficiency_halflife_years"], yrs, full), a)
    reb = dm.rebound(eff, d["token_price_elasticity"])
    size = dm.index_at(_steps(d, "served_active_params_growth_per_year", s, n), a)
    seg_tok, two_n = _segment_tokens(d, s, n, yrs, reb)  # [n, k, years] tokens, [n, k, 1] 2 N_s
    # FLOP/token of segment s = 2 N_s x size(t) (1 + attention) / E(t) (dm.flop_per_token): the factor after 2 N_s is shared
    shared = size * (1.0 + col(d["attention_overhead_ratio"])) / eff
    c_seg = seg_tok * two_n  # FLOPs / shared
    tokens, c_inf = seg_tok.sum(axis=1), c_seg.sum(axis=1) * shared
    per_h100e = 1.0 / (col(d["inference_utilisation_frac"]) * s.peak_flops_per_s * SECONDS_PER_YEAR)  # dm.h100e_years
    c_seg *= (shared * per_h100e)[:, None, :]
    seg_h, h_inf = c_seg, c_inf * per_h100e
    with np.errstate(invalid="ignore", divide="ignore"):
        fpt_mean = np.where(tokens > 0, c_inf / np.where(tokens > 0, tokens, 1.0), two_n[:, 0] * shared)
    frontier = dm.index_at(dm.taper(_steps(d, "frontier_compute_growth_per_year", s, n), d["frontier_growth_halflife_years"], yrs, full), a)
    c_trend = dm.training_flop_per_year(d["frontier_run_flop"], frontier, d["frontier_runs_per_year"], d["experiment_compute_multiplier"])
    h_trend = dm.h100e_years(c_trend, d["training_utilisation_frac"], s.peak_flops_per_s)
    other_steps = np.where(yrs[None, :] <= s.demand_anchor_year, col(d["other_ai_growth_before_anchor_per_year"]), _steps(d, "other_ai_compute_growth_per_year", s, n))
    h_other = col(d["other_ai_h100e"]) * dm.index_at(other_steps, a)
    h_budget = dm.training_budget_h100e(h_inf + h_other, d["training_spend_share_of_ai_revenue"], d["ai_revenue_per_inference_cost"])
    h_train = np.minimum(h_trend, h_budget)
    return Demand(tokens=tokens, flop_per_token=fpt_mean, inference_flop=c_inf, training_flop=c_trend * h_train / np.maximum(h_trend, 1e-300),
                  inference_h100e=h_inf, training_h100e=h_train, training_trend_h100e=h_trend, training_budget_h100e=h_budget, other_h100e=h_other,
                  segment_h100e=seg_h)


def stage_demand_blocks(d: dict[str, np.ndarray], s: ChainSetup, n: int) -> Demand:
    """:func:`stage_demand` of ``n`` draws computed on blocks of rows, side by side on threads (dcplan.forecast.threads).

    Every row's demand is its own (no array mixes samples), so the blocks joined are the arrays of
    one call over all rows; below ``threads.PARALLEL_SAMPLES`` it is that one call.
    """
    from dcplan.forecast.threads import split, thread_map, threads_for

    blocks = split(n, threads_for(n))
    if len(blocks) == 1:
        return stage_demand(d, s, n)
    rows = lambda v, b: v[b] if np.ndim(v) and len(v) == n else v  # noqa: E731  (a draw [n, ...], or one value for all)
    return Demand.concat(thread_map(lambda b: stage_demand({k: rows(v, b) for k, v in d.items()}, s, b.stop - b.start), blocks))


def _segment_tokens(d: dict[str, np.ndarray], s: ChainSetup, n: int, yrs: np.ndarray, reb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n, k, years] tokens per year of each demand segment, [n, k, 1] FLOPs per token before the shared factors: 2 N_s).

    The segments are stacked: Bass adoption, the tapered growth of tokens per adopter (the taper's
    decay is shared: one half-life for all segments), uses x tokens per use, the rebound.
    """
    segs = s.segments
    stack = lambda suffix: np.stack([np.broadcast_to(d[f"{g}_{suffix}"], (n,)) for g in segs], axis=1)[:, :, None]  # noqa: E731
    out = np.zeros((n, len(segs), len(yrs)))
    start = stack("adoption_start_year")
    # no segment has adopters before the first launch: compute from that year (or the anchor year, if earlier) on
    j = min(int(np.searchsorted(yrs + 0.5, float(start.min()), side="right")), s.demand_anchor)
    y = yrs[j:]
    p, q = stack("bass_p"), stack("bass_q")
    # Bass (1969) F = (1 - e) / (1 + (q/p) e), e = exp(-(p + q) t), t >= 0 years since launch (dm.bass_fraction, in place)
    e = y[None, None, :] + 0.5 - start
    np.maximum(e, 0.0, out=e)
    e *= -(p + q)
    np.exp(e, out=e)
    tokens = (1.0 - e) / (1.0 + (q / p) * e)
    tokens *= stack("market_size_users") * stack("uses_per_user_per_day") * stack("tokens_per_use") * dm.DAYS_PER_YEAR
    decay = 0.5 ** (np.maximum(y[None, :] - (s.demand_anchor_year + 1), 0.0) / col(d["token_growth_halflife_years"]))  # [n, years from j]
    logs = np.empty_like(tokens)
    for i, g in enumerate(segs):
        raw = d[f"{g}_tokens_growth_per_year"]
        excess = col(raw) - 1.0 if raw.ndim == 1 else _steps(d, f"{g}_tokens_growth_per_year", s, n)[:, j:] - 1.0
        np.log1p(excess * decay, out=logs[:, i])
    np.cumsum(logs, axis=2, out=logs)
    logs -= logs[:, :, s.demand_anchor - j : s.demand_anchor - j + 1]
    np.exp(logs, out=logs)
    tokens *= logs
    tokens *= reb[:, None, j:]
    out[:, :, j:] = tokens
    tokens = out
    return tokens, 2.0 * stack("served_active_params")


def stage_supply(d: dict[str, np.ndarray], s: ChainSetup, n: int, dem: Demand) -> Supply:
    """History fleet from spend, chip supply path, grid pipeline, the fleet loop, China's split by origin, stocks and backlog."""
    yrs, t0 = s.years.astype(float), s.t0
    vs = rm.vintages(yrs, s.generations, d["chip_perf_growth_per_year"], d["chip_flops_per_watt_growth_per_year"],
                     d["price_performance_gain_per_year"], d["accelerator_price_scale"])
    w_per_h = vs.server_w_per_h100e * col(d["it_overhead_factor"])
    price = vs.usd_per_h100e
    hist = s.gpu_spend_usd[None, :] / (1.0 - col(d["custom_accelerator_spend_frac"])) / price[:, : t0 + 1]
    survival = sp.weibull_survival(np.arange(len(yrs))[None, :] + 0.5, col(d["accelerator_median_life_years"]), col(d["accelerator_life_weibull_shape"]))
    growth = dm.taper(_steps(d, "chip_supply_growth_per_year", s, n), d["chip_supply_growth_halflife_years"], yrs, s.start_year + 1)
    required = dem.required_h100e
    target = sp.ahead(required, d["planning_lead_years"], t0)
    fleet = sp.run_fleet(sp.FleetInputs(
        t0=t0, history_h100e=hist, target_h100e=target, peak_w_per_h100e=w_per_h, survival=survival,
        chip_units_start=hist[:, t0] / vs.h100e_per_unit[:, t0] * (1.0 + d["chip_supply_headroom_frac"]), chip_growth=growth,
        chip_response=np.broadcast_to(d["chip_supply_response"], (n,)), h100e_per_unit=vs.h100e_per_unit,
        grid_add_max_w=gr.connectable_w(yrs, s.start_year, d["grid_additions_start_mw"], d["grid_additions_growth_per_year"],
                                        d["grid_additions_ceiling_mw"], d["grid_connection_lead_years"]),
        onsite_add_max_w=gr.onsite_w(yrs, s.start_year, d["onsite_generation_max_mw_per_year"]),
        headroom=d["capacity_headroom_frac"],
    ))
    split, dom = _china_split(d, s, n, fleet)
    ship = fleet.shipped_h100e - split.placed + split.imported + split.redirected
    gens = list(dict.fromkeys(s.generation_of_vintage))
    hist_mask = (np.arange(len(yrs)) <= t0)[None, :]
    per_unit = 1.0 / vs.h100e_per_unit
    masks = [ship * np.array([g == gv for gv in s.generation_of_vintage], dtype=float)[None, :] * per_unit for g in gens]
    dom_units = split.domestic / dom.h100e_per_unit
    st = sp.stocks_of([ship, ship * per_unit, ship * w_per_h, ship * price, ship * w_per_h * hist_mask,
                       split.domestic, dom_units, split.domestic * dom.w_per_h100e, split.domestic * dom.usd_per_h100e,
                       fleet.shipped_h100e * w_per_h, split.imported * w_per_h, *masks], survival)
    for world, dom_layer in ((0, 5), (1, 6), (2, 7), (3, 8)):  # world totals in place: world vintages and domestic (no extra arrays kept)
        st[world] += st[dom_layer]
    stock_h, stock_w = st[0], st[2]
    cap, added, onsite, onsite_added = _capacity(fleet, stock_w - st[9], d["capacity_headroom_frac"])
    fleet = dataclasses.replace(fleet, capacity_w=cap, capacity_added_w=added, onsite_capacity_w=onsite, onsite_added_w=onsite_added)
    avail = pw.year_average(stock_h)
    unmet = np.zeros((n, len(yrs)))
    with np.errstate(invalid="ignore", divide="ignore"):
        unmet[:, t0 + 1 :] = np.nan_to_num(np.maximum(required[:, t0 + 1 :] - avail[:, t0 + 1 :], 0.0) / required[:, t0 + 1 :])
    backlog = sp.backlog_years(required, avail, t0)
    china = ChinaSupply(split=split, domestic=dom, stock_domestic_h100e=st[5], stock_domestic_units=st[6], stock_domestic_w=st[7],
                        stock_imported_w=st[10])
    by_gen = {g: st[11 + i] for i, g in enumerate(gens)}
    by_gen["china_domestic"] = st[6]
    return Supply(vintage=vs, peak_w_per_h100e=w_per_h, usd_per_h100e=price, survival=survival, chip_cap_h100e=fleet.chip_cap_h100e, target_h100e=target,
                  fleet=fleet, ship_h100e=ship, china=china,
                  stock_h100e=stock_h, stock_units=st[1], stock_peak_w=stock_w, stock_value_usd=st[3], stock_w_hist=st[4],
                  stock_w_unsplit=st[9], units_by_generation=by_gen, unmet_frac=unmet, backlog_years=backlog, t0=t0)


def _china_split(d: dict[str, np.ndarray], s: ChainSetup, n: int, fleet: sp.Fleet) -> tuple[cn.OriginSplit, cn.DomesticPath]:
    """China's placement met by domestic chips, then imports under the export-control cap (:mod:`dcplan.forecast.china`)."""
    yrs = s.years.astype(float)
    dom = cn.domestic_path(yrs, s.demand_anchor, s.demand_anchor_year, s.start_year + 1, d, _steps(d, "china_domestic_die_starts_growth_per_year", s, n))
    cap, controlled = cn.import_cap(yrs, s.start_year + 1, d["china_import_cap_h100e_per_year"], d["china_import_cap_growth_per_year"],
                                    d["china_export_controls_start_year"])
    share = d["ai_share_new"][:, REGIONS.index("china")]
    return cn.split(fleet.shipped_h100e, share, dom.h100e, cap, fleet.short_chips_h100e, controlled, s.t0), dom


def _capacity(fleet: sp.Fleet, delta_w: np.ndarray, headroom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The loop's capacity moved by the change China's split makes to the installed peak W (x (1 + headroom)), never falling.

    (capacity, added, on-site capacity, on-site added) [W]; China's own chips are not held to the world grid pipeline.
    """
    cap = np.maximum.accumulate(np.maximum(fleet.capacity_w + delta_w * (1.0 + col(headroom)), 0.0), axis=1)
    onsite = np.minimum(fleet.onsite_capacity_w, cap)
    diff = lambda x: np.diff(x, axis=1, prepend=0.0)  # noqa: E731
    return cap, diff(cap), onsite, np.maximum(diff(onsite), 0.0)


def stage_power(d: dict[str, np.ndarray], s: ChainSetup, n: int, sup: Supply) -> Power:
    """AI power and energy of the fleet, the tapered non-AI baseline, the world total."""
    yrs = s.years.astype(float)
    ai_it = pw.year_average(sup.stock_peak_w) * col(d["accelerator_load_frac"])
    pue = np.broadcast_to(pw.pue_path(yrs, s.start_year, d["pue_ai"], d["pue_ai_floor"], d["pue_improvement_halflife_years"]), ai_it.shape)
    ai_fac = ai_it * pue
    ai_twh = pw.energy_twh(ai_fac)
    cap = pw.year_average(sup.capacity_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        onsite = np.nan_to_num(pw.year_average(sup.onsite_capacity_w) / cap)
    steps = dm.taper(_steps(d, "nonai_growth_per_year", s, n), d["nonai_growth_halflife_years"], yrs, s.start_year + 1)
    nonai = pw.nonai_energy_twh(d["nonai_energy_anchor_twh"], ai_twh[:, s.nonai_anchor], dm.index_at(steps, s.nonai_anchor))
    return Power(ai_it_w=ai_it, pue=pue, ai_facility_w=ai_fac, ai_twh=ai_twh, onsite_frac=onsite, nonai_twh=nonai, total_twh=ai_twh + nonai)


def stage_money(d: dict[str, np.ndarray], s: ChainSetup, n: int, dem: Demand, sup: Supply, pwr: Power) -> Money:
    """Spend on accelerators, capex, opex, TCO per H100e-hour, $ per million tokens, hyperscaler capex."""
    sysmult = col(d["it_system_cost_multiplier"])
    dom = sup.china
    spend_world = sup.ship_h100e * sup.usd_per_h100e
    spend = spend_world + dom.split.domestic * dom.domestic.usd_per_h100e
    fac = col(d["facility_usd_per_mw"])
    # new shipments placed in capacity that retirements freed need new power and cooling (rack density, liquid cooling)
    shipped_w = sup.ship_h100e * sup.peak_w_per_h100e + dom.split.domestic * dom.domestic.w_per_h100e
    reused_w = np.maximum(shipped_w * (1.0 + col(d["capacity_headroom_frac"])) - sup.capacity_added_w, 0.0)
    capex_it = spend * sysmult
    capex_fac = (sup.capacity_added_w / 1e6 * fac + reused_w / 1e6 * fac * col(d["facility_refit_frac"])
                 + sup.onsite_added_w / 1e3 * col(d["onsite_generation_usd_per_kw"]))
    capex = capex_it + capex_fac
    electricity = pwr.ai_twh * 1e9 * ((1.0 - pwr.onsite_frac) * col(d["electricity_usd_per_kwh"]) + pwr.onsite_frac * col(d["onsite_generation_usd_per_kwh"]))
    opex = electricity + col(d["maintenance_frac_per_year"]) * sup.stock_value_usd * sysmult
    tco_h = ec.tco_usd_per_h100e_hour(
        it_capex_per_h100e=sup.usd_per_h100e * sysmult, peak_w_per_h100e=sup.peak_w_per_h100e, headroom=d["capacity_headroom_frac"],
        load_frac=d["accelerator_load_frac"], pue=pwr.pue, usd_per_kwh=d["electricity_usd_per_kwh"], facility_usd_per_mw=d["facility_usd_per_mw"],
        crf_it=ec.capital_recovery_factor(d["discount_rate_frac"], d["accelerator_median_life_years"]),
        crf_facility=ec.capital_recovery_factor(d["discount_rate_frac"], d["facility_life_years"]),
        maintenance_frac=d["maintenance_frac_per_year"],
    )
    per_mtok = ec.usd_per_mtok(tco_h, s.peak_flops_per_s, d["inference_utilisation_frac"], dem.flop_per_token)
    hyper = ec.hyperscaler_capex_usd(capex, d["hyperscaler_share_of_ai_capex_frac"], d["hyperscaler_other_capex_usd"])
    return Money(spend=spend, gpu_spend=spend_world * (1.0 - col(d["custom_accelerator_spend_frac"])), capex=capex, capex_it=capex_it,
                 capex_facility=capex_fac, opex=opex, tco_h=tco_h, usd_per_mtok=per_mtok, hyperscaler_capex=hyper)


def stage_regions(d: dict[str, np.ndarray], s: ChainSetup, n: int, sup: Supply, pwr: Power, mon: Money) -> Regions:
    """Regional shares of the AI fleet and the non-AI load, and world emissions by the regions' grid intensities."""
    yrs = s.years.astype(float)
    hist, new = d["ai_share_history"], d["ai_share_new"]
    w_hist, w_total = pw.year_average(sup.stock_w_hist), pw.year_average(sup.stock_peak_w)
    gco2 = np.stack([np.broadcast_to(d[f"grid_gco2_per_kwh_{r}"], (n,)) for r in REGIONS], axis=1)
    rel = np.stack([np.broadcast_to(d[f"nonai_growth_rel_{r}"], (n,)) for r in REGIONS], axis=1)
    raw = rg.nonai_raw(d["nonai_share"], rel, yrs, s.start_year)
    nonai_g = np.einsum("nyr,nr->ny", raw, gco2) / raw.sum(axis=2)
    index = dm.index_at(_steps(d, "grid_intensity_change_per_year", s, n), s.t0)
    onsite_g = np.broadcast_to(d["onsite_generation_gco2_per_kwh"], (n,))
    reg = Regions(t0=s.t0, sup=sup, mon=mon, custom_frac=np.broadcast_to(d["custom_accelerator_spend_frac"], (n,)), w_hist=w_hist, w_total=w_total,
                  w_unsplit=pw.year_average(sup.stock_w_unsplit), share_hist=hist, share_new=new, nonai_raw=raw, gco2_per_kwh=gco2,
                  intensity_index=index, onsite_gco2_per_kwh=onsite_g, emissions_world=np.zeros(0))
    # the AI fleet's mean grid intensity: each region's share of its power at the region's intensity
    ai_g = sum(reg.ai_share(r) * gco2[:, r : r + 1] for r in range(len(REGIONS)))
    grid = (pwr.ai_twh * (1.0 - pwr.onsite_frac) * ai_g + pwr.nonai_twh * nonai_g) * index
    world = pw.emissions_tco2e(grid, 1.0) + pw.emissions_tco2e(pwr.ai_twh * pwr.onsite_frac, col(onsite_g))
    object.__setattr__(reg, "emissions_world", world)
    return reg


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


def _metrics(d: dict[str, np.ndarray], s: ChainSetup, dem: Demand, sup: Supply, pwr: Power, mon: Money, reg: Regions) -> dict[str, np.ndarray]:
    f, cs = sup.fleet, sup.china.split
    years = sup.stock_h100e.shape[1]
    forecast = np.arange(years)[None, :] > s.t0
    req = dem.required_h100e
    served = np.minimum(pw.year_average(sup.stock_h100e), req) / np.where(req > 0, req, 1.0)
    ai_share = lambda part: pwr.ai_twh * part / np.where(req > 0, req, 1.0)  # noqa: E731  (AI energy split by each segment's share of demand)
    capex_cum = np.where(forecast, np.cumsum(np.where(forecast, mon.capex, 0.0), axis=1), 0.0)
    m: dict[str, np.ndarray] = {
        "energy_twh": pwr.total_twh,
        "ai_energy_twh": pwr.ai_twh,
        "ai_energy_inference_twh": ai_share(dem.inference_h100e),
        "ai_energy_training_twh": ai_share(dem.training_h100e),
        "ai_energy_other_twh": ai_share(dem.other_h100e),
        "nonai_energy_twh": pwr.nonai_twh,
        "onsite_energy_frac": pwr.onsite_frac,
        "facility_power_mw": pwr.total_twh * pw.W_PER_TWH_YEAR / 1e6,
        "it_power_mw": (pwr.ai_it_w + pwr.nonai_twh * pw.W_PER_TWH_YEAR / col(d["pue_nonai"])) / 1e6,
        "ai_it_power_mw": pwr.ai_it_w / 1e6,
        "ai_facility_power_mw": pwr.ai_facility_w / 1e6,
        "ai_capacity_mw": sup.capacity_w / 1e6,
        "ai_capacity_added_mw": sup.capacity_added_w / 1e6,
        "onsite_capacity_added_mw": sup.onsite_added_w / 1e6,
        "pue_ai": np.array(pwr.pue),
        "accelerators_installed": sup.stock_units,
        "h100e_installed": sup.stock_h100e,
        "h100e_required": req,
        "h100e_required_inference": dem.inference_h100e,
        "h100e_required_training": dem.training_h100e,
        "h100e_required_other": dem.other_h100e,
        "shipments_h100e": sup.ship_h100e + cs.domestic,
        "shipments_units": sup.ship_h100e / sup.vintage.h100e_per_unit + cs.domestic / sup.china.domestic.h100e_per_unit,
        "chip_supply_h100e": sup.chip_cap_h100e,
        "unmet_demand_frac": sup.unmet_frac,
        "backlog_years": sup.backlog_years,
        "binding_chips": (f.binding == sp.CHIPS).astype(float),
        "binding_power": (f.binding == sp.POWER).astype(float),
        "training_budget_bound": np.where(forecast, (dem.training_budget_h100e < dem.training_trend_h100e).astype(float), 0.0),
        "accelerator_spend_usd": mon.spend,
        "gpu_spend_usd": mon.gpu_spend,
        "capex_usd": mon.capex,
        "capex_cumulative_usd": capex_cum,
        "hyperscaler_capex_usd": mon.hyperscaler_capex,
        "opex_usd": mon.opex,
        "market_size_usd": mon.capex + mon.opex,
        "usd_per_h100e_hour": mon.tco_h,
        "usd_per_mtok": mon.usd_per_mtok,
        "emissions_tco2e": reg.emissions_world,
        "tokens_per_year": dem.tokens,
        "inference_flop_per_year": dem.inference_flop * served,
        "training_flop_per_year": dem.training_flop * served,
        "china_placed_h100e": cs.placed,
        "china_domestic_shipments_h100e": cs.domestic,
        "china_import_shipments_h100e": cs.imported,
        "china_shortfall_h100e": cs.shortfall,
    }
    for i, g in enumerate(s.segments):
        m[f"h100e_required_{g}"] = dem.segment_h100e[:, i]
    return m


def _finish(d: dict[str, np.ndarray], s: ChainSetup, dem: Demand, sup: Supply, pwr: Power, mon: Money, reg: Regions) -> ChainOutput:
    m = _metrics(d, s, dem, sup, pwr, mon, reg)
    return ChainOutput(metrics=m, demand=dem, supply=sup, power=pwr, money=mon, regions=reg, units_by_generation=sup.units_by_generation)


def run_chain(d: dict[str, np.ndarray], s: ChainSetup, demand: Demand | None = None) -> ChainOutput:
    """Every metric for ``n`` drawn samples (see the module docstring); ``demand`` when already computed for these draws."""
    n = len(d["pue_ai"])
    dem = stage_demand(d, s, n) if demand is None else demand
    sup = stage_supply(d, s, n, dem)
    pwr = stage_power(d, s, n, sup)
    mon = stage_money(d, s, n, dem, sup, pwr)
    reg = stage_regions(d, s, n, sup, pwr, mon)
    return _finish(d, s, dem, sup, pwr, mon, reg)


def first_stage(changed: Iterable[str]) -> str | None:
    """The earliest stage that reads any of ``changed`` (driver names, or a share group: ``ai_share_new`` enters supply, the others regions)."""
    idx = [STAGES.index(DRIVERS[c].stage if c in DRIVERS else SHARE_GROUP_STAGES.get(c, "regions")) for c in changed]
    return STAGES[min(idx)] if idx else None


def rerun(prev: ChainOutput, d: dict[str, np.ndarray], s: ChainSetup, changed: Iterable[str]) -> ChainOutput:
    """Recompute from the first stage a changed driver enters, reusing the cached stages before it.

    Gives the same arrays as ``run_chain(d, s)`` when ``d`` differs from the draws behind ``prev``
    only in ``changed``.
    """
    first = first_stage(changed)
    if first is None:
        return prev
    n = len(d["pue_ai"])
    k = STAGES.index(first)
    dem = stage_demand(d, s, n) if k <= 0 else prev.demand
    sup = stage_supply(d, s, n, dem) if k <= 1 else prev.supply
    pwr = stage_power(d, s, n, sup) if k <= 2 else prev.power
    mon = stage_money(d, s, n, dem, sup, pwr) if k <= 3 else prev.money
    reg = stage_regions(d, s, n, sup, pwr, mon)
    return _finish(d, s, dem, sup, pwr, mon, reg)
