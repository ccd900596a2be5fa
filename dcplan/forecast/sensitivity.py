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


def _evaluate(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q``."""
    if metric not in METRIC_UNITS and not metric.startswith("accelerators_installed_"):
        from dcplan.errors import InputError
        from dcplan.io.schema import suggest

        raise InputError("metric", f"unknown metric {metric!r}{suggest(metric, METRIC_UNITS)}")
    if year not in scenario.years:
        raise scenario.error("horizon_end_year", f"year {year} outside the scenario's range {scenario.first_year}-{scenario.horizon_end_year}")
    setup = setup_from(scenario)
    out = []
    with single_threaded_blas():
        for a in range(0, q.shape[0], 20_000):
            res = run_chain(at_quantiles(scenario, q[a : a + 20_000], names), setup)
            out.append(region_metrics(res, region)[metric][:, scenario.years.index(year)])
    return np.concatenate(out)


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


def sobol(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", base_samples: int = 256, seed: int = 0,
          confidence: float = 0.9, n_resamples: int = 200) -> SobolIndices:
    """First- and total-order Sobol indices of ``metric`` in ``year`` with bootstrap intervals (``scipy.stats.sobol_indices``).

    ``base_samples`` is rounded up to a power of 2 (the Sobol' sequence needs one).
    """
    from scipy import stats

    names = [p.name for p in scenario.uncertain()]
    n = 1 << max(1, int(np.ceil(np.log2(max(base_samples, 2)))))
    outputs: list[np.ndarray] = []

    def func(x: np.ndarray) -> np.ndarray:
        y = _evaluate(scenario, np.clip(x.T, 1e-9, 1 - 1e-9), names, metric, year, region)
        outputs.append(y)
        return y[None, :]

    res = stats.sobol_indices(func=func, n=n, dists=[stats.uniform()] * len(names), rng=np.random.default_rng(seed))
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
                        confidence=confidence, variance=float(np.var(np.concatenate(outputs))))
