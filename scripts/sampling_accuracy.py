"""Band accuracy of the dashboard's sample against a 100,000-sample reference (a benchmark, not a test).

    .venv/bin/python scripts/sampling_accuracy.py [--seeds 8] [--reference 100000]

For each sampling method and size (Latin hypercube + Iman-Conover; scrambled Sobol' + Gaussian
copula) and each of ``--seeds`` seeds, runs the base scenario's forecast and compares its P10,
P50 and P90 of the market page's metrics in every reported year (2025-2035) with those of one
Latin-hypercube run of ``--reference`` samples (another seed). The error of a cell is
|q / q_ref - 1| (cells with q_ref = 0 are left out); per configuration it prints the root mean
square over seeds, summarised over cells as the median and the 90th percentile, for P10, P50 and
P90 apart, plus the mean time of one run. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIGS = (("lhs", 2000), ("sobol", 2048), ("lhs", 1024), ("sobol", 1024), ("lhs", 4096))


def quantiles(fc, names):
    return {q: np.array([getattr(fc.metrics[m], q) for m in names]) for q in ("p10", "p50", "p90")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--reference", type=int, default=100_000)
    args = ap.parse_args()
    from dashboards.pages.market import METRICS
    from dcplan.forecast.engine import run_forecast
    from dcplan.forecast.headline import HEADLINE_KEYS
    from dcplan.io.scenario import load_scenario

    s = load_scenario("base")
    names = list(dict.fromkeys([k for k, _ in METRICS] + list(HEADLINE_KEYS)))
    t = time.perf_counter()
    ref = quantiles(run_forecast(s, samples=args.reference, seed=10_001), names)
    out: dict[str, object] = {"reference_samples": args.reference, "reference_s": round(time.perf_counter() - t, 1), "metrics": names,
                              "seeds": args.seeds, "configs": {}}
    for method, n in CONFIGS:
        errs = {q: [] for q in ref}
        times = []
        for seed in range(args.seeds):
            t = time.perf_counter()
            fc = run_forecast(s, samples=n, seed=seed, sampling=method)
            times.append(time.perf_counter() - t)
            got = quantiles(fc, names)
            for q in ref:
                with np.errstate(divide="ignore", invalid="ignore"):
                    errs[q].append(np.where(ref[q] != 0, got[q] / ref[q] - 1.0, np.nan))
        row = {"run_s": round(float(np.mean(times)), 3)}
        for q, e in errs.items():
            rms = np.sqrt(np.nanmean(np.square(np.stack(e)), axis=0)).ravel()
            rms = rms[np.isfinite(rms)]
            row[q] = {"median_rms_rel_err": round(float(np.median(rms)), 4), "p90_rms_rel_err": round(float(np.percentile(rms, 90)), 4),
                      "cells": int(rms.size)}
        out["configs"][f"{method}-{n}"] = row
        print(json.dumps({f"{method}-{n}": row}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
