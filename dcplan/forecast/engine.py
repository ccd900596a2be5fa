"""``run_forecast``: draw, run the chain (in chunks of samples), summarise: the forecast's face."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast import regions as rg
from dcplan.forecast import supply as sp
from dcplan.forecast.chain import METRIC_UNITS, ChainOutput, metric_unit, rerun, run_chain, setup_from
from dcplan.forecast.power import W_PER_TWH_YEAR
from dcplan.forecast.result import Comparison, Forecast, LimitSummary, summarise
from dcplan.forecast.sampling import apply_overrides, draw
from dcplan.forecast.scenario import DRIVERS, REGIONS, Scenario

#: Samples run through the chain at once: bounds memory at 100,000 samples.
CHUNK = 20_000


def select_years(scenario: Scenario, years: Sequence[int] | None) -> tuple[int, ...]:
    """The years to report: a (first, last) pair or list inside the simulated range; default start+1 .. start+11."""
    if years is None:
        first = scenario.start_year + 1
        return tuple(range(first, min(first + 10, scenario.horizon_end_year) + 1))
    ys = tuple(int(y) for y in years)
    if len(ys) == 2 and ys[1] > ys[0]:
        ys = tuple(range(ys[0], ys[1] + 1))
    lo, hi = scenario.first_year, scenario.horizon_end_year
    bad = [y for y in ys if not lo <= y <= hi]
    if bad or not ys:
        key = "horizon_end_year" if bad and max(bad) > hi else "start_year"
        raise scenario.error(key, f"years {bad or ys} outside the scenario's range {lo}-{hi} (history from {lo}, horizon to {hi}); pass --years within it")
    return ys


def region_metrics(out: ChainOutput, region: str) -> dict[str, np.ndarray]:
    """World metrics, or one region's (see :func:`region_metric`)."""
    names = [*out.metrics, *(f"accelerators_installed_{g}" for g in out.units_by_generation)]
    shares = _Shares(out, region)
    return {name: region_metric(out, region, name, shares) for name in names}


class _Shares:
    """A region's shares of the AI fleet, of demand and of the non-AI load, each built once on first use."""

    def __init__(self, out: ChainOutput, region: str) -> None:
        self.out, self.r = out, (None if region == "world" else rg.region_index(region))
        self._cache: dict[str, np.ndarray] = {}

    def get(self, kind: str) -> np.ndarray:
        if kind not in self._cache:
            reg = self.out.regions
            self._cache[kind] = {"ai": reg.ai_share, "demand": reg.demand_share, "nonai": reg.nonai_share,
                                 "generation": reg.generation_share}[kind](self.r)
        return self._cache[kind]


def region_metric(out: ChainOutput, region: str, name: str, shares: _Shares | None = None) -> np.ndarray:
    """One metric [n, years] for the world or one region.

    A region's installed accelerators are its own (China: what it made and imported), flows are
    its own (shipments, spend; capex: its spend x the system multiplier and the facility cost by
    its share of power added), demand metrics follow its share of demand, power and energy its
    share of the AI fleet's power, non-AI load its own share, emissions its own grid intensity;
    ratios are the world's; the ``china_*`` metrics are China's (zero elsewhere).
    """
    prefix = "accelerators_installed_"
    v = out.units_by_generation[name[len(prefix):]] if name.startswith(prefix) and name not in out.metrics else out.metrics[name]
    if region == "world" or name in rg.INTENSIVE:
        return v
    sh = shares or _Shares(out, region)
    reg, pwr, r = out.regions, out.power, sh.r
    if name.startswith("china_"):
        return v if region == "china" else np.zeros_like(v)
    if name == "emissions_tco2e":
        return reg.emissions(pwr, r)
    if name in rg.FLOW_BASIS:
        return reg.flow(rg.FLOW_BASIS[name], r)
    if name == "capex_usd":
        return reg.capex(r)
    if name == "capex_cumulative_usd":
        return np.cumsum(np.where(np.arange(v.shape[1])[None, :] > reg.t0, reg.capex(r), 0.0), axis=1)
    if name in ("hyperscaler_capex_usd",):
        with np.errstate(invalid="ignore", divide="ignore"):
            return v * np.nan_to_num(reg.capex(r) / out.money.capex)
    if name in ("ai_capacity_added_mw", "onsite_capacity_added_mw"):
        return v * reg.flow_share("w", r)
    if name == "h100e_installed":
        return reg.stock("h100e", r)
    if name == "accelerators_installed":
        return reg.stock("units", r)
    if name.startswith(prefix):
        if name == f"{prefix}china_domestic":
            return v if region == "china" else np.zeros_like(v)
        return v * sh.get("generation")
    if name in rg.DEMAND or name.startswith("h100e_required_"):
        return v * sh.get("demand")
    if name in rg.NONAI:
        return v * sh.get("nonai")
    if name == "energy_twh":
        return pwr.ai_twh * sh.get("ai") + pwr.nonai_twh * sh.get("nonai")
    if name == "facility_power_mw":
        return (pwr.ai_twh * sh.get("ai") + pwr.nonai_twh * sh.get("nonai")) * (W_PER_TWH_YEAR / 1e6)
    if name == "it_power_mw":  # the AI part at its share, the non-AI part at its share
        ai_it = out.metrics["ai_it_power_mw"]
        return ai_it * sh.get("ai") + (v - ai_it) * sh.get("nonai")
    return v * sh.get("ai")


