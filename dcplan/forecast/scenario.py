"""Forecast scenarios: the named drivers, their distributions, sources and the scenario spec.

A scenario is a set of parameters, each a :class:`Distribution` with a source and a date, plus
the structure around them (years, hardware generations, rank correlations). Parsing YAML into
these lives in :mod:`dcplan.io.scenario`; nothing here reads files.

Distributions follow the conventions of squigglepy and Guesstimate (squiggle-language.com: ``a
to b`` is a lognormal 90 % interval): lognormal and beta given by an interval of quantiles (P5-P95
or P10-P90), triangular by low/mode/high, uniform by low/high, fixed by value.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from dcplan.errors import InputError

DIST_KINDS = ("fixed", "uniform", "triangular", "lognormal", "beta")
REGIONS = ("us", "china", "europe", "apac", "row")
REGION_LABELS = {
    "us": "United States",
    "china": "China",
    "europe": "Europe",
    "apac": "Asia Pacific excl. China",
    "row": "Rest of world",
}
#: Demand segments a scenario can sum (``demand_segments``): the applications (issue 19) and the
#: consumer/enterprise split of user groups, each with the same set of drivers (``segment_drivers``).
SEGMENT_LABELS = {
    "dialogue": "dialogue and assistants",
    "translation": "translation",
    "summarisation": "summarisation (documents, meetings, search answers)",
    "code": "code generation",
    "multimodal": "multimodal (image and video tokens)",
    "agents": "agents and reasoning (long hidden outputs)",
    "consumer": "consumer users",
    "enterprise": "enterprise seats",
}
#: The application segments: the default ``demand_segments`` of a scenario.
APPLICATIONS = ("dialogue", "translation", "summarisation", "code", "multimodal", "agents")
SEGMENTS = tuple(SEGMENT_LABELS)


# --------------------------------------------------------------------------------------------
# The drivers dcplan knows: domain, unit, whether a value may vary by year
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Driver:
    """A parameter the chain reads: its allowed domain, unit and the chain stage that reads it first."""

    name: str
    unit: str
    domain: str
    """positive | nonneg | fraction | growth (x/yr > 0) | gain (x/yr >= 1) | ratio1 (>= 1) | year | share"""
    description: str
    stage: str
    """First stage of the chain that reads it (see ``STAGES``): a change re-runs that stage and those after it."""
    per_year_ok: bool = False
    segment: str | None = None
    """The demand segment whose driver this is (None: not a segment driver); read only when the scenario sums that segment."""


#: The chain's stages in order; a stage reads the drivers tagged with it and the outputs of earlier stages.
STAGES = ("demand", "supply", "power", "money", "regions")

_DRIVERS: list[Driver] = []


def _add(stage: str, name: str, unit: str, domain: str, description: str, per_year_ok: bool = False, segment: str | None = None) -> None:
    _DRIVERS.append(Driver(name=name, unit=unit, domain=domain, description=description, stage=stage, per_year_ok=per_year_ok, segment=segment))


#: Suffix -> (unit, domain, description, per_year_ok) of the drivers every demand segment has (``<segment>_<suffix>``).
SEGMENT_DRIVERS = {
    "market_size_users": ("users", "positive", "Bass market size m (potential adopters)", False),
    "bass_p": ("1/yr", "fraction", "Bass innovation coefficient p", False),
    "bass_q": ("1/yr", "positive", "Bass imitation coefficient q", False),
    "adoption_start_year": ("year", "year", "year (fractional) the diffusion starts (the launch)", False),
    "uses_per_user_per_day": ("uses/user/day", "positive", "uses (messages, requests, sessions) per adopter per day in the demand anchor year", False),
    "tokens_per_use": ("tokens/use", "positive", "tokens processed per use (input, output and hidden reasoning) in the demand anchor year", False),
    "tokens_growth_per_year": ("x/yr", "growth", "growth of tokens per adopter per day (more uses, longer contexts and outputs); tapers", True),
    "served_active_params": ("parameters", "positive", "active parameters of the models serving the segment in the demand anchor year", False),
}


def segment_driver_names(segment: str) -> tuple[str, ...]:
    """The drivers of one demand segment, in registry order."""
    return tuple(f"{segment}_{suffix}" for suffix in SEGMENT_DRIVERS)


for _s in SEGMENTS:
    for _suffix, (_unit, _dom, _desc, _py) in SEGMENT_DRIVERS.items():
        _add("demand", f"{_s}_{_suffix}", _unit, _dom, f"{_desc}, {SEGMENT_LABELS[_s]}", _py, segment=_s)
# inference, shared by the segments
_add("demand", "token_growth_halflife_years", "years", "positive", "half-life of the excess growth of tokens per adopter (taper), all segments")
_add("demand", "served_active_params_growth_per_year", "x/yr", "growth", "growth of the served models' active parameters, all segments", True)
_add("demand", "attention_overhead_ratio", "ratio", "positive", "attention FLOPs at typical context / 2N per token")
_add("demand", "inference_efficiency_gain_per_year", "x/yr", "gain", "algorithmic and serving efficiency gain per token (FLOPs, not hardware)", True)
_add("demand", "inference_efficiency_halflife_years", "years", "positive", "half-life of the excess efficiency gain (taper)")
_add("demand", "token_price_elasticity", "-", "nonneg", "rebound: tokens rise as (efficiency gain)^elasticity when serving gets cheaper")
_add("demand", "inference_utilisation_frac", "fraction", "fraction", "served FLOP/s / dense BF16 peak, averaged over the fleet and the day")
# training, bounded by what revenue pays for
_add("demand", "frontier_run_flop", "FLOP", "positive", "training compute of a frontier run in the demand anchor year")
_add("demand", "frontier_compute_growth_per_year", "x/yr", "growth", "growth of frontier training compute", True)
_add("demand", "frontier_growth_halflife_years", "years", "positive", "half-life of the excess frontier growth (taper)")
_add("demand", "frontier_runs_per_year", "runs/yr", "positive", "frontier-scale training runs per year")
_add("demand", "experiment_compute_multiplier", "ratio", "ratio1", "all training and research compute / frontier final-run compute")
_add("demand", "training_utilisation_frac", "fraction", "fraction", "model FLOPs utilisation x goodput of training")
_add("demand", "training_spend_share_of_ai_revenue", "ratio", "positive", "training and research compute spend / AI revenue (above 1 where investors fund it)")
_add("demand", "ai_revenue_per_inference_cost", "ratio", "ratio1", "AI revenue / cost of the compute that serves it (gross markup)")
# AI outside the LLM chain
_add("demand", "other_ai_h100e", "H100e", "positive", "AI compute outside LLM serving and training (recommenders, ranking, vision...) in the demand anchor year")
_add("demand", "other_ai_compute_growth_per_year", "x/yr", "growth", "growth of AI compute outside the LLM chain after the demand anchor year", True)
_add("demand", "other_ai_growth_before_anchor_per_year", "x/yr", "growth", "growth of AI compute outside the LLM chain up to the demand anchor year")
# fleet and chip supply
_add("supply", "start_fit_target_ratio", "ratio", "positive", "requirement the start-year fleet was built for / that fleet, as observed (above 1: supply-bound)")
_add("supply", "start_fit_log_sigma", "-", "positive", "spread (log) of that ratio (conditioning on the start year)")
_add("supply", "planning_lead_years", "years", "nonneg", "years ahead of demand the fleet is built for (procurement and construction lead)")
_add("supply", "accelerator_median_life_years", "years", "positive", "median service life of an accelerator (Weibull)")
_add("supply", "accelerator_life_weibull_shape", "-", "positive", "Weibull shape of accelerator retirement")
_add("supply", "chip_supply_growth_per_year", "x/yr", "growth", "growth of producible accelerator packages (CoWoS/HBM) in the first forecast year", True)
_add("supply", "chip_supply_growth_halflife_years", "years", "positive", "half-life of the excess packaging growth (taper)")
_add("supply", "chip_supply_response", "-", "nonneg", "extra packaging growth per unit of last year's chip shortfall (supply answers orders)")
_add("supply", "chip_supply_headroom_frac", "fraction", "nonneg", "producible packages above the start year's shipments")
_add("supply", "chip_perf_growth_per_year", "x/yr", "gain", "H100e per accelerator growth after the last catalog generation")
_add("supply", "chip_flops_per_watt_growth_per_year", "x/yr", "gain", "FLOP/s per watt growth after the last catalog generation")
_add("supply", "price_performance_gain_per_year", "x/yr", "gain", "FLOP/s per dollar growth after the last catalog generation")
_add("supply", "accelerator_price_scale", "ratio", "positive", "multiplier on the generations' published unit prices")
_add("supply", "custom_accelerator_spend_frac", "fraction", "fraction", "share of accelerator spend on ASICs (TPU, Trainium...) outside GPU revenue")
_add("supply", "it_overhead_factor", "ratio", "ratio1", "IT power incl. network and storage / server power")
_add("supply", "capacity_headroom_frac", "fraction", "nonneg", "built critical IT capacity above installed peak load")
_add("supply", "grid_additions_start_mw", "MW/yr", "positive", "AI critical IT capacity connectable per year at the start of the pipeline")
_add("supply", "grid_additions_growth_per_year", "x/yr", "growth", "growth of connectable capacity while far from its ceiling (logistic rate)")
_add("supply", "grid_additions_ceiling_mw", "MW/yr", "positive", "ceiling of connectable AI capacity per year (saturating build-out)")
_add("supply", "grid_connection_lead_years", "years", "nonneg", "years from a connection request to energisation")
_add("supply", "onsite_generation_max_mw_per_year", "MW/yr", "nonneg", "on-site generation addable per year where the grid binds (0 disables the option)")
# China's supply by origin: domestic accelerators (own capacity and yield) and imports under export controls
_add("supply", "china_domestic_die_starts_per_year", "dies/yr", "positive", "accelerator logic dies started per year by China's domestic makers in the demand anchor year")
_add("supply", "china_domestic_die_starts_growth_per_year", "x/yr", "growth", "growth of domestic die starts (foundry capacity) in the first forecast year; tapers")
_add("supply", "china_domestic_growth_halflife_years", "years", "positive", "half-life of the excess growth of domestic die starts (taper)")
_add("supply", "china_domestic_yield_frac", "fraction", "fraction", "share of domestic dies that work, in the demand anchor year")
_add("supply", "china_domestic_mature_yield_frac", "fraction", "fraction", "yield the domestic process tends to")
_add("supply", "china_domestic_yield_halflife_years", "years", "positive", "half-life of the gap between the domestic yield and its mature level")
_add("supply", "china_domestic_h100e_per_die", "H100e", "positive", "dense BF16 of one working domestic die / H100 SXM, in the demand anchor year")
_add("supply", "china_domestic_perf_growth_per_year", "x/yr", "gain", "growth of H100e per domestic die (the domestic roadmap)")
_add("supply", "china_domestic_dies_per_accelerator", "dies", "positive", "logic dies per domestic accelerator package")
_add("supply", "china_domestic_w_per_h100e", "W/H100e", "positive", "peak IT power per H100e of the demand anchor year's domestic systems (node and network)")
_add("supply", "china_domestic_usd_per_h100e", "USD/H100e", "positive", "price of domestic accelerators per H100e in the demand anchor year (without servers)")
_add("supply", "china_import_cap_h100e_per_year", "H100e/yr", "nonneg", "accelerators China can import under export controls (licensed and grey-market) in the first forecast year")
_add("supply", "china_import_cap_growth_per_year", "x/yr", "growth", "growth of that import ceiling per year")
_add("supply", "china_export_controls_start_year", "year", "year", "year (fractional) export controls on accelerators to China start; imports are uncapped before it")
# power
_add("power", "accelerator_load_frac", "fraction", "fraction", "average / peak server power")
_add("power", "pue_ai", "ratio", "ratio1", "PUE of AI capacity in the start year")
_add("power", "pue_ai_floor", "ratio", "ratio1", "PUE the AI fleet tends to")
_add("power", "pue_improvement_halflife_years", "years", "positive", "half-life of (PUE - floor)")
_add("power", "pue_nonai", "ratio", "ratio1", "average PUE of non-AI data centres")
_add("power", "nonai_energy_anchor_twh", "TWh", "positive", "world data-centre electricity in the non-AI anchor year")
_add("power", "nonai_growth_per_year", "x/yr", "growth", "growth of non-AI data-centre electricity", True)
_add("power", "nonai_growth_halflife_years", "years", "positive", "half-life of the excess non-AI growth after the start year (taper)")
# money
_add("money", "it_system_cost_multiplier", "ratio", "ratio1", "IT capex (servers, network, storage) / accelerator spend")
_add("money", "facility_usd_per_mw", "USD/MW", "positive", "facility capex per MW of critical IT capacity")
_add("money", "facility_refit_frac", "fraction", "fraction", "share of the facility cost re-spent when a new generation moves into capacity freed by retirements")
_add("money", "onsite_generation_usd_per_kw", "USD/kW", "positive", "capex of on-site generation per kW")
_add("money", "onsite_generation_usd_per_kwh", "USD/kWh", "positive", "cost of on-site electricity (fuel and O&M)")
_add("money", "electricity_usd_per_kwh", "USD/kWh", "positive", "grid electricity price")
_add("money", "discount_rate_frac", "fraction", "fraction", "cost of capital for annualising capex")
_add("money", "facility_life_years", "years", "positive", "life of the facility for annualising its capex")
_add("money", "maintenance_frac_per_year", "1/yr", "fraction", "maintenance and support per year / IT capex")
_add("money", "hyperscaler_share_of_ai_capex_frac", "fraction", "fraction", "share of AI capex spent by the four largest US hyperscalers")
_add("money", "hyperscaler_other_capex_usd", "USD/yr", "positive", "their capex outside AI data centres (offices, logistics, conventional cloud)")
# regions and carbon
_add("regions", "grid_intensity_change_per_year", "x/yr", "growth", "change of grid carbon intensity per year", True)
_add("regions", "onsite_generation_gco2_per_kwh", "gCO2e/kWh", "positive", "carbon intensity of on-site generation")
_add("supply", "ai_share_concentration", "-", "positive", "Dirichlet concentration of the regional shares of new AI capacity (higher = tighter)")
for _r in REGIONS:
    _add("regions", f"grid_gco2_per_kwh_{_r}", "gCO2e/kWh", "positive", f"grid carbon intensity, {REGION_LABELS[_r]}, start year")
    _add("regions", f"ai_share_history_{_r}", "fraction", "share", f"share of AI accelerators deployed in {REGION_LABELS[_r]} up to the start year")
    _add("supply", f"ai_share_new_{_r}", "fraction", "share",
         f"mean share of new AI capacity demanded in {REGION_LABELS[_r]} after the start year (China: before its supply split by origin)")
    _add("regions", f"nonai_share_{_r}", "fraction", "share", f"share of non-AI data-centre electricity in {REGION_LABELS[_r]} in the start year")
    _add("regions", f"nonai_growth_rel_{_r}", "ratio", "positive", f"non-AI growth in {REGION_LABELS[_r]} / world non-AI growth (per year)")

DRIVERS: Mapping[str, Driver] = {d.name: d for d in _DRIVERS}
#: The groups of share drivers that must sum to 1 (one Dirichlet or one fixed split each).
SHARE_GROUPS = ("ai_share_history", "ai_share_new", "nonai_share")


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------

_QUANTILE_KEYS = (("p5", "p95", 0.05, 0.95), ("p10", "p90", 0.10, 0.90))


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """One parameter's uncertainty; ``ppf(u)`` maps uniforms in (0, 1) to values.

    lognormal: exp(mu + sigma z) fitted through two quantiles (p5/p95 or p10/p90).
    beta: Beta(alpha, beta) given directly or fitted through two quantiles inside (0, 1).
    triangular: low <= mode <= high. uniform: low < high. fixed: value.
    """

    kind: str
    value: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    p5: float | None = None
    p95: float | None = None
    p10: float | None = None
    p90: float | None = None
    alpha: float | None = None
    beta: float | None = None

    def __post_init__(self) -> None:
        check = {
            "fixed": self._check_fixed,
            "uniform": self._check_uniform,
            "triangular": self._check_triangular,
            "lognormal": self._check_lognormal,
            "beta": self._check_beta,
        }
        if self.kind not in check:
            from dcplan.io.schema import suggest

            raise InputError("dist", f"unknown distribution {self.kind!r}{suggest(self.kind, DIST_KINDS)}; use one of {', '.join(DIST_KINDS)}")
        for name in ("value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise InputError(name, f"must be a finite number, got {v!r}")
        check[self.kind]()

    # -- validation ---------------------------------------------------------------------------
    def _only(self, *allowed: str) -> None:
        for name in ("value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta"):
            if getattr(self, name) is not None and name not in allowed:
                raise InputError(name, f"not used by a {self.kind} distribution (it takes {', '.join(allowed)})")

    def _check_fixed(self) -> None:
        self._only("value")
        if self.value is None:
            raise InputError("value", "a fixed distribution needs value")

    def _check_uniform(self) -> None:
        self._only("low", "high")
        if self.low is None or self.high is None:
            raise InputError("low", "a uniform distribution needs low and high")
        if not self.low < self.high:
            raise InputError("high", f"must be above low ({self.low}), got {self.high}")

    def _check_triangular(self) -> None:
        self._only("low", "mode", "high")
        if self.low is None or self.mode is None or self.high is None:
            raise InputError("mode", "a triangular distribution needs low, mode and high")
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise InputError("mode", f"needs low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}")

    def _pair(self) -> tuple[float, float, float, float]:
        pairs = [(lo, hi, ql, qh) for lo, hi, ql, qh in _QUANTILE_KEYS if getattr(self, lo) is not None or getattr(self, hi) is not None]
        if len(pairs) != 1:
            raise InputError("p5", f"a {self.kind} distribution takes one quantile pair: p5 and p95, or p10 and p90")
        lo, hi, ql, qh = pairs[0]
        a, b = getattr(self, lo), getattr(self, hi)
        if a is None or b is None:
            raise InputError(hi if b is None else lo, f"give both {lo} and {hi}")
        if not a < b:
            raise InputError(lo, f"{lo} ({a}) must be below {hi} ({b})")
        return a, b, ql, qh

    def _check_lognormal(self) -> None:
        self._only("p5", "p95", "p10", "p90")
        a, _b, _, _ = self._pair()
        if a <= 0:
            raise InputError("p5" if self.p5 is not None else "p10", f"a lognormal is positive: quantiles must be > 0, got {a}")

    def _check_beta(self) -> None:
        if self.alpha is not None or self.beta is not None:
            self._only("alpha", "beta")
            if not (self.alpha and self.beta and self.alpha > 0 and self.beta > 0):
                raise InputError("alpha", f"a beta distribution needs alpha > 0 and beta > 0, got {self.alpha}, {self.beta}")
            return
        self._only("p5", "p95", "p10", "p90")
        a, b, _, _ = self._pair()
        if not (0 < a and b < 1):
            raise InputError("p5" if self.p5 is not None else "p10", f"a beta distribution is a fraction: quantiles must lie in (0, 1), got {a}, {b}")

    # -- maths --------------------------------------------------------------------------------
    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def lognormal_mu_sigma(self) -> tuple[float, float]:
        """(mu, sigma) of log X through the two quantiles: sigma = ln(b/a) / (z_hi - z_lo)."""
        from scipy.special import ndtri

        a, b, ql, qh = self._pair()
        zl, zh = float(ndtri(ql)), float(ndtri(qh))
        sigma = (math.log(b) - math.log(a)) / (zh - zl)
        return math.log(a) - sigma * zl, sigma

    def beta_ab(self) -> tuple[float, float]:
        if self.alpha is not None and self.beta is not None:
            return float(self.alpha), float(self.beta)
        a, b, ql, qh = self._pair()
        return _fit_beta(a, b, ql, qh)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function evaluated at uniforms ``u`` (any shape)."""
        u = np.asarray(u, dtype=float)
        if self.kind == "fixed":
            return np.full(u.shape, float(self.value))  # type: ignore[arg-type]
        if self.kind == "uniform":
            return self.low + u * (self.high - self.low)  # type: ignore[operator]
        if self.kind == "triangular":
            lo, c, hi = float(self.low), float(self.mode), float(self.high)  # type: ignore[arg-type]
            fc = (c - lo) / (hi - lo)
            left = lo + np.sqrt(u * (hi - lo) * (c - lo))
            right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - c))
            return np.where(u < fc, left, right)
        from scipy.special import betaincinv, ndtri

        if self.kind == "lognormal":
            mu, sigma = self.lognormal_mu_sigma()
            return np.exp(mu + sigma * ndtri(u))
        a, b = self.beta_ab()
        if u.size <= _EXACT_BELOW:
            return betaincinv(a, b, u)
        z_grid, v_grid = _beta_table(a, b)
        return np.interp(ndtri(u), z_grid, v_grid)

    def median(self) -> float:
        return _median(self)

    def support(self) -> tuple[float, float]:
        """Smallest and largest values the distribution can take (inf where unbounded)."""
        if self.kind == "fixed":
            return float(self.value), float(self.value)  # type: ignore[arg-type]
        if self.kind in ("uniform", "triangular"):
            return float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.kind == "beta":
            return 0.0, 1.0
        return 0.0, math.inf

    def describe(self) -> str:
        """One line for tables: 'lognormal p5 1.3 .. p95 3'."""
        keys = [k for k in ("value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta") if getattr(self, k) is not None]
        return self.kind + " " + " ".join(f"{k} {getattr(self, k):.4g}" for k in keys)

    def as_dict(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"dist": self.kind}
        for k in ("value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out


@functools.lru_cache(maxsize=4096)
def _median(dist: Distribution) -> float:
    """A distribution's median, once per distinct distribution (the parameter table asks for every driver's on each dashboard update)."""
    return float(dist.ppf(np.array([0.5]))[0])


_EXACT_BELOW = 4096
"""Above this many draws the beta quantile is read from a table (betaincinv is ~1 us a call)."""


@functools.lru_cache(maxsize=256)
def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Beta quantiles on 8,193 normal scores in [-8.3, 8.3]: linear in z between them (relative error ~1e-6 at the extreme tails, less inside)."""
    from scipy.special import betaincinv, ndtr

    z = np.linspace(-8.3, 8.3, 8193)
    return z, betaincinv(a, b, ndtr(z))


@functools.lru_cache(maxsize=256)
def _fit_beta(a: float, b: float, ql: float, qh: float) -> tuple[float, float]:
    """Beta(alpha, beta) whose ``ql`` and ``qh`` quantiles are ``a`` and ``b`` (least squares in log-space)."""
    from scipy.optimize import least_squares
    from scipy.special import betaincinv

    def resid(x: np.ndarray) -> np.ndarray:
        al, be = np.exp(x)
        return np.array([betaincinv(al, be, ql) - a, betaincinv(al, be, qh) - b])

    m = (a + b) / 2
    fit = least_squares(resid, x0=np.log([m * 10, (1 - m) * 10]), xtol=1e-12, ftol=1e-12)
    al, be = (float(v) for v in np.exp(fit.x))
    if np.max(np.abs(resid(fit.x))) > 1e-4 * max(b - a, 1e-9):
        raise InputError("p5", f"no beta distribution has these quantiles ({a}, {b})")
    return al, be


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """A driver's value or distribution with where it comes from."""

    name: str
    dist: Distribution
    source: str
    date: str
    per_year: bool = False
    """Drawn separately for each forecast year (AR(1) rank-correlated across years)."""
    notes: str = ""

    @property
    def driver(self) -> Driver:
        return DRIVERS[self.name]


@dataclass(frozen=True, kw_only=True)
class Correlation:
    """A Spearman rank correlation between two drivers (Iman-Conover)."""

    a: str
    b: str
    rho: float
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Generation:
    """Accelerator generation that dominates the vintages shipped from ``first_vintage`` on.

    ``h100e_per_unit`` and ``server_power_w`` come from the hardware catalog (dense peak in
    ``precision`` / H100 SXM BF16 peak; node power / accelerators per node); ``usd_per_unit``
    is the published (press or list) price of one accelerator with its ``price_source``. A
    generation with no ``hardware`` extends the last catalog one by the chip_perf,
    FLOP/s-per-watt and price-performance trends.
    """

    name: str
    first_vintage: int
    hardware: str | None = None
    precision: str = "bf16"
    h100e_per_unit: float | None = None
    server_power_w: float | None = None
    """Peak server power per accelerator (host, NICs, fans) [W]."""
    usd_per_unit: float | None = None
    """Price of one accelerator (its share of the baseboard included) [USD]."""
    price_source: str = ""
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class SpendHistory:
    """GPU revenue by calendar year (data/market/accelerator_spend.csv) [USD]."""

    years: tuple[int, ...]
    gpu_spend_usd: tuple[float, ...]
    sources: tuple[str, ...] = ()

    def until(self, year: int) -> SpendHistory:
        keep = [i for i, y in enumerate(self.years) if y <= year]
        return SpendHistory(
            years=tuple(self.years[i] for i in keep),
            gpu_spend_usd=tuple(self.gpu_spend_usd[i] for i in keep),
            sources=tuple(self.sources[i] for i in keep) if self.sources else (),
        )


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A named set of drivers with their distributions, and the structure of the run."""

    name: str
    title: str = ""
    description: str = ""
    file: str = ""
    extends_chain: tuple[str, ...] = ()
    """Files this scenario was merged from, the base first."""
    start_year: int
    """Last year of history: the fleet up to it comes from accelerator spend."""
    horizon_end_year: int
    demand_anchor_year: int
    """Year the demand levels (tokens per user, frontier run, served model, other AI) refer to."""
    nonai_anchor_year: int
    """Year of the non-AI electricity anchor (``nonai_energy_anchor_twh``)."""
    year_correlation: float = 0.8
    """AR(1) rank correlation rho^|i-j| between years of a per-year parameter."""
    segments: tuple[str, ...] = APPLICATIONS
    """The demand segments summed into LLM serving demand (``demand_segments``; see ``SEGMENT_LABELS``)."""
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    correlations: tuple[Correlation, ...] = ()
    generations: tuple[Generation, ...] = ()
    history: SpendHistory
    h100e_peak_flops_per_s: float = 989.4e12
    """Dense BF16 peak of the H100 SXM, the H100-equivalent (set from the catalog by the loader) [FLOP/s]."""
    lines: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    """Top-level field or ``parameters.NAME`` -> (file, line) where it was set, for errors."""

    def error(self, key: str, message: str) -> InputError:
        """An InputError located at the file and line that set ``key``."""
        file, line = self.lines.get(key, (self.file, None))
        return InputError(key, message, file=file or None, line=line)

    def __post_init__(self) -> None:
        if not -1 < self.year_correlation < 1:
            raise InputError("year_correlation", f"must lie in (-1, 1), got {self.year_correlation}")
        if self.horizon_end_year <= self.start_year:
            raise InputError("horizon_end_year", f"must be after start_year ({self.start_year}), got {self.horizon_end_year}")
        self._check_segments()
        missing = sorted(set(self.required_drivers()) - set(self.parameters))
        if missing:
            raise InputError("parameters", f"missing: {', '.join(missing)}")
        if not self.history.years:
            raise InputError("history", "no accelerator spend history")
        first, last = self.history.years[0], self.history.years[-1]
        if not first <= self.start_year <= last:
            raise InputError("start_year", f"must lie within the spend history {first}-{last}, got {self.start_year}")
        if not first <= self.nonai_anchor_year <= self.start_year:
            raise InputError("nonai_anchor_year", f"must lie within {first}-{self.start_year}, got {self.nonai_anchor_year}")
        if not first <= self.demand_anchor_year <= self.horizon_end_year:
            raise InputError("demand_anchor_year", f"must lie within {first}-{self.horizon_end_year}, got {self.demand_anchor_year}")
        if not self.generations or self.generations[0].first_vintage > first:
            raise InputError("generations", f"the first generation must cover the first history year {first}")
        for group in SHARE_GROUPS:
            total = sum(self.parameters[f"{group}_{r}"].dist.median() for r in REGIONS)
            if abs(total - 1.0) > 0.02:
                raise self.error(f"parameters.{group}_us", f"the {group}_* shares must sum to 1, got {total:.3f}")

    def _check_segments(self) -> None:
        from dcplan.io.schema import suggest

        if not self.segments:
            raise self.error("demand_segments", f"name at least one demand segment: {', '.join(SEGMENTS)}")
        for seg in self.segments:
            if seg not in SEGMENT_LABELS:
                raise self.error("demand_segments", f"unknown demand segment {seg!r}{suggest(str(seg), SEGMENTS)}; use some of {', '.join(SEGMENTS)}")
        if len(set(self.segments)) != len(self.segments):
            raise self.error("demand_segments", f"a segment is listed twice: {', '.join(self.segments)}")

    def active(self, name: str) -> bool:
        """Whether the chain reads driver ``name`` in this scenario (a segment's drivers only when the segment is summed)."""
        seg = DRIVERS[name].segment if name in DRIVERS else None
        return seg is None or seg in self.segments

    def required_drivers(self) -> list[str]:
        """Every driver the chain reads for this scenario: all but the drivers of segments it does not sum."""
        return [n for n in DRIVERS if self.active(n)]

    @property
    def first_year(self) -> int:
        return self.history.years[0]

    @property
    def years(self) -> tuple[int, ...]:
        """Every simulated year: history then forecast."""
        return tuple(range(self.first_year, self.horizon_end_year + 1))

    @property
    def forecast_years(self) -> tuple[int, ...]:
        return tuple(range(self.start_year + 1, self.horizon_end_year + 1))

    def uncertain(self) -> list[Parameter]:
        """Parameters that are not fixed, in registry order (shares excluded: they are fixed splits or a Dirichlet)."""
        return [self.parameters[n] for n in DRIVERS
                if n in self.parameters and self.active(n) and not self.parameters[n].dist.is_fixed and DRIVERS[n].domain != "share"]


def check_domain(p: Parameter) -> None:
    """Raise InputError if the distribution can leave the driver's domain (fraction outside 0-1...)."""
    d = DRIVERS[p.name]
    given = [v for v in (p.dist.value, p.dist.low, p.dist.mode, p.dist.high, p.dist.p5, p.dist.p95, p.dist.p10, p.dist.p90) if v is not None]
    vmin, vmax = (min(given), max(given)) if given else p.dist.support()
    if d.domain in ("fraction", "share") and (vmin < 0 or vmax > 1):
        raise InputError("dist", f"{p.name} is a fraction: values must lie in 0-1, got {vmin:g}..{vmax:g}")
    if d.domain == "nonneg" and vmin < 0:
        raise InputError("dist", f"{p.name} must be >= 0, got {vmin:g}")
    if d.domain in ("positive", "growth") and vmin <= 0:
        raise InputError("dist", f"{p.name} must be > 0, got {vmin:g}")
    if d.domain in ("gain", "ratio1") and vmin < 1:
        what = "a gain (x per year) cannot be negative: values must be >= 1" if d.domain == "gain" else "must be >= 1"
        raise InputError("dist", f"{p.name}: {what}, got {vmin:g}")
    if d.domain == "year" and not 1900 <= vmin <= vmax <= 2200:
        raise InputError("dist", f"{p.name} must be a year, got {vmin:g}..{vmax:g}")
    if p.per_year and not d.per_year_ok:
        raise InputError("per_year", f"{p.name} cannot vary by year (only growth rates can)")


def domain_bounds(name: str) -> tuple[float, float]:
    """Where sampled values are clipped so tails stay in the driver's domain."""
    dom = DRIVERS[name].domain
    return {
        "fraction": (1e-6, 1.0 - 1e-6),
        "share": (0.0, 1.0),
        "gain": (1.0, math.inf),
        "ratio1": (1.0, math.inf),
        "positive": (1e-300, math.inf),
        "nonneg": (0.0, math.inf),
        "growth": (1e-300, math.inf),
    }.get(dom, (-math.inf, math.inf))
