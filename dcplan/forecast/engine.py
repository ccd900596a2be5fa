"""``run_forecast``: draw, run the chain (in chunks of samples), summarise: the forecast's face."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast.chain import INTENSIVE, METRIC_UNITS, ChainOutput, run_chain, setup_from
from dcplan.forecast.result import Comparison, Forecast, summarise
from dcplan.forecast.sampling import apply_overrides, draw
from dcplan.forecast.scenario import REGIONS, Scenario

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
    """World metrics, or one region's: extensive metrics x its share; emissions at its own grid intensity."""
    names = [*out.metrics, *(f"accelerators_installed_{g}" for g in out.units_by_generation)]
    return {name: region_metric(out, region, name) for name in names}


def region_metric(out: ChainOutput, region: str, name: str) -> np.ndarray:
    """One metric [n, years] for the world or one region (see :func:`region_metrics`)."""
    prefix = "accelerators_installed_"
    v = out.units_by_generation[name[len(prefix):]] if name.startswith(prefix) and name not in out.metrics else out.metrics[name]
    if region == "world":
        return v
    r = REGIONS.index(region)
    if name == "emissions_tco2e":
        return region_metric(out, region, "energy_twh") * out.gco2_per_kwh_start[:, r : r + 1] * out.intensity_index * 1e3
    return v if name in INTENSIVE else v * out.region_shares[:, r : r + 1]


def _check_region(region: str) -> str:
    region = region.lower()
    if region not in ("world", *REGIONS):
        from dcplan.io.schema import suggest

        raise InputError("region", f"unknown region {region!r}{suggest(region, ('world', *REGIONS))}; use world or one of {', '.join(REGIONS)}")
    return region


def compare_with(chunks: list[ChainOutput], scenario: Scenario, observations: Sequence[Any]) -> tuple[Comparison, ...]:
    """dcplan's P10/P50/P90 beside each observation inside the simulated years (spend history inputs skipped)."""
    out = []
    years = list(scenario.years)
    cache: dict[tuple[str, str], np.ndarray] = {}
    for ob in observations:
        if ob.metric not in METRIC_UNITS or ob.year not in years or (ob.region != "world" and ob.region not in REGIONS):
            continue
        if ob.metric == "gpu_spend_usd" and ob.year <= scenario.start_year:
            continue  # an input of the history years, not a check
        i = years.index(ob.year)
        key = (ob.region, ob.metric)
        if key not in cache:
            cache[key] = np.concatenate([region_metric(c, ob.region, ob.metric) for c in chunks])
        vals = cache[key][:, i]
        if not np.all(np.isfinite(vals)):
            continue
        p10, p50, p90 = (float(v) for v in np.quantile(vals, [0.1, 0.5, 0.9]))
        out.append(Comparison(metric=ob.metric, region=ob.region, year=ob.year, value=ob.value, low=ob.low, high=ob.high, kind=ob.kind,
                              label=ob.label, scope=ob.scope, source=ob.source, p10=p10, p50=p50, p90=p90))
    return tuple(out)


def simulate(scenario: Scenario, samples: int, seed: int) -> list[ChainOutput]:
    """Draw ``samples`` joint parameter sets with ``seed`` and run the chain in chunks."""
    from dcplan import limits
    from dcplan.forecast.threads import single_threaded_blas

    limits.check_samples(samples, len(scenario.years))  # the memory it needs, before allocating
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        draws = draw(scenario, samples, rng)
        setup = setup_from(scenario, scenario.h100e_peak_flops_per_s)
        chunks = []
        for a in range(0, samples, CHUNK):
            sub = {k: v[a : a + CHUNK] for k, v in draws.items()}
            chunks.append(run_chain(sub, setup))
    return chunks


