"""Which drivers matter: one-at-a-time tornado and variance-based Sobol indices.

Tornado: each uncertain driver at its P10 and P90 with all others at their medians, ranked by
the swing of the chosen metric in the chosen year (Analytica's tornado at 10/90 fractiles,
docs.analytica.com). Sobol: first-order S_i by Saltelli et al. (2010,
Comput. Phys. Commun. 181:259, eq. (b) of Table 2) and total-order ST_i by Jansen (1999,
Comput. Phys. Commun. 117:35), from N (D + 2) runs of the chain on matrices A, B and A_B^(i).
A per-year driver moves as one factor (all years at the same quantile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dcplan.forecast.chain import METRIC_UNITS, run_chain, setup_from
from dcplan.forecast.engine import region_metrics
from dcplan.forecast.sampling import at_quantiles, latin_hypercube
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
    variance: float

    def to_dict(self) -> dict:
        order = np.argsort(self.total_order)[::-1]
        return {
            "method": "sobol", "metric": self.metric, "unit": self.unit, "year": self.year, "region": self.region,
            "scenario": self.scenario, "base_samples": self.base_samples, "variance": self.variance,
            "indices": [{"name": self.names[i], "first_order": self.first_order[i], "total_order": self.total_order[i]} for i in order],
        }


def sobol_estimates(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(S1, ST, V) from model outputs on A [N], B [N] and A_B^(i) [D, N].

    S_i = mean(f_B (f_AB_i - f_A)) / V (Saltelli et al. 2010, Table 2 (b));
    ST_i = mean((f_A - f_AB_i)^2) / (2V) (Jansen 1999); V the variance of f_A and f_B pooled.
    """
    var = float(np.var(np.concatenate([f_a, f_b])))
    if var == 0:
        zeros = np.zeros(f_ab.shape[0])
        return zeros, zeros, 0.0
    s1 = np.mean(f_b[None, :] * (f_ab - f_a[None, :]), axis=1) / var
    st = 0.5 * np.mean((f_a[None, :] - f_ab) ** 2, axis=1) / var
    return s1, st, var


def _evaluate(scenario: Scenario, q: np.ndarray, names: list[str], metric: str, year: int, region: str) -> np.ndarray:
    """Metric in ``year`` for each row of driver quantiles ``q``."""
    if metric not in METRIC_UNITS and not metric.startswith("accelerators_installed_"):
        from dcplan.errors import InputError
        from dcplan.io.schema import suggest

        raise InputError("metric", f"unknown metric {metric!r}{suggest(metric, METRIC_UNITS)}")
    if year not in scenario.years:
        raise scenario.error("horizon_end_year", f"year {year} outside the scenario's range {scenario.first_year}-{scenario.horizon_end_year}")
    setup = setup_from(scenario, scenario.h100e_peak_flops_per_s)
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


def sobol(scenario: Scenario, *, metric: str = "energy_twh", year: int = 2030, region: str = "world", base_samples: int = 512, seed: int = 0) -> SobolIndices:
    """First- (Saltelli 2010) and total-order (Jansen 1999) Sobol indices of ``metric`` in ``year``."""
    names = [p.name for p in scenario.uncertain()]
    d, n = len(names), base_samples
    rng = np.random.default_rng(seed)
    ab = latin_hypercube(n, 2 * d, rng)
    a_mat, b_mat = ab[:, :d], ab[:, d:]
    blocks = [a_mat, b_mat]
    for i in range(d):
        abi = a_mat.copy()
        abi[:, i] = b_mat[:, i]
        blocks.append(abi)
    f = _evaluate(scenario, np.vstack(blocks), names, metric, year, region).reshape(d + 2, n)
    s1, st, var = sobol_estimates(f[0], f[1], f[2:])
    return SobolIndices(metric=metric, unit=METRIC_UNITS.get(metric, ""), year=year, region=region, scenario=scenario.name, base_samples=n,
                        names=tuple(names), first_order=tuple(map(float, s1)), total_order=tuple(map(float, st)), variance=var)
