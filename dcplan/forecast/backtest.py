"""Vintage backtests: run the same chain from an earlier start year, score it on what happened after.

For a vintage V the history of accelerator spend stops at V: the fleet is built from spend up to
V and follows the demand chain after it, within the chip supply path (anchored on V's
shipments), the grid pipeline and the same power and money equations. Each later actual in
data/market/observations.csv that did not set the run (``role`` check, like-for-like, after V:
world and US energy, NVIDIA data-centre revenue, hyperscaler capex, the Epoch AI chip stock) is
scored: whether the P10-P90 band (80 %) covered it, and the P50's log error. The target of a
forecasting protocol of this kind is 80 % bands covering 70-90 % of held-out points.

This is a conditional hindcast, not a real-time forecast: the demand drivers keep today's
distributions (a 2019 forecaster did not know that ChatGPT would launch in late 2022), the
physical and cost drivers too, and the hardware catalog knows the generations shipped after V.
What it tests is whether the chain, given those drivers, turns the fleet of year V into the
energy, revenue and capex that followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast.chain import METRIC_UNITS
from dcplan.forecast.engine import compare_with, region_metric, simulate
from dcplan.forecast.result import Comparison, MetricSummary, summarise
from dcplan.forecast.scenario import Scenario

#: (metric, region) paths kept for each vintage, for the backtest chart.
PATH_METRICS = (("energy_twh", "world"), ("energy_twh", "us"), ("accelerator_spend_usd", "world"), ("hyperscaler_capex_usd", "world"),
                ("capex_usd", "world"), ("h100e_installed", "world"))


@dataclass(frozen=True, kw_only=True)
class VintageScore:
    vintage: int
    comparisons: tuple[Comparison, ...]
    """Every later actual, like-for-like or not."""
    years: tuple[int, ...] = ()
    paths: Mapping[str, MetricSummary] = field(default_factory=dict)
    """"metric@region" -> the vintage's P10/P50/P90 over ``years``."""

    @property
    def scored(self) -> tuple[Comparison, ...]:
        """The independent points: actuals after the vintage that set nothing in the run, like-for-like."""
        return tuple(c for c in self.comparisons if c.independent and c.scope == "like-for-like" and c.year > self.vintage)

    @property
    def coverage_frac(self) -> float | None:
        s = self.scored
        return sum(c.covered for c in s) / len(s) if s else None

    @property
    def median_abs_log_error(self) -> float | None:
        s = self.scored
        return float(np.median([abs(np.log(c.p50 / c.value)) for c in s])) if s else None

    @property
    def bias_log(self) -> float | None:
        """Mean log(P50 / actual): > 0 over-forecast."""
        s = self.scored
        return float(np.mean([np.log(c.p50 / c.value) for c in s])) if s else None

    @property
    def bias_frac(self) -> float | None:
        """exp(mean log(P50 / actual)) - 1: the P50's typical relative error (> 0 over-forecast)."""
        b = self.bias_log
        return None if b is None else float(np.expm1(b))


@dataclass(frozen=True, kw_only=True)
class Backtest:
    scenario: str
    samples: int
    seed: int
    vintages: tuple[VintageScore, ...]

    @property
    def coverage_frac(self) -> float | None:
        scored = [c for v in self.vintages for c in v.scored]
        return sum(c.covered for c in scored) / len(scored) if scored else None

    @property
    def n_scored(self) -> int:
        return sum(len(v.scored) for v in self.vintages)

    @property
    def bias_frac(self) -> float | None:
        """exp(mean log(P50 / actual)) - 1 over every scored point of every vintage."""
        scored = [c for v in self.vintages for c in v.scored]
        return float(np.expm1(np.mean([np.log(c.p50 / c.value) for c in scored]))) if scored else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "samples": self.samples,
            "seed": self.seed,
            "coverage_frac": self.coverage_frac,
            "bias_frac": self.bias_frac,
            "n_scored": self.n_scored,
            "band": "P10-P90",
            "vintages": [
                {
                    "vintage": v.vintage,
                    "coverage_frac": v.coverage_frac,
                    "median_abs_log_error": v.median_abs_log_error,
                    "bias_log": v.bias_log,
                    "bias_frac": v.bias_frac,
                    "n_scored": len(v.scored),
                    "comparisons": [c.as_dict() for c in v.comparisons],
                    "years": list(v.years),
                    "paths": {k: m.as_dict() for k, m in v.paths.items()},
                }
                for v in self.vintages
            ],
        }


def vintage_scenario(scenario: Scenario, vintage: int) -> Scenario:
    """``scenario`` started at the end of ``vintage``: spend history to V, the demand chain after it."""
    years = scenario.history.years
    lo = max(years[0] + 1, scenario.nonai_anchor_year)
    if not lo <= vintage <= years[-1]:
        raise InputError("vintages", f"a vintage must lie in {lo}-{years[-1]} (the spend history after the non-AI anchor year), got {vintage}")
    return replace(scenario, name=f"{scenario.name}@{vintage}", start_year=vintage, history=scenario.history.until(vintage))


DEFAULT_VINTAGES = (2019, 2020, 2022)


def run_backtest(scenario: Scenario, observations: Sequence[Any], *, vintages: Sequence[int] = DEFAULT_VINTAGES, samples: int = 2000, seed: int = 0) -> Backtest:
    """Run each vintage and compare with the actuals after it (scored: the independent ones)."""
    scores = []
    for v in vintages:
        sc = vintage_scenario(scenario, int(v))
        later = [o for o in observations if o.kind == "actual" and o.year > v]
        chunks = simulate(sc, samples, seed)
        years = tuple(y for y in sc.years if y <= min(sc.horizon_end_year, v + 11))
        idx = [sc.years.index(y) for y in years]
        paths = {}
        for metric, region in PATH_METRICS:
            vals = np.concatenate([region_metric(c, region, metric)[:, idx] for c in chunks])
            paths[f"{metric}@{region}"] = summarise(vals, METRIC_UNITS[metric])
        scores.append(VintageScore(vintage=int(v), comparisons=compare_with(chunks, sc, later), years=years, paths=paths))
    return Backtest(scenario=scenario.name, samples=samples, seed=seed, vintages=tuple(scores))
