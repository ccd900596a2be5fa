"""The 100,000-sample forecast of issue 17, in fresh processes (a benchmark, not a test).

    .venv/bin/python scripts/bench_100k.py [--rounds 3] [--threads 1,0] [--compare ROOT] [--samples 100000]

Each measurement is one child process: import dcplan, load the base scenario, then time
``run_forecast(base, samples=100_000, seed=3)`` twice: the first call (what ``dcplan forecast``
pays after its imports) and a second one in the same process (tables and pages already made).
It reports wall and CPU seconds of each call and the child's peak RSS. ``--threads`` lists the
``DCPLAN_THREADS`` values to run (0: the default, the usable CPUs up to 4); ``--compare ROOT``
runs another checkout (say the code before a change, from ``git archive``) in alternation,
ABAB..., so that a ratio measured in one run says something on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from dcplan.forecast import run_forecast
from dcplan.io.scenario import load_scenario
n = int(sys.argv[1])
s = load_scenario("base")
out = {}
for call in ("first", "second"):
    w, c = time.perf_counter(), time.process_time()
    run_forecast(s, samples=n, seed=3)
    out[call] = {"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(time.process_time() - c, 2)}
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def run(root: str, threads: int, samples: int) -> dict:
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("DCPLAN_THREADS", None)
    if threads:
        env["DCPLAN_THREADS"] = str(threads)
    done = subprocess.run([sys.executable, "-c", CHILD, str(samples)], env=env, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,0", help="DCPLAN_THREADS values, comma-separated (0: default)")
    ap.add_argument("--compare", metavar="ROOT", help="another checkout, run in alternation (with its own defaults)")
    ap.add_argument("--samples", type=int, default=100_000)
    args = ap.parse_args()
    cases = [(f"this, threads {t or 'default'}", str(ROOT), int(t)) for t in args.threads.split(",")]
    if args.compare:
        cases.append(("compare", str(Path(args.compare).resolve()), 0))
    results: dict[str, list[dict]] = {name: [] for name, _, _ in cases}
    for _ in range(args.rounds):
        for name, root, t in cases:
            results[name].append(run(root, t, args.samples))
            print(name, json.dumps(results[name][-1]), file=sys.stderr)
    print(json.dumps({"samples": args.samples, "load_average": os.getloadavg(), "cpus": len(os.sched_getaffinity(0)), "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
