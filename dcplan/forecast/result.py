"""The typed forecast result: P10/P50/P90/mean per year per metric, with the scenario behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True, kw_only=True)
class MetricSummary:
    """Percentiles and mean of one metric, one value per year."""

    unit: str
    p10: tuple[float, ...]
    p50: tuple[float, ...]
    p90: tuple[float, ...]
    mean: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"p10": list(self.p10), "p50": list(self.p50), "p90": list(self.p90), "mean": list(self.mean), "unit": self.unit}


def summarise(values: np.ndarray, unit: str) -> MetricSummary:
    """[n, years] samples -> MetricSummary (NaN where the metric is undefined that year)."""
    q = np.quantile(values, [0.1, 0.5, 0.9], axis=0)
    mean = values.mean(axis=0)
    return MetricSummary(unit=unit, p10=tuple(map(float, q[0])), p50=tuple(map(float, q[1])), p90=tuple(map(float, q[2])), mean=tuple(map(float, mean)))


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """dcplan's distribution beside one published number (an actual or another forecast)."""

    metric: str
    region: str
    year: int
    value: float
    low: float | None
    high: float | None
    kind: str
    label: str
    scope: str
    source: str
    p10: float
    p50: float
    p90: float
    role: str = "check"
    """check (the chain was not set from it) | anchor (a parameter or the history was set from it: shown, never scored)."""
    independent: bool = True
    """An actual the run did not use: a check, and not an input of the history years (spend up to the start year)."""

    @property
    def covered(self) -> bool:
        """The published value lies inside dcplan's P10-P90 band."""
        return self.p10 <= self.value <= self.p90

    @property
    def range_overlap_frac(self) -> float | None:
        """Share of a published low-high range inside dcplan's P10-P90 band (None without a range)."""
        if self.low is None or self.high is None or self.high <= self.low:
            return None
        inside = max(0.0, min(self.high, self.p90) - max(self.low, self.p10))
        return inside / (self.high - self.low)

    @property
    def error_frac(self) -> float:
        """P50 / published - 1."""
        return self.p50 / self.value - 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "region": self.region, "year": self.year, "value": self.value, "low": self.low, "high": self.high,
            "kind": self.kind, "label": self.label, "scope": self.scope, "source": self.source,
            "p10": self.p10, "p50": self.p50, "p90": self.p90, "covered": self.covered, "range_overlap_frac": self.range_overlap_frac, "error_frac": self.error_frac,
            "role": self.role, "independent": self.independent,
        }


@dataclass(frozen=True, kw_only=True)
class LimitSummary:
    """How often, when and by how much one supply limit binds (world, every reported year)."""

    key: str
    """chips | power"""
    name: str
    binding_frac: tuple[float, ...]
    """Share of samples in which the limit set the year's shipments."""
    shortfall_h100e_p50: tuple[float, ...]
    """P50, over the samples in which it binds, of the H100e the limit held back that year (NaN if it never binds)."""
    shortfall_mw_p50: tuple[float, ...]
    """The same in peak IT power [MW]."""
    first_year: int | None
    """First reported year in which it binds in at least half of the samples."""
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "binding_frac": list(self.binding_frac), "shortfall_h100e_p50": list(self.shortfall_h100e_p50),
                "shortfall_mw_p50": list(self.shortfall_mw_p50), "first_year": self.first_year, "source": self.source}


@dataclass(frozen=True, kw_only=True, eq=False)
class Forecast:
    """A Monte Carlo forecast of one scenario for one region (or the world)."""

    scenario: str
    title: str
    file: str
    extends_chain: tuple[str, ...]
    region: str
    years: tuple[int, ...]
    seed: int
    samples: int
    metrics: Mapping[str, MetricSummary]
    parameters: Mapping[str, Mapping[str, Any]]
    """name -> distribution, source, date (and per_year) as run, overrides included."""
    comparisons: tuple[Comparison, ...] = ()
    """History and published forecasts beside this run's bands (all simulated years)."""
    backtest: Mapping[str, Any] | None = None
    """Out-of-sample vintage backtest, when one was run (see dcplan.forecast.backtest)."""
    limits: tuple[LimitSummary, ...] = ()
    """The supply limits of the world fleet: when and how often each binds, and by how much."""
    raw: Mapping[str, np.ndarray] | None = field(default=None, repr=False)
    """metric -> [samples, years] when raw samples were asked for."""

    def metric(self, name: str) -> MetricSummary:
        from dcplan.errors import InputError
        from dcplan.io.schema import suggest

        if name not in self.metrics:
            raise InputError("metric", f"unknown metric {name!r}{suggest(name, self.metrics)}; available: {', '.join(self.metrics)}")
        return self.metrics[name]

    def limit(self, key: str) -> LimitSummary:
        return next(x for x in self.limits if x.key == key)

    def at(self, name: str, year: int, stat: str = "p50") -> float:
        """One number: ``stat`` (p10/p50/p90/mean) of metric ``name`` in ``year``."""
        return getattr(self.metric(name), stat)[self.years.index(year)]

    def to_dict(self) -> dict[str, Any]:
        """The ``dcplan forecast --json`` document."""
        return {
            "years": list(self.years),
            "region": self.region,
            "metrics": {k: v.as_dict() for k, v in self.metrics.items()},
            "backtest": {
                "comparisons": [c.as_dict() for c in self.comparisons],
                "vintages": self.backtest,
            },
            "limits": [x.as_dict() for x in self.limits],
            "scenario": {
                "name": self.scenario,
                "title": self.title,
                "file": self.file,
                "extends": list(self.extends_chain),
                "parameters": {k: dict(v) for k, v in self.parameters.items()},
            },
            "seed": self.seed,
            "samples": self.samples,
        }
