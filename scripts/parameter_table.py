"""Print the Markdown table of a scenario's drivers (docs/forecast.md, "Parameters of the base scenario").

    .venv/bin/python scripts/parameter_table.py [SCENARIO]

One row per driver the scenario reads (a segment it does not sum is left out): stage, unit, the
distribution with its median, whether it is drawn per year, and its source and date.
"""

from __future__ import annotations

import sys


def main() -> int:
    from dcplan.forecast.scenario import DRIVERS
    from dcplan.io.scenario import load_scenario

    s = load_scenario(sys.argv[1] if len(sys.argv) > 1 else "base")
    print("| driver | stage | unit | base distribution | per year | source (date) |")
    print("|---|---|---|---|---|---|")
    for name in s.required_drivers():
        p, d = s.parameters[name], DRIVERS[name]
        dist = f"{p.dist.describe()} (median {p.dist.median():.4g})"
        src = p.source.replace("|", "/")
        print(f"| `{name}` | {d.stage} | {d.unit} | {dist} | {'yes' if p.per_year else ''} | {src} ({p.date}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