def _check_region(region: str) -> str:
    region = region.lower()
    if region not in ("world", *REGIONS):
        from dcplan.io.schema import suggest

        raise InputError("region", f"unknown region {region!r}{suggest(region, ('world', *REGIONS))}; use world or one of {', '.join(REGIONS)}")
    return region


#: Metrics whose history-year values are inputs of the chain (the fleet is built from spend).
HISTORY_INPUTS = frozenset({"accelerator_spend_usd", "gpu_spend_usd"})


def compare_with(chunks: list[ChainOutput], scenario: Scenario, observations: Sequence[Any]) -> tuple[Comparison, ...]:
    """dcplan's P10/P50/P90 beside each observation inside the simulated years.

    Each comparison says whether it is independent of the run: an actual that set no parameter
    (``role`` check) and is not a history-year input (spend up to the start year).
    """
    out = []
    years = list(scenario.years)
    cache: dict[tuple[str, str], np.ndarray] = {}
    for ob in observations:
        if ob.metric not in METRIC_UNITS or ob.year not in years or (ob.region != "world" and ob.region not in REGIONS):
            continue
        i = years.index(ob.year)
        key = (ob.region, ob.metric)
        if key not in cache:
            cache[key] = np.concatenate([region_metric(c, ob.region, ob.metric) for c in chunks])
        vals = cache[key][:, i]
        if not np.all(np.isfinite(vals)):
            continue
        p10, p50, p90 = (float(v) for v in np.quantile(vals, [0.1, 0.5, 0.9]))
        role = getattr(ob, "role", "check")
        independent = ob.kind == "actual" and role == "check" and not (ob.metric in HISTORY_INPUTS and ob.year <= scenario.start_year)
        out.append(Comparison(metric=ob.metric, region=ob.region, year=ob.year, value=ob.value, low=ob.low, high=ob.high, kind=ob.kind,
                              label=ob.label, scope=ob.scope, source=ob.source, p10=p10, p50=p50, p90=p90, role=role, independent=independent))
    return tuple(out)


def simulate(scenario: Scenario, samples: int, seed: int) -> list[ChainOutput]:
    """Draw ``samples`` joint parameter sets with ``seed`` and run the chain in chunks."""
    from dcplan import limits
    from dcplan.forecast.threads import single_threaded_blas

    limits.check_samples(samples, len(scenario.years))  # the memory it needs, before allocating
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        setup = setup_from(scenario)
        draws, demand = conditioned_draws(scenario, setup, samples, rng)
        return [run_chain(_chunk(draws, a), setup, demand.take(slice(a, a + CHUNK))) for a in range(0, samples, CHUNK)]


def conditioned_draws(scenario: Scenario, setup: Any, samples: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], Any]:
    """Latin-hypercube draws resampled by their fit to the start year's fleet, and their demand stage (:mod:`dcplan.forecast.conditioning`)."""
    from dcplan.forecast.conditioning import condition

    draws, demand, _ = condition(draw(scenario, samples, rng), setup, rng)
    return draws, demand


def _chunk(draws: Mapping[str, np.ndarray], a: int) -> dict[str, np.ndarray]:
    return {k: v[a : a + CHUNK] for k, v in draws.items()}


