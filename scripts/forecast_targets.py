"""Measure every target of issue 14 on the shipped scenarios and print the results (numbers go to docs/forecast.md).

    .venv/bin/python scripts/forecast_targets.py [--samples 10000] [--seed 0] [--backtest-samples 2000] [--json]

Each line: the target, what was measured, and whether it is met. The base scenario runs with
10,000 samples; the timing is in process, interpreter start and the first call's imports
excluded (median of 3; the machine may be shared: see docs/benchmarks-forecast.md).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _band(fc, metric, year, region=None):
    return tuple(float(fc.at(metric, year, s)) for s in ("p10", "p50", "p90"))


def _china_and_segments(base, n, seed, years, add) -> None:
    """Issue 19: China's accelerators under the export-controls family, and demand by application (reported, no threshold)."""
    from dcplan.forecast import run_forecast
    from dcplan.io.scenario import load_scenario

    fcs = {v: run_forecast(load_scenario(f"export-controls:{v}"), samples=n, seed=seed, years=years, region="china") for v in ("tighter", "as-is", "relaxed")}
    cells = "; ".join(f"{v}: {f.at('h100e_installed', 2030) / 1e6:.1f} M H100e, {f.at('energy_twh', 2030):.0f} TWh, "
                      f"spend ${f.at('accelerator_spend_usd', 2030) / 1e9:.0f} B" for v, f in fcs.items())
    add("China 2030 under export controls (P50 installed, energy, accelerator spend; reported, no threshold)", cells, None)
    for v in ("as-is", "tighter"):
        f = fcs[v]
        cells = ", ".join(f"{label} {f.at(key, y, 'mean') / 1e6:.2f}" for label, key in (
            ("asked for", "china_placed_h100e"), ("made in China", "china_domestic_shipments_h100e"), ("imported", "china_import_shipments_h100e"),
            ("short", "china_shortfall_h100e")) for y in (2026,))
        cells30 = ", ".join(f"{label} {f.at(key, 2030, 'mean') / 1e6:.2f}" for label, key in (
            ("asked for", "china_placed_h100e"), ("made in China", "china_domestic_shipments_h100e"), ("imported", "china_import_shipments_h100e"),
            ("short", "china_shortfall_h100e")))
        add(f"China's new accelerators by origin, {v} (mean M H100e/yr, they add up; reported)", f"2026: {cells}; 2030: {cells30}; "
            f"export controls bind in {max(f.limit('export_controls').binding_frac):.0%} of samples at most", None)
    w = run_forecast(base, samples=n, seed=seed, years=years)
    parts = ", ".join(f"{g} {w.at(f'h100e_required_{g}', 2030) / 1e6:.2g} M" for g in base.segments)
    add("LLM serving demand by application 2030 (P50 H100e; reported)", parts + f"; all serving {w.at('h100e_required_inference', 2030) / 1e6:.3g} M", None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backtest-samples", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from dcplan.forecast import run_forecast
    from dcplan.forecast.backtest import run_backtest
    from dcplan.forecast.engine import run_forecast_fixed
    from dcplan.forecast.sensitivity import tornado
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import load_scenario

    obs = read_observations()
    base, high, low = (load_scenario(n) for n in ("base", "high", "low"))
    n, seed, years = args.samples, args.seed, (2017, 2035)
    out: list[dict] = []

    def add(target: str, measured: str, ok: bool | None) -> None:
        out.append({"target": target, "measured": measured, "met": ok})

    fc = run_forecast(base, samples=n, seed=seed, years=years, observations=obs)
    e30 = _band(fc, "energy_twh", 2030)
    add("2030 world energy P50 within +-15 % of IEA's 945 TWh", f"P50 {e30[1]:.0f} TWh ({e30[1] / 945 - 1:+.1%}); P10-P90 {e30[0]:.0f}-{e30[2]:.0f}",
        abs(e30[1] / 945 - 1) <= 0.15)
    e35 = _band(fc, "energy_twh", 2035)
    add("IEA 2035 base (1,200 TWh) inside P10-P90", f"P10-P90 {e35[0]:.0f}-{e35[2]:.0f}, P50 {e35[1]:.0f}", e35[0] <= 1200 <= e35[2])
    for sc, name, checks in ((high, "high", ((2030, 1264, "Lift-Off"), (2035, 1720, "Lift-Off"))), (low, "low", ((2030, 669, "Headwinds"), (2035, 700, "Headwinds (recalled)")))):
        f = run_forecast(sc, samples=n, seed=seed, years=years)
        for year, value, case in checks:
            b = _band(f, "energy_twh", year)
            add(f"IEA {case} {year} ({value} TWh) inside the {name} scenario's P10-P90", f"P10-P90 {b[0]:.0f}-{b[2]:.0f}, P50 {b[1]:.0f}", b[0] <= value <= b[2])
    us = run_forecast(base, samples=n, seed=seed, years=years, region="us", observations=obs)
    u23, u24 = _band(us, "energy_twh", 2023), _band(us, "energy_twh", 2024)
    add("US 2024 within LBNL's range (>= 176 TWh in 2023 and growing)", f"US 2024 P50 {u24[1]:.0f} (P10-P90 {u24[0]:.0f}-{u24[2]:.0f}); US 2023 P50 {u23[1]:.0f} "
        f"({u23[1] / 176 - 1:+.0%} vs LBNL 176)", u24[1] >= 176 and u24[1] > u23[1])
    for region, iea in (("us", 426), ("china", 277), ("europe", 113), ("apac", 101), ("row", 29)):
        f = us if region == "us" else run_forecast(base, samples=n, seed=seed, years=years, region=region)
        b = _band(f, "energy_twh", 2030)
        add(f"{region} 2030 against IEA's regional Base {iea} TWh (reported, no threshold)", f"P50 {b[1]:.0f} ({b[1] / iea - 1:+.0%}), P10-P90 {b[0]:.0f}-{b[2]:.0f}",
            b[0] <= iea <= b[2])
    for metric, year, value, label, scale, unit in (("energy_twh", 2024, 415, "world 2024 (IEA Energy and AI)", 1, "TWh"),
                                                    ("energy_twh", 2025, 486, "world 2025 (IEA 2026: +17 %)", 1, "TWh"),
                                                    ("h100e_installed", 2025, 15e6, "Epoch AI chips sold to end-2025", 1e6, "M H100e"),
                                                    ("hyperscaler_capex_usd", 2025, 416e9, "Big-4 hyperscaler capex 2025", 1e9, "$B"),
                                                    ("capex_cumulative_usd", 2030, 5.2e12, "McKinsey cumulative AI capex to 2030", 1e12, "$T")):
        b = _band(fc, metric, year)
        add(f"{label}: {value / scale:g} {unit} (reported, no threshold)", f"P50 {b[1] / scale:.3g} ({b[1] / value - 1:+.0%}), P10-P90 {b[0] / scale:.3g}-{b[2] / scale:.3g}",
            b[0] <= value <= b[2])
    for year, nv in ((2024, 115.2e9), (2025, 193.7e9)):
        b = _band(fc, "accelerator_spend_usd", year)
        add(f"NVIDIA DC revenue {year} (${nv / 1e9:.1f} B) inside the accelerator-spend band", f"P10-P90 ${b[0] / 1e9:.0f}-{b[2] / 1e9:.0f} B, P50 ${b[1] / 1e9:.0f} B",
            b[0] <= nv <= b[2])
    capex = fc.metric("capex_usd").p50
    i24, i30 = fc.years.index(2024), fc.years.index(2030)
    path = [capex[i] / 1e9 for i in range(i24, i30 + 1)]
    add("No year-on-year dip in capex P50 through 2030", "P50 $B 2024-2030: " + ", ".join(f"{v:.0f}" for v in path),
        all(b >= a for a, b in zip(path, path[1:], strict=False)))
    unmet = _band(fc, "unmet_demand_frac", 2030)
    backlog = _band(fc, "backlog_years", 2030)
    lim = "; ".join(f"{x.key}: first year binding in half the samples {x.first_year}, peak share {max(x.binding_frac):.0%}" for x in fc.limits)
    add("Unmet demand P50 2030 <= 20 % (or a labelled supply limit)", f"unmet P50 {unmet[1]:.0%} (P90 {unmet[2]:.0%}); backlog P50 {backlog[1]:.2f} y (P90 {backlog[2]:.1f} y); {lim}",
        unmet[1] <= 0.20)
    for sc, driver, label in ((base, "dialogue_tokens_per_use", "dialogue tokens per use"),
                              (load_scenario("consumer-enterprise"), "consumer_tokens_per_use", "consumer tokens/user/day (consumer-enterprise scenario)")):
        p = sc.parameters[driver].dist
        lo_v, hi_v = (float(p.ppf(np.array([q]))[0]) for q in (0.1, 0.9))
        a = run_forecast_fixed(sc, fixed={driver: lo_v}, samples=n, seed=seed, years=years, metrics=["ai_energy_twh"])
        c = run_forecast_fixed(sc, fixed={driver: hi_v}, samples=n, seed=seed, years=years, metrics=["ai_energy_twh"])
        move = c.at("ai_energy_twh", 2030) / a.at("ai_energy_twh", 2030) - 1
        t = tornado(sc, metric="ai_energy_twh", year=2030)
        bar = next(b for b in t.bars if b.name == driver)
        add(f"Tokens per user P10 -> P90 moves 2030 AI energy >= 5 % ({label})",
            f"common random numbers: P50 {a.at('ai_energy_twh', 2030):.0f} -> {c.at('ai_energy_twh', 2030):.0f} TWh "
            f"({move:+.1%}); tornado (others at median): {bar.at_low:.0f} -> {bar.at_high:.0f} ({bar.at_high / bar.at_low - 1:+.1%})", move >= 0.05)
    _china_and_segments(base, n, seed, years, add)
    bt = run_backtest(base, obs, samples=args.backtest_samples, seed=seed)
    per = "; ".join(f"{v.vintage}: {v.coverage_frac:.0%} of {len(v.scored)}, bias {v.bias_frac:+.0%}" for v in bt.vintages)
    add("Backtest coverage on independent points 70-90 % with |P50 bias| <= 10 %", f"{bt.coverage_frac:.0%} of {bt.n_scored}, bias {bt.bias_frac:+.1%} ({per})",
        0.70 <= bt.coverage_frac <= 0.90 and abs(bt.bias_frac) <= 0.10)
    run_forecast(base, samples=n, seed=seed)
    times = []
    for s in range(3):
        t0 = time.perf_counter()
        run_forecast(base, samples=10_000, seed=s)
        times.append(time.perf_counter() - t0)
    add("Speed: 10k samples x 11-12 reported years <= 1 s in process", f"median {np.median(times):.2f} s of 3 ({', '.join(f'{x:.2f}' for x in times)}); "
        f"{len(base.years)} years simulated", float(np.median(times)) <= 1.0)

    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for r in out:
            mark = {True: "MET ", False: "MISS", None: "    "}[r["met"]]
            print(f"[{mark}] {r['target']}\n        {r['measured']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
