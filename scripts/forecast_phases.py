"""Where a 100,000-sample forecast's wall time goes, phase by phase, on threads (a benchmark, not a test).

    .venv/bin/python scripts/forecast_phases.py [--samples 100000] [--repeats 3]

Runs ``run_forecast(base, samples, seed=3)`` ``--repeats`` times in one process (the first pays
the imports and tables) and prints, for each run, its wall and CPU time and the wall time of
each phase: the draw, the demand stage of all draws (for the conditioning), and each
``thread_map`` call over 0.05 s (the draw's column blocks ``rearrange``, its transforms ``one``,
the Dirichlet and demand blocks ``<lambda>``, the chain chunks ``reduce``, the percentiles
``summary``), with its number of pieces. ``DCPLAN_THREADS`` sets the threads as usual.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from dcplan.forecast import conditioning, engine, threads
    from dcplan.io.scenario import load_scenario

    phases: dict[str, float] = {}
    maps: list[tuple[str, int, float]] = []

    def timed(mod, name: str, label: str) -> None:
        fn = getattr(mod, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - t

        setattr(mod, name, wrapper)

    timed(engine, "draw", "draw")
    timed(conditioning.ch, "stage_demand_blocks", "demand of all draws")
    plain_map = threads.thread_map

    def thread_map(fn, items, *, threads=None):
        t = time.perf_counter()
        try:
            return plain_map(fn, items, threads=threads)
        finally:
            maps.append((getattr(fn, "__name__", "?"), len(items), time.perf_counter() - t))

    threads.thread_map = thread_map
    s = load_scenario("base")
    runs = []
    for _ in range(args.repeats):
        phases.clear()
        maps.clear()
        w, c = time.perf_counter(), time.process_time()
        engine.run_forecast(s, samples=args.samples, seed=3)
        runs.append({"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(time.process_time() - c, 2),
                     "phases_s": {k: round(v, 2) for k, v in phases.items()},
                     "thread_maps": [[name, n, round(t, 2)] for name, n, t in maps if t > 0.05]})
    print(json.dumps({"samples": args.samples, "threads": threads.threads_for(args.samples), "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
