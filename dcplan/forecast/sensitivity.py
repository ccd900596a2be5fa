"""Which drivers matter: one-at-a-time tornado and variance-based Sobol indices.

Tornado: each uncertain driver at its P10 and P90 with all others at their medians, ranked by
the swing of the chosen metric in the chosen year (the tornado of Analytica's documentation, at
10/90 fractiles). Sobol: ``scipy.stats.sobol_indices`` (first order by Saltelli et al. 2010,
Comput. Phys. Commun. 181:259; total order by Jansen 1999, Comput. Phys. Commun. 117:35) from
N (D + 2) runs of the chain on its scrambled Sobol' matrices A, B and A_B^(i), with bootstrap
confidence intervals (``SobolResult.bootstrap``). The drivers are sampled independently in
quantile space (the scenario's rank correlations are left out, as Sobol indices assume), and a
per-year driver moves as one factor (all years at the same quantile).

``by="segment"`` ranks the demand segments (dialogue, code, agents...): each segment's drivers
(adoption, uses, tokens per use, growth, served model size) move together as one factor, the
other drivers one by one. The tornado sets a segment's drivers to their P10 (P90) together;
Sobol indices of groups come from the same estimators on A, B and A_B^(G), the matrix A with a
group's columns taken from B (Saltelli et al. 2010, sec. 2; Jansen 1999), evaluated here and
handed to ``scipy.stats.sobol_indices`` as function values.

Sobol indices of drivers and of groups take one path: A and B are the two halves of one
scrambled Sobol' sequence of 2d columns (as ``scipy.stats.sobol_indices`` draws them), and the
N (factors + 2) chain runs are made here, in pieces of factors that carry A and B and build their
own A_B^(G) (:func:`sobol_rows`), run on an executor when one is given
(:func:`dcplan.parallel.executor`: a process pool or a Dask cluster). The indices do not depend
on where the pieces ran.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dcplan.forecast.chain import METRIC_UNITS, run_chain, setup_from
from dcplan.forecast.engine import region_metric
from dcplan.forecast.sampling import at_quantiles
from dcplan.forecast.scenario import DRIVERS, Scenario
from dcplan.forecast.threads import single_threaded_blas
from dcplan.parallel import Pool, pieces


@dataclass(frozen=True, kw_only=True)
class TornadoBar:
    name: str
    low_input: float
    """The driver at its P10 (first forecast year for a per-year driver)."""
    high_input: float
    at_low: float
    """Metric with the driver at P10."""
    at_high: float

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)


@dataclass(frozen=True, kw_only=True)
class Tornado:
    metric: str
    unit: str
    year: int
    region: str
    scenario: str
    base_value: float
    """Metric with every driver at its median."""
    bars: tuple[TornadoBar, ...]
    """Widest swing first."""

    def to_dict(self) -> dict:
        return {
            "method": "tornado", "metric": self.metric, "unit": self.unit, "year": self.year, "region": self.region,
            "scenario": self.scenario, "base_value": self.base_value,
            "bars": [{"name": b.name, "low_input": b.low_input, "high_input": b.high_input, "at_low": b.at_low, "at_high": b.at_high, "swing": b.swing} for b in self.bars],
        }


@dataclass(frozen=True, kw_only=True)
class SobolIndices:
    metric: str
    unit: str
    year: int
    region: str
    scenario: str
    base_samples: int
    """N: the chain ran N (D + 2) times."""
    names: tuple[str, ...]
    first_order: tuple[float, ...]
    total_order: tuple[float, ...]
    first_order_ci: tuple[tuple[float, float], ...]
    total_order_ci: tuple[tuple[float, float], ...]
    confidence: float
    """Confidence level of the bootstrap intervals."""
    variance: float

    def to_dict(self) -> dict:
        order = np.argsort(self.total_order)[::-1]
        return {
            "method": "sobol", "metric": self.metric, "unit": self.unit, "year": self.year, "region": self.region,
            "scenario": self.scenario, "base_samples": self.base_samples, "variance": self.variance, "confidence": self.confidence,
            "indices": [{"name": self.names[i], "first_order": self.first_order[i], "total_order": self.total_order[i],
                         "first_order_ci": list(self.first_order_ci[i]), "total_order_ci": list(self.total_order_ci[i])} for i in order],
        }


BY = ("driver", "segment")


def factors(scenario: Scenario, by: str = "driver") -> dict[str, list[str]]:
    """Factor name -> the uncertain drivers it moves: each driver alone, or (``by="segment"``) each demand segment's drivers together."""
    if by not in BY:
        from dcplan.errors import InputError

        raise InputError("by", f"unknown grouping {by!r}; use one of {', '.join(BY)}")
    names = [p.name for p in scenario.uncertain()]
    if by == "driver":
        return {n: [n] for n in names}
    out: dict[str, list[str]] = {f"segment:{g}": [] for g in scenario.segments}
    for n in names:
        seg = DRIVERS[n].segment
        out.setdefault(f"segment:{seg}" if seg else n, []).append(n)
    return {k: v for k, v in out.items() if v}


