"""Start-year reconciliation: how the demand chain compares with the fleet built from accelerator spend.

Nothing forces the two to agree: the demand chain (LLM serving from tokens, training bounded by
revenue, AI outside the LLM chain) is set from its own sources, the start year's fleet from
spend. This reports, per sample, the fleet installed at the end of the start year beside the
requirement the fleet is built for (``planning_lead_years`` ahead) and the start year's own
requirement, and the share of that requirement each segment takes. A ratio near 1 means the
chain explains the fleet; well below 1, the fleet was built ahead of the demand the chain sees
(the first forecast years then ship little); above 1, the start year ended short of demand.
Pure: the caller loads the scenario (``dcplan forecast reconcile`` on the command line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dcplan.forecast.engine import simulate
from dcplan.forecast.scenario import Scenario

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True, kw_only=True)
class Reconciliation:
    scenario: str
    year: int
    samples: int
    installed_h100e: tuple[float, float, float]
    """End of the start year, built from spend: P10, P50, P90."""
    required_h100e: tuple[float, float, float]
    """The start year's own requirement (year average)."""
    target_h100e: tuple[float, float, float]
    """The requirement the fleet is built for: ``planning_lead_years`` ahead."""
    target_over_installed: tuple[float, float, float]
    """Per-sample ratio target / installed."""
    share: dict[str, tuple[float, float, float]]
    """inference / training / other: share of the start year's requirement."""

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "year": self.year, "samples": self.samples, "installed_h100e": list(self.installed_h100e),
                "required_h100e": list(self.required_h100e), "target_h100e": list(self.target_h100e),
                "target_over_installed": list(self.target_over_installed), "share": {k: list(v) for k, v in self.share.items()}}


def _q(x: np.ndarray) -> tuple[float, float, float]:
    a, b, c = np.quantile(x, QUANTILES)
    return float(a), float(b), float(c)


def reconcile(scenario: Scenario, samples: int = 4000, seed: int = 0) -> Reconciliation:
    """The start year's fleet against the demand chain (see the module docstring)."""
    chunks = simulate(scenario, samples, seed)
    t0 = scenario.start_year - scenario.first_year
    cat = lambda f: np.concatenate([f(c) for c in chunks])  # noqa: E731
    installed = cat(lambda c: c.supply.stock_h100e[:, t0])
    required = cat(lambda c: c.demand.required_h100e[:, t0])
    target = cat(lambda c: c.supply.target_h100e[:, t0])
    parts = {"inference": cat(lambda c: c.demand.inference_h100e[:, t0]), "training": cat(lambda c: c.demand.training_h100e[:, t0]),
             "other": cat(lambda c: c.demand.other_h100e[:, t0])}
    return Reconciliation(scenario=scenario.name, year=scenario.start_year, samples=samples, installed_h100e=_q(installed),
                          required_h100e=_q(required), target_h100e=_q(target), target_over_installed=_q(target / installed),
                          share={k: _q(v / required) for k, v in parts.items()})
