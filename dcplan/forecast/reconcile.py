"""Base-year reconciliation: how much of the installed fleet the LLM chain accounts for.

``python -m dcplan.forecast.reconcile [SCENARIO]`` runs the scenario and prints, for its start
year, the installed H100-equivalents (built from accelerator spend) beside the H100e that LLM
serving and training need at the scenario's utilisations. 1 - ratio is the share of AI compute
outside the chain.
The chain sets that share per sample (dcplan.forecast.demand.other_ai_h100e); this command shows
its distribution, a diagnostic of how much of the 2024 fleet the token/training chain explains.
"""

from __future__ import annotations

import sys

import numpy as np

from dcplan.forecast.engine import simulate
from dcplan.forecast.scenario import Scenario


def other_share_implied(scenario: Scenario, samples: int = 4000, seed: int = 0) -> np.ndarray:
    """Per sample: 1 - H_llm(t0) / installed H100e at the end of t0."""
    chunks = simulate(scenario, samples, seed)
    t0 = scenario.start_year - scenario.first_year
    llm = np.concatenate([c.metrics["h100e_required_llm"][:, t0] for c in chunks])
    installed = np.concatenate([c.metrics["h100e_installed"][:, t0] for c in chunks])
    return 1.0 - llm / installed


def main(argv: list[str] | None = None) -> int:
    from dcplan.io.scenario import load_scenario

    args = sys.argv[1:] if argv is None else argv
    scenario = load_scenario(args[0] if args else "base")
    f = other_share_implied(scenario)
    q = np.quantile(f, [0.05, 0.1, 0.5, 0.9, 0.95])
    print(f"{scenario.name}: share of {scenario.start_year} AI compute outside the LLM chain (1 - H_llm / installed)")
    print("  P5 {:.3f}  P10 {:.3f}  P50 {:.3f}  P90 {:.3f}  P95 {:.3f}".format(*q))
    return 0


if __name__ == "__main__":
    sys.exit(main())
