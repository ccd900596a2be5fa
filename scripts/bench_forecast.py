"""Benchmark of the forecast engine (numbers go to docs/benchmarks-forecast.md).

    .venv/bin/python scripts/bench_forecast.py [--skip-100k]

1. run_forecast(base, 10,000 samples): draw + conditioning + chain + summaries, median of 5
   (interpreter start and the first call's imports and tables excluded).
2. The chain's stages on the same 10,000 draws (demand, supply, power, money, regions), median of 3.
3. Dashboard fast path: run_forecast_fixed(2,000 samples) with a power driver moved (re-runs power,
   money, regions from cached stages) and with a demand driver moved (re-runs every stage), 20 calls each.
4. Tornado, Sobol (N = 256, scipy.stats.sobol_indices with bootstrap), both by segment, and the 3-vintage backtest (2,000 samples).
5. 100,000 samples in a child process: wall time and peak RSS (ru_maxrss).
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
    ap.add_argument("--skip-100k", action="store_true")
    args = ap.parse_args()

    from dcplan.forecast import chain as ch
    from dcplan.forecast import run_forecast
    from dcplan.forecast.backtest import run_backtest
    from dcplan.forecast.engine import run_forecast_fixed
    from dcplan.forecast.sampling import draw
    from dcplan.forecast.sensitivity import sobol, tornado
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import load_scenario

    s = load_scenario("base")
    run_forecast(s, samples=10_000, seed=0)  # warm imports and the beta tables
    out: dict[str, object] = {"years_simulated": len(s.years), "forecast_years": len(s.forecast_years), "uncertain_drivers": len(s.uncertain())}

    med, times = _median_time(lambda: run_forecast(s, samples=10_000, seed=1), 5)
    out["run_forecast_10k_s"] = {"median": med, "all": times}

    setup = ch.setup_from(s)
    d = draw(s, 10_000, np.random.default_rng(2))
    n = 10_000
    stages: dict[str, list[float]] = {k: [] for k in ("demand", "supply", "power", "money", "regions")}
    for _ in range(3):
        t = time.perf_counter()
        dem = ch.stage_demand(d, setup, n)
        t1 = time.perf_counter()
        sup = ch.stage_supply(d, setup, n, dem)
        t2 = time.perf_counter()
        pwr = ch.stage_power(d, setup, n, sup)
        t3 = time.perf_counter()
        mon = ch.stage_money(d, setup, n, dem, sup, pwr)
        t4 = time.perf_counter()
        ch.stage_regions(d, setup, n, sup, pwr, mon)
        t5 = time.perf_counter()
        for k, v in zip(stages, (t1 - t, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            stages[k].append(v)
    out["chain_stages_10k_s"] = {k: float(np.median(v)) for k, v in stages.items()}

    for label, name, values in (("power_driver", "pue_ai", (1.15, 1.35)), ("demand_driver", "dialogue_tokens_per_use", (2000.0, 5000.0))):
        run_forecast_fixed(s, fixed={name: values[0]}, samples=2000, seed=0)
        lat = []
        for i in range(20):
            t = time.perf_counter()
            run_forecast_fixed(s, fixed={name: values[i % 2]}, samples=2000, seed=0)
            lat.append(time.perf_counter() - t)
        out[f"fast_path_2000_{label}_s"] = {"median": float(np.median(lat)), "p95": float(np.percentile(lat, 95))}

    out["tornado_s"] = _median_time(lambda: tornado(s, metric="energy_twh", year=2030), 3)[0]
    t = time.perf_counter()
    sobol(s, metric="energy_twh", year=2030, base_samples=256)
    out["sobol_256_s"] = time.perf_counter() - t
    if "by" in tornado.__code__.co_varnames:  # demand segments (issue 19)
        out["tornado_by_segment_s"] = _median_time(lambda: tornado(s, metric="energy_twh", year=2030, by="segment"), 3)[0]
        t = time.perf_counter()
        sobol(s, metric="energy_twh", year=2030, base_samples=256, by="segment")
        out["sobol_256_by_segment_s"] = time.perf_counter() - t
    t = time.perf_counter()
    run_backtest(s, read_observations(), samples=2000)
    out["backtest_3_vintages_2000_s"] = time.perf_counter() - t

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