def run_forecast(
    scenario: Scenario | str,
    *,
    samples: int = 10_000,
    seed: int = 0,
    years: Sequence[int] | None = None,
    region: str = "world",
    overrides: Mapping[str, object] | None = None,
    keep_samples: bool = False,
    observations: Sequence[Any] | None = None,
) -> Forecast:
    """Monte Carlo forecast of ``scenario`` (a Scenario, or a name/path loaded from data/scenarios).

    ``overrides`` {driver: number | Distribution} replace drivers (the dashboard's fast path);
    ``observations`` (default: none) are history/published numbers to set beside the bands.
    The same ``seed`` and inputs give identical numbers.
    """
    if isinstance(scenario, str):
        from dcplan.io.scenario import load_scenario

        scenario = load_scenario(scenario)
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
    idx = [scenario.years.index(y) for y in ys]
    per_chunk = [region_metrics(c, region) for c in chunks]
    metrics, raw = {}, {}
    if only is not None:
        unknown = [m for m in only if m not in per_chunk[0]]
        if unknown:
            raise InputError("metric", f"unknown metric {unknown[0]!r}; available: {', '.join(per_chunk[0])}")
        observations = [o for o in (observations or ()) if o.metric in only]
    for name in (only if only is not None else per_chunk[0]):
        vals = np.concatenate([m[name][:, idx] for m in per_chunk])
        unit = METRIC_UNITS.get(name, METRIC_UNITS["accelerators_installed"])
        metrics[name] = summarise(vals, unit)
        if keep_samples:
            raw[name] = vals
    return Forecast(
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


#: Draws kept for run_forecast_fixed: (scenario digest, samples, seed) -> draws. Bounded LRU.
_DRAWS: OrderedDict[tuple[str, int, int], dict[str, np.ndarray]] = OrderedDict()
_DRAWS_MAX = 6
_DRAWS_LOCK = threading.Lock()


def _scenario_digest(scenario: Scenario) -> str:
    return hashlib.sha1(repr(scenario).encode()).hexdigest()


def _base_draws(scenario: Scenario, samples: int, seed: int) -> dict[str, np.ndarray]:
    """The scenario's joint draws, memoised by (scenario content, samples, seed)."""
    key = (_scenario_digest(scenario), samples, seed)
    with _DRAWS_LOCK:
        if key in _DRAWS:
            _DRAWS.move_to_end(key)
            return _DRAWS[key]
    from dcplan.forecast.threads import single_threaded_blas

    with single_threaded_blas():
        draws = draw(scenario, samples, np.random.default_rng(seed))
    with _DRAWS_LOCK:
        _DRAWS[key] = draws
        while len(_DRAWS) > _DRAWS_MAX:
            _DRAWS.popitem(last=False)
    return draws


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

    The scenario's draws are made once per (scenario, samples, seed) and memoised; each fixed
    driver's draws are replaced by its value, every other driver keeps exactly its draws. So a
    moved driver changes the bands only by its own effect (no resampling noise), and an update
    costs one pass of the chain: the dashboard's driver sliders. Values are checked against the
    driver's domain like any override. ``metrics`` limits the summary to those metrics.
    """
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    region = _check_region(region)
    checked = apply_overrides(scenario, dict(fixed))  # domain checks and unknown-name errors
    base = _base_draws(scenario, samples, seed)
    draws = dict(base)
    for name, value in fixed.items():
        draws[name] = np.full(base[name].shape if name in base else (samples,), float(value))
    from dcplan.forecast.threads import single_threaded_blas

    setup = setup_from(scenario, scenario.h100e_peak_flops_per_s)
    with single_threaded_blas():
        chunks = [run_chain({k: v[a : a + CHUNK] for k, v in draws.items()}, setup) for a in range(0, samples, CHUNK)]
    return _forecast(checked, chunks, samples=samples, seed=seed, years=years, region=region, keep_samples=False,
                     observations=observations, only=metrics)


def parameter_table(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """name -> {dist..., median, source, date, per_year} for the JSON output and reports."""
    return {
        n: {**p.dist.as_dict(), "median": p.dist.median(), "source": p.source, "date": p.date, "per_year": p.per_year}
        for n, p in scenario.parameters.items()
    }


def with_backtest(fc: Forecast, backtest: Mapping[str, Any]) -> Forecast:
    return replace(fc, backtest=backtest)