def run_forecast(
    scenario: Scenario,
    *,
    samples: int = 10_000,
    seed: int = 0,
    years: Sequence[int] | None = None,
    region: str = "world",
    overrides: Mapping[str, object] | None = None,
    keep_samples: bool = False,
    observations: Sequence[Any] | None = None,
) -> Forecast:
    """Monte Carlo forecast of ``scenario`` (loaded at the edge: ``dcplan.io.scenario.load_scenario``).

    ``overrides`` {driver: number | Distribution} replace drivers; ``observations`` (default:
    none) are history and published numbers to set beside the bands. The same ``seed`` and
    inputs give identical numbers.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError("run_forecast takes a Scenario: load it with dcplan.io.scenario.load_scenario")
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    region = _check_region(region)
    scenario = apply_overrides(scenario, overrides)
    chunks = simulate(scenario, samples, seed)
    return _forecast(scenario, chunks, samples=samples, seed=seed, years=years, region=region, keep_samples=keep_samples,
                     observations=observations)


def _forecast(scenario: Scenario, chunks: list[ChainOutput], *, samples: int, seed: int, years: Sequence[int] | None, region: str,
              keep_samples: bool, observations: Sequence[Any] | None, only: Sequence[str] | None = None) -> Forecast:
    """Summarise chain outputs into a :class:`Forecast` (percentiles per year per metric; ``only`` some)."""
    ys = select_years(scenario, years)
    idx: list[int] | slice = [scenario.years.index(y) for y in ys]
    if idx == list(range(idx[0], idx[-1] + 1)):
        idx = slice(idx[0], idx[-1] + 1)  # a view, not a copy
    per_chunk = [region_metrics(c, region) for c in chunks]
    metrics, raw = {}, {}
    if only is not None:
        unknown = [m for m in only if m not in per_chunk[0]]
        if unknown:
            raise InputError("metric", f"unknown metric {unknown[0]!r}; available: {', '.join(per_chunk[0])}")
        observations = [o for o in (observations or ()) if o.metric in only]
    for name in (only if only is not None else per_chunk[0]):
        vals = np.concatenate([m[name][:, idx] for m in per_chunk])
        unit = metric_unit(name) or METRIC_UNITS["accelerators_installed"]
        metrics[name] = summarise(vals, unit)
        if keep_samples:
            raw[name] = vals
    return Forecast(
        limits=limit_summaries(chunks, scenario, ys),
        scenario=scenario.name,
        title=scenario.title,
        file=scenario.file,
        extends_chain=scenario.extends_chain,
        region=region,
        years=ys,
        seed=seed,
        samples=samples,
        metrics=metrics,
        parameters=parameter_table(scenario),
        comparisons=compare_with(chunks, scenario, observations or ()),
        raw=raw if keep_samples else None,
    )


def limit_summaries(chunks: list[ChainOutput], scenario: Scenario, years: Sequence[int]) -> tuple[LimitSummary, ...]:
    """For chip supply and for power: share of samples binding, P50 shortfall, first year binding in half the samples."""
    idx = [scenario.years.index(y) for y in years]
    out = []
    for key, code, attr in (("chips", sp.CHIPS, "short_chips_h100e"), ("power", sp.POWER, "short_power_h100e"), ("export_controls", None, None)):
        if code is None:  # China's shortfall: its placement neither made at home nor importable under export controls
            held = [c.supply.china.split.shortfall for c in chunks]
            binding = np.concatenate([(h > 1e-9 * np.maximum(c.supply.china.split.placed, 1.0))[:, idx] for h, c in zip(held, chunks, strict=True)])
        else:
            held = [getattr(c.supply.fleet, attr) for c in chunks]
            binding = np.concatenate([(c.supply.fleet.binding == code)[:, idx] for c in chunks])
        short = np.concatenate([h[:, idx] for h in held])
        short_mw = np.concatenate([(h * c.supply.peak_w_per_h100e)[:, idx] / 1e6 for h, c in zip(held, chunks, strict=True)])
        frac = binding.mean(axis=0)
        p50, p50_mw = _median_where(short, binding), _median_where(short_mw, binding)
        first = next((y for y, f in zip(years, frac, strict=True) if f >= 0.5), None)
        out.append(LimitSummary(key=key, name=LIMIT_NAMES[key], binding_frac=tuple(map(float, frac)),
                                shortfall_h100e_p50=tuple(map(float, p50)), shortfall_mw_p50=tuple(map(float, p50_mw)),
                                first_year=first, source=LIMIT_SOURCES[key]))
    return tuple(out)


def _median_where(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per column, the median of ``x`` where ``mask`` holds; NaN in columns where it never does."""
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        if mask[:, j].any():
            out[j] = float(np.median(x[mask[:, j], j]))
    return out


LIMIT_NAMES = {"chips": sp.LIMIT_NAMES[sp.CHIPS], "power": sp.LIMIT_NAMES[sp.POWER],
               "export_controls": "export controls on China (its demand beyond domestic supply and permitted imports)"}
