"""Which drivers matter: one-at-a-time tornado and variance-based Sobol indices.

Tornado: each uncertain driver at its P10 and P90 with all others at their medians, ranked by
the swing of the chosen metric in the chosen year (the tornado of Analytica's documentation, at
10/90 fractiles). Sobol: ``scipy.stats.sobol_indices`` (first order by Saltelli et al. 2010,
Comput. Phys. Commun. 181:259; total order by Jansen 1999, Comput. Phys. Commun. 117:35) from
N (D + 2) runs of the chain on its scrambled Sobol' matrices A, B and A_B^(i), with bootstrap
confidence intervals (``SobolResult.bootstrap``). The drivers are sampled independently in
quantile space (the scenario's rank correlations are left out, as Sobol indices assume), and a
per-year driver moves as one factor (all years at the same quantile).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dcplan.forecast.chain import METRIC_UNITS, run_chain, setup_from
from dcplan.forecast.engine import region_metrics
from dcplan.forecast.sampling import at_quantiles
from dcplan.forecast.scenario import Scenario
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


def _check_metric_year(scenario: Scenario, metric: str, year: int) -> None:
    if metric not in METRIC_UNITS and not metric.startswith("accelerators_installed_"):
        from dcplan.errors import InputError
        from dcplan.io.schema import suggest

        raise InputError("metric", f"unknown metric {metric!r}{suggest(metric, METRIC_UNITS)}")
    if year not in scenario.years:
        raise scenario.error("horizon_end_year", f"year {year} outside the scenario's range {scenario.first_year}-{scenario.horizon_end_year}")


def evaluate_rows(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q`` (one piece of a sweep: pure, picklable by reference)."""
    setup = setup_from(scenario)
    out = []
    with single_threaded_blas():
        for a in range(0, q.shape[0], 20_000):
            res = run_chain(at_quantiles(scenario, q[a : a + 20_000], names), setup)
            out.append(region_metrics(res, region)[metric][:, scenario.years.index(year)])
    return np.concatenate(out) if out else np.empty(0)


def warm(scenario: Scenario) -> None:
    """One tiny evaluation: the imports and distribution tables a worker needs before its first piece of a sweep."""
    names = [p.name for p in scenario.uncertain()]
    evaluate_rows(scenario, np.full((2, len(names)), 0.5), names, "energy_twh", scenario.years[-1], "world")


def _evaluate(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str, pool: Pool | None = None) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q``, the rows cut into pieces run on ``pool`` when given."""
    _check_metric_year(scenario, metric, year)
    if pool is None or pool.workers == 1:
        return evaluate_rows(scenario, q, names, metric, year, region)
    parts = pieces(q.shape[0], pool.workers)
    n = len(parts)
    return np.concatenate(pool.map(evaluate_rows, [scenario] * n, [q[p] for p in parts], [names] * n, [metric] * n, [year] * n, [region] * n))


def tornado(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", low_q: float = 0.1, high_q: float = 0.9) -> Tornado:
    """Swing of ``metric`` in ``year`` with each driver at ``low_q`` and ``high_q`` (others at median)."""
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


def sobol_rows(scenario: Scenario, a: np.ndarray, b: np.ndarray, factors: range, metric: str, year: int, region: str) -> np.ndarray:
    """[len(factors), n] the metric on the Saltelli matrices A_B^(i) (A with factor i's column from B) of ``factors``, built here.

    ``a`` and ``b`` are [d, n] quantiles: a piece of a sweep carries them, not the d x n x d matrices.
    """
    names = [p.name for p in scenario.uncertain()]
    blocks = []
    for i in factors:
        ab = a.copy()
        ab[i] = b[i]
        blocks.append(np.clip(ab.T, 1e-9, 1 - 1e-9))
    if not blocks:
        return np.empty((0, a.shape[1]))
    return evaluate_rows(scenario, np.concatenate(blocks), names, metric, year, region).reshape(len(blocks), a.shape[1])  # one pass of the chain


def sobol(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", base_samples: int = 256, seed: int = 0,
          confidence: float = 0.9, n_resamples: int = 200, pool: Pool | None = None) -> SobolIndices:
    """First- and total-order Sobol indices of ``metric`` in ``year`` with bootstrap intervals (``scipy.stats.sobol_indices``).

    ``base_samples`` is rounded up to a power of 2 (the Sobol' sequence needs one). A and B are
    the two halves of one scrambled Sobol' sequence of 2d columns (Saltelli et al. 2010, sec. 5,
    as ``scipy.stats.sobol_indices`` draws them); the N (d + 2) chain runs are made here, in
    pieces of factors run on ``pool`` (:func:`dcplan.parallel.executor`: a process pool or a Dask
    cluster) when given, and the indices are the same wherever they ran.
    """
    from scipy import stats
    from scipy.stats import qmc

    _check_metric_year(scenario, metric, year)
    names = [p.name for p in scenario.uncertain()]
    d = len(names)
    n = 1 << max(1, int(np.ceil(np.log2(max(base_samples, 2)))))
    a, b = qmc.Sobol(d=2 * d, seed=np.random.default_rng(seed), bits=64).random(n).T.reshape(2, d, n)
    f_a = _evaluate(scenario, np.clip(a.T, 1e-9, 1 - 1e-9), names, metric, year, region, pool)
    f_b = _evaluate(scenario, np.clip(b.T, 1e-9, 1 - 1e-9), names, metric, year, region, pool)
    if pool is None or pool.workers == 1:
        f_ab = sobol_rows(scenario, a, b, range(d), metric, year, region)
    else:
        groups = [range(p.start, p.stop) for p in pieces(d, pool.workers, smallest=1, largest=d)]
        k = len(groups)
        f_ab = np.concatenate(pool.map(sobol_rows, [scenario] * k, [a] * k, [b] * k, groups, [metric] * k, [year] * k, [region] * k))
    res = stats.sobol_indices(func={"f_A": f_a[None, :], "f_B": f_b[None, :], "f_AB": f_ab[:, None, :]}, n=n)
    with warnings.catch_warnings():
        # a driver that cannot move the metric has a degenerate bootstrap (every resample 0): its interval is the point
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", getattr(stats, "DegenerateDataWarning", RuntimeWarning))
        boot = res.bootstrap(confidence_level=confidence, n_resamples=n_resamples)
    s1, st = np.ravel(res.first_order), np.ravel(res.total_order)

    def ci(c, point: np.ndarray) -> tuple[tuple[float, float], ...]:
        lo, hi = np.ravel(c.low), np.ravel(c.high)
        lo, hi = np.where(np.isfinite(lo), lo, point), np.where(np.isfinite(hi), hi, point)
        return tuple(zip(map(float, lo), map(float, hi), strict=True))

    return SobolIndices(metric=metric, unit=METRIC_UNITS.get(metric, ""), year=year, region=region, scenario=scenario.name, base_samples=n,
                        names=tuple(names), first_order=tuple(map(float, s1)), total_order=tuple(map(float, st)),
                        first_order_ci=ci(boot.first_order.confidence_interval, s1), total_order_ci=ci(boot.total_order.confidence_interval, st),
                        confidence=confidence, variance=float(np.var(np.concatenate([f_a, f_b, f_ab.ravel()]))))
