"""``run_forecast``: draw, run the chain (in chunks of samples), summarise: the forecast's face."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast import regions as rg
from dcplan.forecast import supply as sp
from dcplan.forecast.chain import METRIC_UNITS, ChainOutput, first_stage, metric_unit, rerun, run_chain, setup_from
from dcplan.forecast.power import W_PER_TWH_YEAR
from dcplan.forecast.result import Comparison, Forecast, LimitSummary, summarise
from dcplan.forecast.sampling import apply_overrides, draw
from dcplan.forecast.scenario import DRIVERS, REGIONS, STAGES, Scenario

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


def metric_names(out: ChainOutput) -> list[str]:
    """Every metric a chain output gives: the chain's and the installed accelerators of each generation."""
    return [*out.metrics, *(f"accelerators_installed_{g}" for g in out.units_by_generation)]


def region_metrics(out: ChainOutput, region: str, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """World metrics, or one region's (see :func:`region_metric`): all of them, or ``names`` (known ones)."""
    shares = _Shares(out, region)
    return {name: region_metric(out, region, name, shares) for name in (metric_names(out) if names is None else names)}


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


def compare_with(chunks: list[ChainOutput], scenario: Scenario, observations: Sequence[Any],
                 rows: Sequence[np.ndarray | None] | None = None) -> tuple[Comparison, ...]:
    """dcplan's P10/P50/P90 beside each observation inside the simulated years.

    Each comparison says whether it is independent of the run: an actual that set no parameter
    (``role`` check) and is not a history-year input (spend up to the start year). ``rows``: the
    chunks hold distinct draws, and ``rows[k]`` gives the row of each sample of chunk k (:func:`distinct_run`).
    """
    rows = rows or [None] * len(chunks)
    wanted = _observed(scenario, observations)
    parts = [_observed_values(c, scenario, wanted) for c in chunks]
    return _comparisons(scenario, wanted, {k: np.concatenate([_rows(p[k], r) for p, r in zip(parts, rows, strict=True)]) for k in parts[0]})


def _observed(scenario: Scenario, observations: Sequence[Any]) -> list[Any]:
    """The observations inside the simulated years and known regions, for known metrics."""
    years = scenario.years
    return [ob for ob in observations if ob.metric in METRIC_UNITS and ob.year in years and (ob.region == "world" or ob.region in REGIONS)]


def _observed_values(out: ChainOutput, scenario: Scenario, wanted: Sequence[Any]) -> dict[tuple[str, str], np.ndarray]:
    """(region, metric) -> [n, its observed years, in year order] from one chunk (a region's shares built once for all its metrics)."""
    years = list(scenario.years)
    shares: dict[str, _Shares] = {}
    got = {}
    for key in dict.fromkeys((ob.region, ob.metric) for ob in wanted):
        cols = sorted({years.index(ob.year) for ob in wanted if (ob.region, ob.metric) == key})
        got[key] = region_metric(out, key[0], key[1], shares.setdefault(key[0], _Shares(out, key[0])))[:, cols]
    return got


def _comparisons(scenario: Scenario, wanted: Sequence[Any], values: Mapping[tuple[str, str], np.ndarray]) -> tuple[Comparison, ...]:
    """One percentile pass per (region, metric) over its observed years, then a Comparison per observation."""
    years = list(scenario.years)
    stats = {k: (np.quantile(v, [0.1, 0.5, 0.9], axis=0), np.all(np.isfinite(v), axis=0)) for k, v in values.items()}
    out = []
    for ob in wanted:
        key = (ob.region, ob.metric)
        cols = sorted({years.index(o.year) for o in wanted if (o.region, o.metric) == key})
        j = cols.index(years.index(ob.year))
        q, finite = stats[key]
        if not finite[j]:
            continue
        p10, p50, p90 = (float(v) for v in q[:, j])
        role = getattr(ob, "role", "check")
        independent = ob.kind == "actual" and role == "check" and not (ob.metric in HISTORY_INPUTS and ob.year <= scenario.start_year)
        out.append(Comparison(metric=ob.metric, region=ob.region, year=ob.year, value=ob.value, low=ob.low, high=ob.high, kind=ob.kind,
                              label=ob.label, scope=ob.scope, source=ob.source, p10=p10, p50=p50, p90=p90, role=role, independent=independent))
    return tuple(out)


def simulate(scenario: Scenario, samples: int, seed: int, sampling: str = "lhs") -> list[ChainOutput]:
    """Draw ``samples`` joint parameter sets with ``seed`` (``sampling``: lhs or sobol) and run the chain in chunks."""
    from dcplan import limits
    from dcplan.forecast.threads import single_threaded_blas

    limits.check_samples(samples, len(scenario.years))  # the memory it needs, before allocating
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        setup = setup_from(scenario)
        draws, demand = conditioned_draws(scenario, setup, samples, rng, sampling)
        return [run_chain(_chunk(draws, a), setup, demand.take(slice(a, a + CHUNK))) for a in range(0, samples, CHUNK)]


def conditioned_draws(scenario: Scenario, setup: Any, samples: int, rng: np.random.Generator,
                      sampling: str = "lhs") -> tuple[dict[str, np.ndarray], Any]:
    """Draws (Latin hypercube or Sobol', :func:`dcplan.forecast.sampling.draw`) resampled by their fit to the start
    year's fleet, and their demand stage (:mod:`dcplan.forecast.conditioning`)."""
    from dcplan.forecast.conditioning import condition

    draws, demand, _ = condition(draw(scenario, samples, rng, sampling), setup, rng)
    return draws, demand


def _chunk(draws: Mapping[str, np.ndarray], a: int, size: int | None = None) -> dict[str, np.ndarray]:
    size = size or CHUNK
    return {k: v[a : a + size] for k, v in draws.items()}


def _rows(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Per-sample values from per-distinct-draw values (``rows``: each sample's row; None: already per sample)."""
    return values if rows is None else values[rows]


@dataclass(frozen=True, kw_only=True, eq=False)
class DistinctRun:
    """The chain run once per distinct conditioned draw, and where each Monte Carlo sample is.

    The conditioning resamples the draws in proportion to their weights (about a third of the
    samples repeat another), so the chain runs on the distinct draws only and each sample
    reads its draw's row: the same numbers as running every sample, for ~2/3 of the work and
    memory. ``rows[k]`` maps the samples of chunk k (in sample order) to rows of ``chunks[k]``.
    """

    draws: dict[str, np.ndarray]
    """The distinct draws [m] or [m, forecast years]."""
    chunks: list[ChainOutput]
    rows: list[np.ndarray]


def distinct_run(scenario: Scenario, setup: Any, samples: int, rng: np.random.Generator, sampling: str = "lhs") -> DistinctRun:
    """Draw, condition (the same numbers as :func:`conditioned_draws` with the same generator) and run the chain once per distinct draw."""
    draws, pieces = _distinct_pieces(scenario, setup, samples, rng, sampling, CHUNK)
    chunks, rows = [], []
    for make in pieces:
        c, r = make()
        chunks.append(c)
        rows.append(r)
    return DistinctRun(draws=draws, chunks=chunks, rows=rows)


def _distinct_pieces(scenario: Scenario, setup: Any, samples: int, rng: np.random.Generator, sampling: str,
                     size: int) -> tuple[dict[str, np.ndarray], list[Callable[[], tuple[ChainOutput, np.ndarray]]]]:
    """The distinct conditioned draws, and one function per chunk of ``size`` of them that runs its chain: (chain output, its samples' rows)."""
    from dcplan.forecast.conditioning import resample_index

    drawn = draw(scenario, samples, rng, sampling)
    idx, demand, _ = resample_index(drawn, setup, rng)
    keep, rows = np.unique(idx, return_inverse=True)  # idx is non-decreasing, so rows is too: a chunk of draws is a block of samples
    draws, demand = {k: v[keep] for k, v in drawn.items()}, demand.take(keep)
    del drawn

    def piece(a: int) -> tuple[ChainOutput, np.ndarray]:
        s0, s1 = np.searchsorted(rows, [a, a + size])
        return run_chain(_chunk(draws, a, size), setup, demand.take(slice(a, a + size))), rows[s0:s1] - a

    return draws, [functools.partial(piece, a) for a in range(0, len(keep), size)]


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
    sampling: str = "lhs",
) -> Forecast:
    """Monte Carlo forecast of ``scenario`` (loaded at the edge: ``dcplan.io.scenario.load_scenario``).

    ``overrides`` {driver: number | Distribution} replace drivers; ``observations`` (default:
    none) are history and published numbers to set beside the bands; ``sampling`` lhs (Latin
    hypercube) or sobol (scrambled Sobol'). The same ``seed`` and inputs give identical numbers.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError("run_forecast takes a Scenario: load it with dcplan.io.scenario.load_scenario")
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    region = _check_region(region)
    scenario = apply_overrides(scenario, overrides)
    from dcplan import limits
    from dcplan.forecast.threads import single_threaded_blas, threads_for

    limits.check_samples(samples, len(scenario.years))  # the memory it needs, before allocating
    threads = threads_for(samples)
    with single_threaded_blas():
        # chunks run side by side on ``threads`` threads, each CHUNK / threads draws: memory holds CHUNK draws' stages at a time
        _, pieces = _distinct_pieces(scenario, setup_from(scenario), samples, np.random.default_rng(seed), sampling, max(CHUNK // threads, 1))
        # each chunk is reduced to what the summary reads as soon as it is made, and dropped
        return _forecast_from(scenario, pieces, samples=samples, seed=seed, years=years, region=region, keep_samples=keep_samples,
                              observations=observations, threads=threads)


def _forecast(scenario: Scenario, chunks: list[ChainOutput], *, samples: int, seed: int, years: Sequence[int] | None, region: str,
              keep_samples: bool, observations: Sequence[Any] | None, only: Sequence[str] | None = None,
              rows: Sequence[np.ndarray | None] | None = None) -> Forecast:
    """Summarise chain outputs into a :class:`Forecast` (percentiles per year per metric; ``only`` some; ``rows`` see :class:`DistinctRun`)."""
    pieces = [functools.partial(lambda c, r: (c, r), c, r) for c, r in zip(chunks, rows or [None] * len(chunks), strict=True)]
    return _forecast_from(scenario, pieces, samples=samples, seed=seed, years=years, region=region,
                          keep_samples=keep_samples, observations=observations, only=only)


@dataclass(frozen=True, kw_only=True, eq=False)
class _Reduced:
    """What the summary reads from one chunk: metrics at the reported years, the limits' arrays, the observed cells (its own rows)."""

    metrics: dict[str, np.ndarray]
    limits: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    observed: dict[tuple[str, str], np.ndarray]
    rows: np.ndarray | None


def _forecast_from(scenario: Scenario, pieces: Sequence[Callable[[], tuple[ChainOutput, np.ndarray | None]]], *, samples: int, seed: int,
                   years: Sequence[int] | None, region: str, keep_samples: bool, observations: Sequence[Any] | None,
                   only: Sequence[str] | None = None, threads: int = 1) -> Forecast:
    """:func:`_forecast` over functions that make (chunk, rows) pairs, each chunk reduced (:class:`_Reduced`) as soon as it is made.

    The chunks, then the metrics' percentiles, run on ``threads`` threads (dcplan.forecast.threads); the numbers do not depend on it.
    """
    from dcplan.forecast.threads import thread_map

    ys = select_years(scenario, years)
    idx: list[int] | slice = [scenario.years.index(y) for y in ys]
    if idx == list(range(idx[0], idx[-1] + 1)):
        idx = slice(idx[0], idx[-1] + 1)  # a view, not a copy
    wanted = _observed(scenario, [o for o in (observations or ()) if only is None or o.metric in only])

    def reduce(make: Callable[[], tuple[ChainOutput, np.ndarray | None]]) -> tuple[list[str], _Reduced]:
        out, r = make()
        known = metric_names(out)
        if only is not None:
            unknown = [m for m in only if m not in known]
            if unknown:
                raise InputError("metric", f"unknown metric {unknown[0]!r}; available: {', '.join(known)}")
        names = list(only) if only is not None else known
        per = region_metrics(out, region, names)
        return names, _Reduced(metrics={n: np.array(per[n][:, idx]) for n in names}, limits=_limit_arrays(out, scenario, ys),
                               observed=_observed_values(out, scenario, wanted), rows=r)

    got = thread_map(reduce, pieces, threads=threads)
    names, reduced = got[0][0], [x for _, x in got]
    del got
    cat = lambda get: np.concatenate([_rows(get(x), x.rows) for x in reduced])  # noqa: E731

    def summary(name: str) -> tuple[Any, np.ndarray | None]:
        vals = cat(lambda x: x.metrics[name])
        return summarise(vals, metric_unit(name) or METRIC_UNITS["accelerators_installed"]), (vals if keep_samples else None)

    done = thread_map(summary, names, threads=threads)
    metrics = {name: m for name, (m, _) in zip(names, done, strict=True)}
    raw = {name: v for name, (_, v) in zip(names, done, strict=True)}
    limits = _limit_summaries(ys, {k: tuple(cat(lambda x: x.limits[k][i]) for i in range(3)) for k in reduced[0].limits})  # noqa: B023
    comparisons = _comparisons(scenario, wanted, {k: cat(lambda x: x.observed[k]) for k in reduced[0].observed})  # noqa: B023
    return Forecast(
        limits=limits,
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
        comparisons=comparisons,
        raw=raw if keep_samples else None,
    )


#: The supply limits: key, binding code in ``Fleet.binding`` (None: China's export-controls shortfall), shortfall attribute.
_LIMITS = (("chips", sp.CHIPS, "short_chips_h100e"), ("power", sp.POWER, "short_power_h100e"), ("export_controls", None, None))


def _limit_arrays(out: ChainOutput, scenario: Scenario, years: Sequence[int]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """key -> (binding, shortfall H100e, shortfall MW) at ``years``, [n, years], from one chunk."""
    idx = [scenario.years.index(y) for y in years]
    got = {}
    for key, code, attr in _LIMITS:
        if code is None:  # China's shortfall: its placement neither made at home nor importable under export controls
            held = out.supply.china.split.shortfall
            binding = held > 1e-9 * np.maximum(out.supply.china.split.placed, 1.0)
        else:
            held = getattr(out.supply.fleet, attr)
            binding = out.supply.fleet.binding == code
        got[key] = (binding[:, idx], held[:, idx], (held * out.supply.peak_w_per_h100e)[:, idx] / 1e6)
    return got


def limit_summaries(chunks: list[ChainOutput], scenario: Scenario, years: Sequence[int],
                    rows: Sequence[np.ndarray | None] | None = None) -> tuple[LimitSummary, ...]:
    """For chip supply, power and China's export controls: share of samples binding, P50 shortfall, first year binding in half the samples."""
    rows = rows or [None] * len(chunks)
    parts = [_limit_arrays(c, scenario, years) for c in chunks]
    return _limit_summaries(years, {k: tuple(np.concatenate([_rows(p[k][i], r) for p, r in zip(parts, rows, strict=True)]) for i in range(3))
                                    for k, _, _ in _LIMITS})


def _limit_summaries(years: Sequence[int], arrays: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[LimitSummary, ...]:
    out = []
    for key, _, _ in _LIMITS:
        binding, short, short_mw = arrays[key]
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


#: The base run kept for run_forecast_fixed: (scenario digest, samples, seed, sampling) -> DistinctRun. Bounded LRU.
_BASE: OrderedDict[tuple[str, int, int, str], DistinctRun] = OrderedDict()
_BASE_MAX = 6
#: Chain outputs of recent fixed-driver runs: (base key, sorted fixed items) -> chunks. Bounded LRU (~20 MB an entry at 2,048 samples).
_RUNS: OrderedDict[tuple[Any, tuple[tuple[str, float], ...]], list[ChainOutput]] = OrderedDict()
_RUNS_MAX = 8
_LOCK = threading.Lock()
#: id(scenario) -> (scenario, digest): a scenario object's digest computed once (the dashboard passes the same object).
_DIGESTS: OrderedDict[int, tuple[Scenario, str]] = OrderedDict()


def _scenario_digest(scenario: Scenario) -> str:
    with _LOCK:
        hit = _DIGESTS.get(id(scenario))
        if hit is not None and hit[0] is scenario:
            return hit[1]
    digest = hashlib.sha1(repr(scenario).encode()).hexdigest()
    with _LOCK:
        _DIGESTS[id(scenario)] = (scenario, digest)
        while len(_DIGESTS) > 32:
            _DIGESTS.popitem(last=False)
    return digest


def _lru_put(cache: OrderedDict, key: Any, value: Any, size: int) -> None:
    with _LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)


def _base_run(scenario: Scenario, samples: int, seed: int, sampling: str = "lhs") -> DistinctRun:
    """The scenario's conditioned draws and its chain (:class:`DistinctRun`), memoised by (scenario content, samples, seed, sampling)."""
    key = (_scenario_digest(scenario), samples, seed, sampling)
    with _LOCK:
        if key in _BASE:
            _BASE.move_to_end(key)
            return _BASE[key]
    from dcplan.forecast.threads import single_threaded_blas

    with single_threaded_blas():
        run = distinct_run(scenario, setup_from(scenario), samples, np.random.default_rng(seed), sampling)
    _lru_put(_BASE, key, run, _BASE_MAX)
    return run


def _stage_index(changed: set[str]) -> int:
    """Index in STAGES of the first stage a change of ``changed`` re-runs; len(STAGES) when nothing changed."""
    first = first_stage(changed)
    return len(STAGES) if first is None else STAGES.index(first)


def nearest_run(base_key: Any, fixed: Mapping[str, float], base_chunks: list[ChainOutput]) -> tuple[list[ChainOutput], set[str]]:
    """The cached run to start from, and the drivers whose values differ from it.

    Among the base run (where every fixed driver differs) and the cached runs with other fixed
    values, the one whose differences enter the chain latest (:func:`dcplan.forecast.chain.first_stage`
    of each driver's ``DRIVERS[name].stage``): moving a money driver after a demand driver re-runs
    money and regions on the chain of the demand move, not the whole chain. Generic over DRIVERS.
    """
    best, changed = base_chunks, set(fixed)
    k = _stage_index(changed)
    with _LOCK:
        runs = [(dict(key[1]), chunks) for key, chunks in _RUNS.items() if key[0] == base_key]
    for other, chunks in runs:
        diff = {n for n in other.keys() | fixed.keys() if other.get(n) != fixed.get(n)}
        if _stage_index(diff) > k:
            best, changed, k = chunks, diff, _stage_index(diff)
    return best, changed


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
    sampling: str = "lhs",
) -> Forecast:
    """A forecast with some drivers fixed at values, on common random numbers.

    The scenario's draws and its chain are made once per (scenario, samples, seed, sampling) and
    memoised; each fixed driver's draws are replaced by its value, every other driver keeps
    exactly its draws, and only the chain stages from the first one a changed driver enters are
    recomputed (:func:`dcplan.forecast.chain.rerun`), starting from the base run or from a
    recent run with other fixed values, whichever shares more stages (:func:`nearest_run`). So a
    moved driver changes the bands only by its own effect (no resampling noise): the dashboard's
    driver sliders. Values are checked against the driver's domain like any override.
    ``metrics`` limits the summary to those metrics.
    """
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    region = _check_region(region)
    checked = apply_overrides(scenario, dict(fixed))  # domain checks and unknown-name errors
    shares = [n for n in fixed if DRIVERS[n].domain == "share"]
    if shares:
        raise InputError(shares[0], "a regional share cannot be fixed on the fast path; pass it in run_forecast(overrides=...)")
    fixed = {n: float(v) for n, v in fixed.items()}
    base_key = (_scenario_digest(scenario), samples, seed, sampling)
    base = _base_run(scenario, samples, seed, sampling)
    run_key = (base_key, tuple(sorted(fixed.items())))
    with _LOCK:
        chunks = _RUNS.get(run_key)
    if chunks is None:
        prev, changed = nearest_run(base_key, fixed, base.chunks)
        draws = dict(base.draws)
        m = len(base.draws["pue_ai"])
        for name, value in fixed.items():
            draws[name] = np.full(base.draws[name].shape if name in base.draws else (m,), value)
        from dcplan.forecast.threads import single_threaded_blas

        setup = setup_from(scenario)
        with single_threaded_blas():
            chunks = [rerun(p, _chunk(draws, i * CHUNK), setup, changed) for i, p in enumerate(prev)]
        if fixed:
            _lru_put(_RUNS, run_key, chunks, _RUNS_MAX)
    return _forecast(checked, chunks, samples=samples, seed=seed, years=years, region=region, keep_samples=False,
                     observations=observations, only=metrics, rows=base.rows)


def parameter_table(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """name -> {dist..., median, source, date, per_year} for the JSON output and reports: the drivers the chain reads
    (a demand segment the scenario does not sum is left out)."""
    return {
        n: {**p.dist.as_dict(), "median": p.dist.median(), "source": p.source, "date": p.date, "per_year": p.per_year}
        for n, p in scenario.parameters.items() if scenario.active(n)
    }


def with_backtest(fc: Forecast, backtest: Mapping[str, Any]) -> Forecast:
    return replace(fc, backtest=backtest)