LIMIT_SOURCES = {
    "chips": "packaging-limited supply path: start-year shipments x CoWoS capacity growth (TSMC doubled CoWoS in 2024 and 2025: TSMC Q3 2024 earnings call via TrendForce/MoneyDJ; ~120-130k wafers/month targeted for end-2026: Morgan Stanley via press)",
    "export_controls": "US export controls on advanced computing items to China (BIS 88 FR 73458, Oct 2023; H20 licence requirement, NVIDIA 8-K, "
                       "15 Apr 2025; H200 licences with a 25 % revenue share, Dec 2025) against China's domestic supply (Huawei Ascend: FT via "
                       "DIGITIMES Asia, Feb 2025; Bloomberg, 29 Sep 2025): dcplan.forecast.china",
    "power": "grid pipeline with lead time and saturating build-out (Schneider Electric 2025: 44 % of US data centres wait over four years for utility power; IEA Energy and AI 2026 update: physical constraints on data-centre build-out), plus on-site generation",
}


#: Draws and the base chain kept for run_forecast_fixed: (scenario digest, samples, seed) -> (draws, chunks). Bounded LRU.
_BASE: OrderedDict[tuple[str, int, int], tuple[dict[str, np.ndarray], list[ChainOutput]]] = OrderedDict()
_BASE_MAX = 6
_BASE_LOCK = threading.Lock()


def _scenario_digest(scenario: Scenario) -> str:
    return hashlib.sha1(repr(scenario).encode()).hexdigest()


def _base_run(scenario: Scenario, samples: int, seed: int) -> tuple[dict[str, np.ndarray], list[ChainOutput]]:
    """The scenario's joint draws and its chain outputs, memoised by (scenario content, samples, seed)."""
    key = (_scenario_digest(scenario), samples, seed)
    with _BASE_LOCK:
        if key in _BASE:
            _BASE.move_to_end(key)
            return _BASE[key]
    from dcplan.forecast.threads import single_threaded_blas

    with single_threaded_blas():
        setup = setup_from(scenario)
        draws, demand = conditioned_draws(scenario, setup, samples, np.random.default_rng(seed))
        chunks = [run_chain(_chunk(draws, a), setup, demand.take(slice(a, a + CHUNK))) for a in range(0, samples, CHUNK)]
    with _BASE_LOCK:
        _BASE[key] = (draws, chunks)
        while len(_BASE) > _BASE_MAX:
            _BASE.popitem(last=False)
    return draws, chunks


def run_forecast_fixed(
    scenario: Scenario,
    *,
    fixed: Mapping[str, float],
    samples: int = 2000,
    seed: int = 0,
    years: Sequence[int] | None = None,
    region: str = "world",
    observations: Sequence[Any] | None = None,
    metrics: Sequence[str] | None = None,
) -> Forecast:
    """A forecast with some drivers fixed at values, on common random numbers.

    The scenario's draws and its chain are made once per (scenario, samples, seed) and memoised;
    each fixed driver's draws are replaced by its value, every other driver keeps exactly its
    draws, and only the chain stages from the first one a fixed driver enters are recomputed
    (:func:`dcplan.forecast.chain.rerun`). So a moved driver changes the bands only by its own
    effect (no resampling noise): the dashboard's driver sliders. Values are checked against the
    driver's domain like any override. ``metrics`` limits the summary to those metrics.
    """
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    region = _check_region(region)
    checked = apply_overrides(scenario, dict(fixed))  # domain checks and unknown-name errors
    shares = [n for n in fixed if DRIVERS[n].domain == "share"]
    if shares:
        raise InputError(shares[0], "a regional share cannot be fixed on the fast path; pass it in run_forecast(overrides=...)")
    base, base_chunks = _base_run(scenario, samples, seed)
    draws = dict(base)
    for name, value in fixed.items():
        draws[name] = np.full(base[name].shape if name in base else (samples,), float(value))
    from dcplan.forecast.threads import single_threaded_blas

    setup = setup_from(scenario)
    with single_threaded_blas():
        chunks = [rerun(prev, _chunk(draws, i * CHUNK), setup, fixed) for i, prev in enumerate(base_chunks)]
    return _forecast(checked, chunks, samples=samples, seed=seed, years=years, region=region, keep_samples=False,
                     observations=observations, only=metrics)


def parameter_table(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """name -> {dist..., median, source, date, per_year} for the JSON output and reports: the drivers the chain reads
    (a demand segment the scenario does not sum is left out)."""
    return {
        n: {**p.dist.as_dict(), "median": p.dist.median(), "source": p.source, "date": p.date, "per_year": p.per_year}
        for n, p in scenario.parameters.items() if scenario.active(n)
    }


def with_backtest(fc: Forecast, backtest: Mapping[str, Any]) -> Forecast:
    return replace(fc, backtest=backtest)
