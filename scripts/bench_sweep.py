"""Speed-up of a big sweep on more workers: a Sobol analysis over all drivers (a benchmark, not a test).

    .venv/bin/python scripts/bench_sweep.py [--base-samples 512] [--rounds 2] [--executors serial,dask-local:1,dask-local:2,processes:2]

Runs ``dcplan.forecast.sensitivity.sobol`` of the base scenario (energy_twh in 2030; N (d + 2)
chain runs) on each executor in turn, ``--rounds`` times in alternating order (ABC CBA ...), and
prints the wall time of each run (the executor's start-up apart: workers started and warmed with
one tiny evaluation each), the median per executor, its
speed-up against the first one, and whether every executor gave the same indices. A control
measures what parallel capacity the machine gives this process at the time: the same pure-Python
CPU loop twice in one process and once in each of two processes (2.0 on two free cores; ~1.0
where other work holds the cores). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _spin(_: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return time.perf_counter() - t


def parallel_capacity() -> float:
    """Time of two CPU-bound tasks in one process / in two processes at once."""
    from concurrent.futures import ProcessPoolExecutor

    t = time.perf_counter()
    _spin(0), _spin(0)
    serial = time.perf_counter() - t
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [0, 0]))
        t = time.perf_counter()
        list(pool.map(_spin, [0, 0]))
        both = time.perf_counter() - t
    return round(serial / both, 2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-samples", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--executors", default="dask-local:1,dask-local:2,serial,processes:2")
    args = ap.parse_args()
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    import functools

    from dcplan.forecast.sensitivity import sobol, warm
    from dcplan.io.scenario import load_scenario
    from dcplan.parallel import executor

    s = load_scenario("base")
    sobol(s, base_samples=8, n_resamples=10)  # warm imports and tables in this process
    specs = args.executors.split(",")
    capacity = [parallel_capacity()]
    times: dict[str, list[float]] = {k: [] for k in specs}
    starts: dict[str, list[float]] = {k: [] for k in specs}
    results = {}
    for r in range(args.rounds):
        for spec in (specs if r % 2 == 0 else specs[::-1]):
            t0 = time.perf_counter()
            with executor(spec, warm=functools.partial(warm, s)) as pool:
                t1 = time.perf_counter()
                res = sobol(s, base_samples=args.base_samples, n_resamples=50, pool=pool)
                t2 = time.perf_counter()
            times[spec].append(round(t2 - t1, 2))
            starts[spec].append(round(t1 - t0, 2))
            results[spec] = res.total_order
            print(json.dumps({"executor": spec, "run_s": round(t2 - t1, 2), "start_s": round(t1 - t0, 2)}), file=sys.stderr, flush=True)
    capacity.append(parallel_capacity())
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    first = specs[0]
    runs = args.base_samples * (len(s.uncertain()) + 2)
    print(json.dumps({"base_samples": args.base_samples, "chain_runs": runs, "drivers": len(s.uncertain()), "cpus": os.cpu_count(),
                      "load_average": os.getloadavg(), "parallel_capacity_before_after": capacity, "run_s": times, "start_s": starts, "median_run_s": med,
                      f"speedup_vs_{first}": {k: round(med[first] / v, 2) for k, v in med.items()},
                      "same_indices": all(v == results[first] for v in results.values())}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
