"""Vintage backtests: start the model in an earlier year with what was known then, score it on what happened.

For a vintage V the history of accelerator spend stops at V and the fleet follows the trailing
three-year growth of the fleet known at V (trend mode; the token chain has no data before
ChatGPT), within the same chip, grid and power equations. The run is compared with each
later actual in data/market/observations.csv: log error of the median and whether the P10-P90
band (80 %) covered it (interval coverage, Gneiting & Raftery 2007, JASA 102:359; target: 80 % bands
cover 70-90 % of held-out points). Only like-for-like actuals count in the scores; the others are
shown beside them.

Hindsight that remains (stated in docs/forecast.md): the physical and cost drivers (power per
accelerator, PUE, prices, lifetimes, non-AI growth) keep today's distributions, and the hardware
catalog knows the generations shipped after V.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast.chain import METRIC_UNITS
from dcplan.forecast.engine import compare_with, region_metrics, simulate
from dcplan.forecast.result import Comparison, MetricSummary, summarise
from dcplan.forecast.scenario import Scenario

#: (metric, region) paths kept for each vintage, for the backtest chart.
PATH_METRICS = (("energy_twh", "world"), ("energy_twh", "us"), ("gpu_spend_usd", "world"), ("capex_usd", "world"), ("h100e_installed", "world"))


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
        return tuple(c for c in self.comparisons if c.scope == "like-for-like")

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "samples": self.samples,
            "seed": self.seed,
            "coverage_frac": self.coverage_frac,
            "n_scored": self.n_scored,
            "band": "P10-P90",
            "vintages": [
                {
                    "vintage": v.vintage,
                    "coverage_frac": v.coverage_frac,
                    "median_abs_log_error": v.median_abs_log_error,
                    "bias_log": v.bias_log,
                    "comparisons": [c.as_dict() for c in v.comparisons],
                    "years": list(v.years),
                    "paths": {k: m.as_dict() for k, m in v.paths.items()},
                }
                for v in self.vintages
            ],
        }


def vintage_scenario(scenario: Scenario, vintage: int) -> Scenario:
    """``scenario`` as it would have been run at the end of ``vintage``: history to V, trend demand."""
    years = scenario.history.years
    if not years[0] + 1 <= vintage <= years[-1]:
        raise InputError("vintages", f"a vintage must lie in {years[0] + 1}-{years[-1]} (the spend history), got {vintage}")
    if "trend_growth_scale" not in scenario.parameters:
        raise scenario.error("parameters", "a backtest needs trend_growth_scale (trend mode)")
    return replace(
        scenario,
        name=f"{scenario.name}@{vintage}",
        start_year=vintage,
        demand_mode="trend",
        history=scenario.history.until(vintage),
        nonai_anchor_year=min(scenario.nonai_anchor_year, vintage),
    )


def run_backtest(scenario: Scenario, observations: Sequence[Any], *, vintages: Sequence[int] = (2019, 2021, 2022), samples: int = 2000, seed: int = 0) -> Backtest:
    """Run each vintage and compare with the actuals published after it."""
    scores = []
    for v in vintages:
        sc = vintage_scenario(scenario, int(v))
        later = [o for o in observations if o.kind == "actual" and o.year > v]
        chunks = simulate(sc, samples, seed)
        years = tuple(y for y in sc.years if y <= min(sc.horizon_end_year, v + 11))
        idx = [sc.years.index(y) for y in years]
        paths = {}
        for metric, region in PATH_METRICS:
            vals = np.concatenate([region_metrics(c, region)[metric][:, idx] for c in chunks])
            paths[f"{metric}@{region}"] = summarise(vals, METRIC_UNITS[metric])
        scores.append(VintageScore(vintage=int(v), comparisons=compare_with(chunks, sc, later), years=years, paths=paths))
    return Backtest(scenario=scenario.name, samples=samples, seed=seed, vintages=tuple(scores))