def evaluate_rows(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q`` (a piece of a sweep: pure, picklable by reference)."""
    return _evaluate_many(scenario, q, names, [metric], year, region)[metric]


def _evaluate(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str, pool: Pool | None = None) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q``, the rows cut into pieces run on ``pool`` when given."""
    if pool is None or pool.workers == 1 or q.shape[0] == 0:
        return evaluate_rows(scenario, q, names, metric, year, region)
    _check_metric(metric)
    parts = pieces(q.shape[0], pool.workers)
    k = len(parts)
    return np.concatenate(pool.map(evaluate_rows, [scenario] * k, [q[p] for p in parts], [names] * k, [metric] * k, [year] * k, [region] * k))


def warm(scenario: Scenario) -> None:
    """One tiny evaluation: the imports and distribution tables a worker needs before its first piece of a sweep."""
    names = [p.name for p in scenario.uncertain()]
    evaluate_rows(scenario, np.full((2, len(names)), 0.5), names, "energy_twh", scenario.years[-1], "world")


def _evaluate_many(scenario: Scenario, q: np.ndarray, names: list[str], metrics: list[str], year: int, region: str) -> dict[str, np.ndarray]:
    """Each of ``metrics`` in ``year`` for each row of driver quantiles ``q``."""
    for metric in metrics:
        _check_metric(metric)
    if year not in scenario.years:
        raise scenario.error("horizon_end_year", f"year {year} outside the scenario's range {scenario.first_year}-{scenario.horizon_end_year}")
    setup = setup_from(scenario)
    out: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    with single_threaded_blas():
        for a in range(0, q.shape[0], 20_000):
            res = run_chain(at_quantiles(scenario, q[a : a + 20_000], names), setup)
            for m in metrics:
                out[m].append(region_metric(res, region, m)[:, scenario.years.index(year)])
    return {m: np.concatenate(v) for m, v in out.items()}


def _check_metric(metric: str) -> None:
    if metric not in METRIC_UNITS and not metric.startswith(("accelerators_installed_", "h100e_required_")):
        from dcplan.errors import InputError
        from dcplan.io.schema import suggest

        raise InputError("metric", f"unknown metric {metric!r}{suggest(metric, METRIC_UNITS)}")


def tornado(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", low_q: float = 0.1, high_q: float = 0.9,
            by: str = "driver") -> Tornado:
    """Swing of ``metric`` in ``year`` with each driver (or each demand segment's drivers together) at ``low_q`` and ``high_q``, others at median."""
    if by == "segment":
        return _segment_tornado(scenario, metric=metric, year=year, region=region, low_q=low_q, high_q=high_q)
    factors(scenario, by)
    params = scenario.uncertain()
    names = [p.name for p in params]
    d = len(names)
    q = np.full((2 * d + 1, d), 0.5)
    for j in range(d):
        q[1 + 2 * j, j] = low_q
        q[2 + 2 * j, j] = high_q
    f = _evaluate(scenario, q, names, metric, year, region)
    bars = []
    for j, p in enumerate(params):
        lo_in, hi_in = (float(np.ravel(p.dist.ppf(np.array([v])))[0]) for v in (low_q, high_q))
        bars.append(TornadoBar(name=p.name, low_input=lo_in, high_input=hi_in, at_low=float(f[1 + 2 * j]), at_high=float(f[2 + 2 * j])))
    bars.sort(key=lambda b: b.swing, reverse=True)
    return Tornado(metric=metric, unit=METRIC_UNITS.get(metric, ""), year=year, region=region, scenario=scenario.name, base_value=float(f[0]), bars=tuple(bars))


def _segment_tornado(scenario: Scenario, *, metric: str, year: int, region: str, low_q: float, high_q: float) -> Tornado:
    """Tornado over the demand segments: each segment's demand at its own P10 (P90), the others' at their medians.

    A segment's drivers move together to the common quantile at which the segment's serving
    requirement in ``year`` equals the ``low_q`` (``high_q``) quantile of its distribution (2,000
    draws of the segment's drivers, seed 0, others at their medians), not each to its own P10,
    which would put the segment far beyond its P10. A bar's inputs are the segment's requirement
    [H100e] at its low and high settings.
    """
    names = [p.name for p in scenario.uncertain()]
    groups = {k: v for k, v in factors(scenario, "segment").items() if k.startswith("segment:")}
    cols = {n: j for j, n in enumerate(names)}
    levels = {k: _segment_levels(scenario, names, [cols[m] for m in v], list(scenario.segments).index(k.split(":", 1)[1]), year, (low_q, high_q))
              for k, v in groups.items()}
    q = np.full((2 * len(groups) + 1, len(names)), 0.5)
    for i, (k, members) in enumerate(groups.items()):
        idx = [cols[m] for m in members]
        q[1 + 2 * i, idx], q[2 + 2 * i, idx] = levels[k]
    seg_metrics = [f"h100e_required_{k.split(':', 1)[1]}" for k in groups]
    f = _evaluate_many(scenario, q, names, list(dict.fromkeys([metric, *seg_metrics])), year, region)
    bars = [TornadoBar(name=k, low_input=float(f[sm][1 + 2 * i]), high_input=float(f[sm][2 + 2 * i]),
                       at_low=float(f[metric][1 + 2 * i]), at_high=float(f[metric][2 + 2 * i]))
            for i, (k, sm) in enumerate(zip(groups, seg_metrics, strict=True))]
    bars.sort(key=lambda b: b.swing, reverse=True)
    return Tornado(metric=metric, unit=METRIC_UNITS.get(metric, ""), year=year, region=region, scenario=scenario.name, base_value=float(f[metric][0]),
                   bars=tuple(bars))


def _segment_levels(scenario: Scenario, names: list[str], idx: list[int], k: int, year: int, probs: tuple[float, float]) -> tuple[float, float]:
    """The common quantile of a segment's drivers (columns ``idx``) that puts its requirement at its ``probs`` quantiles.

    Every segment driver raises its demand, so the requirement is monotone in the common quantile: read off a grid.
    """
    from dcplan.forecast.chain import stage_demand

    setup, t = setup_from(scenario), scenario.years.index(year)
    rng = np.random.default_rng(0)
    draws = np.full((2000, len(names)), 0.5)
    draws[:, idx] = rng.random((2000, len(idx)))
    grid = np.linspace(0.001, 0.999, 199)
    rows = np.full((len(grid), len(names)), 0.5)
    rows[:, idx] = grid[:, None]
    q = np.clip(np.concatenate([draws, rows]), 1e-9, 1 - 1e-9)
    with single_threaded_blas():
        h = stage_demand(at_quantiles(scenario, q, names), setup, len(q)).segment_h100e[:, k, t]
    target = np.log(np.maximum(np.quantile(h[:2000], probs), 1e-300))
    curve = np.log(np.maximum(np.maximum.accumulate(h[2000:]), 1e-300))
    lo, hi = (float(np.interp(v, curve, grid)) for v in target)
    return lo, hi


def sobol_rows(scenario: Scenario, a: np.ndarray, b: np.ndarray, groups: list[list[int]], metric: str, year: int, region: str) -> np.ndarray:
    """[len(groups), n] the metric on A_B^(G) for each group G of columns (A with G's columns taken from B), built here.

    ``a`` and ``b`` are [d, n] quantiles: a piece of a sweep carries them, not the N x d x factors matrices; its
    groups run through the chain in one pass.
    """
    names = [p.name for p in scenario.uncertain()]
    blocks = []
    for idx in groups:
        ab = a.copy()
        ab[idx] = b[idx]
        blocks.append(np.clip(ab.T, 1e-9, 1 - 1e-9))
    if not blocks:
        return np.empty((0, a.shape[1]))
    return evaluate_rows(scenario, np.concatenate(blocks), names, metric, year, region).reshape(len(blocks), a.shape[1])


def sobol(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", base_samples: int = 256, seed: int = 0,
          confidence: float = 0.9, n_resamples: int = 200, by: str = "driver", pool: Pool | None = None) -> SobolIndices:
    """First- and total-order Sobol indices of ``metric`` in ``year`` with bootstrap intervals (``scipy.stats.sobol_indices``).

    ``base_samples`` is rounded up to a power of 2 (the Sobol' sequence needs one). ``by``: each
    driver a factor, or each demand segment's drivers one factor (:func:`factors`). ``pool``
    runs the chain's pieces on a process pool or a Dask cluster (see the module docstring).
    """
    from scipy import stats

    groups = factors(scenario, by)
    _check_metric(metric)
    if year not in scenario.years:
        raise scenario.error("horizon_end_year", f"year {year} outside the scenario's range {scenario.first_year}-{scenario.horizon_end_year}")
    names = [p.name for p in scenario.uncertain()]
    d = len(names)
    n = 1 << max(1, int(np.ceil(np.log2(max(base_samples, 2)))))
    a, b = stats.qmc.Sobol(d=2 * d, scramble=True, rng=np.random.default_rng(seed), bits=64).random(n).T.reshape(2, d, n)
    cols = {name: j for j, name in enumerate(names)}
    idx = [[cols[m] for m in members] for members in groups.values()]
    f_a = _evaluate(scenario, np.clip(a.T, 1e-9, 1 - 1e-9), names, metric, year, region, pool)
    f_b = _evaluate(scenario, np.clip(b.T, 1e-9, 1 - 1e-9), names, metric, year, region, pool)
    if pool is None or pool.workers == 1:
        f_ab = sobol_rows(scenario, a, b, idx, metric, year, region)
    else:
        parts = [idx[p] for p in pieces(len(idx), pool.workers, smallest=1, largest=len(idx))]
        k = len(parts)
        f_ab = np.concatenate(pool.map(sobol_rows, [scenario] * k, [a] * k, [b] * k, parts, [metric] * k, [year] * k, [region] * k))
    res = stats.sobol_indices(func={"f_A": f_a[None, :], "f_B": f_b[None, :], "f_AB": f_ab[:, None, :]}, n=n)
    return _indices(res, scenario, tuple(groups), [f_a, f_b, f_ab.ravel()], metric=metric, year=year, region=region, n=n, confidence=confidence,
                    n_resamples=n_resamples, seed=seed)


def _indices(res, scenario: Scenario, names: tuple[str, ...], outputs: list[np.ndarray], *, metric: str, year: int, region: str, n: int,
             confidence: float, n_resamples: int, seed: int) -> SobolIndices:
    """Point indices and bootstrap intervals of a ``scipy.stats.sobol_indices`` result.

    ``SobolResult.bootstrap`` takes no generator: it resamples from numpy's global random state,
    so that state is seeded with ``seed`` for the call (and restored after it): the same seed
    gives the same intervals, in any process.
    """
    from scipy import stats

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # a driver that cannot move the metric has a degenerate bootstrap (every resample 0): its interval is the point
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", getattr(stats, "DegenerateDataWarning", RuntimeWarning))
            boot = res.bootstrap(confidence_level=confidence, n_resamples=n_resamples)
    finally:
        np.random.set_state(state)
    s1, st = np.ravel(res.first_order), np.ravel(res.total_order)

    def ci(c, point: np.ndarray) -> tuple[tuple[float, float], ...]:
        lo, hi = np.ravel(c.low), np.ravel(c.high)
        lo, hi = np.where(np.isfinite(lo), lo, point), np.where(np.isfinite(hi), hi, point)
        return tuple(zip(map(float, lo), map(float, hi), strict=True))

    return SobolIndices(metric=metric, unit=METRIC_UNITS.get(metric, ""), year=year, region=region, scenario=scenario.name, base_samples=n,
                        names=names, first_order=tuple(map(float, s1)), total_order=tuple(map(float, st)),
                        first_order_ci=ci(boot.first_order.confidence_interval, s1), total_order_ci=ci(boot.total_order.confidence_interval, st),
                        confidence=confidence, variance=float(np.var(np.concatenate(outputs))))
