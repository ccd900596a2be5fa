"""Benchmark of the forecast engine (numbers go to docs/benchmarks-forecast.md).

    .venv/bin/python scripts/bench_forecast.py [--loop-samples 1000] [--skip-100k]

1. run_forecast(base, 10,000 samples): draw + chain + summaries, median of 5 (interpreter start excluded).
2. The vectorised chain against the per-sample Python loop (dcplan.forecast.reference) on the
   same draws, in this run; both give the same numbers (checked here on 20 samples).
3. Dashboard fast path: run_forecast(2,000 samples, an override), median and p95 of 20.
4. 100,000 samples in a child process: wall time and peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop-samples", type=int, default=1000)
    ap.add_argument("--skip-100k", action="store_true")
    args = ap.parse_args()

    from dcplan.forecast import run_forecast
    from dcplan.forecast.chain import run_chain, setup_from
    from dcplan.forecast.reference import run_all
    from dcplan.forecast.sampling import draw
    from dcplan.forecast.threads import single_threaded_blas
    from dcplan.io.scenario import load_scenario

    s = load_scenario("base")
    setup = setup_from(s, s.h100e_peak_flops_per_s)
    run_forecast(s, samples=2000, seed=0)  # warm imports and caches
    out: dict[str, object] = {"years_simulated": len(s.years), "forecast_years": len(s.forecast_years)}

    med, times = _median_time(lambda: run_forecast(s, samples=10_000, seed=1), 5)
    out["run_forecast_10k_s"] = {"median": med, "all": times}

    n = args.loop_samples
    with single_threaded_blas():
        d = draw(s, n, np.random.default_rng(2))
    small = {k: v[:20] for k, v in d.items()}
    vec, loop = run_chain(small, setup).metrics, run_all(small, setup)
    out["max_rel_diff_20_samples"] = max(float(np.nanmax(np.abs(vec[k] - v) / np.maximum(np.abs(v), 1e-12))) for k, v in loop.items())
    t = time.perf_counter()
    run_all(d, setup)
    t_loop = time.perf_counter() - t
    t_vec, _ = _median_time(lambda: run_chain(d, setup), 5)
    out["chain_same_draws"] = {"samples": n, "loop_s": t_loop, "vectorised_s": t_vec, "speedup": t_loop / t_vec}

    lat = []
    for i in range(20):
        t = time.perf_counter()
        run_forecast(s, samples=2000, seed=i, overrides={"pue_ai": 1.2, "tokens_per_user_growth_per_year": 2.0})
        lat.append(time.perf_counter() - t)
    out["fast_path_2000_s"] = {"median": float(np.median(lat)), "p95": float(np.percentile(lat, 95))}

    if not args.skip_100k:
        code = (
            "import time, resource, json\n"
            "from dcplan.forecast import run_forecast\n"
            "from dcplan.io.scenario import load_scenario\n"
            "s = load_scenario('base'); t = time.perf_counter()\n"
            "run_forecast(s, samples=100_000, seed=3)\n"
            "print(json.dumps({'wall_s': time.perf_counter() - t, 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
        )
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out["run_forecast_100k"] = json.loads(res.stdout)
    out["this_process_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
