"""``dcplan forecast``: Monte Carlo market forecast; ``forecast sensitivity``; ``forecast backtest``."""

from __future__ import annotations

import argparse
from typing import Any

from dcplan.cli.args import whole


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="AI datacenter market forecast with Monte Carlo uncertainty")
    _common(p)
    p.add_argument("--years", help="years to report, FIRST-LAST or one year (default: the 11 years after the scenario's start)")
    p.add_argument("--metric", action="append", help="metric(s) to show (repeatable; default: the headline set)")
    p.add_argument("--raw", action="store_true", help="with --csv/--parquet: write every sample, not only P10/P50/P90/mean")
    p.add_argument("--backtest", action="store_true", help="also run the vintage backtest and include it in --json")
    p.add_argument("--sampling", choices=("lhs", "sobol"), default="lhs",
                   help="how draws are made: lhs (Latin hypercube + Iman-Conover, default) or sobol (scrambled Sobol' + Gaussian copula)")
    _outputs(p)
    p.set_defaults(handler=run)
    acts = p.add_subparsers(dest="forecast_action", metavar="ACTION", parser_class=type(p))

    s = acts.add_parser("sensitivity", help="tornado (P10/P90 one at a time) or Sobol indices of a metric in a year")
    _common(s)
    s.add_argument("--metric", default="energy_twh", help="metric to explain (default energy_twh)")
    s.add_argument("--year", type=whole, default=2030, help="year (default 2030)")
    s.add_argument("--method", choices=("tornado", "sobol"), default="tornado")
    s.add_argument("--by", choices=("driver", "segment"), default="driver",
                   help="rank drivers one by one, or the demand segments (each segment's drivers together) beside the other drivers")
    s.add_argument("--top", type=whole, default=15, help="rows to show (default 15)")
    s.add_argument("--executor", default="local", metavar="WHERE",
                   help="where Sobol's chain runs go: local (a process pool, the default), processes:N, serial, "
                        "dask://HOST:PORT (a Dask scheduler) or dask-local:N (see README 'Big sweeps')")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=run_sensitivity)

    b = acts.add_parser("backtest", help="start from earlier vintages, score against history; published forecasts beside")
    _common(b, samples_default=2000)
    b.add_argument("--vintages", default="2019,2020,2022", help="comma-separated start years (default 2019,2020,2022)")
    _outputs(b)
    b.set_defaults(handler=run_backtest)

    r = acts.add_parser("reconcile", help="the start year's fleet (from spend) beside the demand chain's requirement")
    _common(r, samples_default=4000)
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(handler=run_reconcile)


def _common(p: argparse.ArgumentParser, samples_default: int = 10_000) -> None:
    p.add_argument("--scenario", default="base",
                   help="scenario name in data/scenarios (base, high, low, consumer-enterprise, export-controls[:tighter|:as-is|:relaxed]) or a YAML path")
    p.add_argument("--samples", type=whole, default=samples_default, help=f"Monte Carlo samples (default {samples_default:,}; Sobol: base samples N)")
    p.add_argument("--seed", type=whole, default=0, help="random seed (same seed, same numbers)")
    p.add_argument("--region", default="world", help="world, us, china, europe, apac or row")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="fix a driver to a value (repeatable), e.g. --set pue_ai=1.2")


def _outputs(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print JSON")
    g.add_argument("--csv", metavar="PATH", help="write a CSV file")
    g.add_argument("--parquet", metavar="PATH", help="write a Parquet file (needs pyarrow)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")


def _overrides(items: list[str]) -> dict[str, float]:
    from dcplan.errors import InputError
    from dcplan.units import parse_quantity

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError("set", f"expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = parse_quantity(value)
        except ValueError as exc:
            raise InputError(f"set {name.strip()}", str(exc)) from None
        from dcplan import limits

        limits.check_fields({name.strip(): out[name.strip()]}, prefix="set ")
    return out


def _years(text: str | None) -> tuple[int, ...] | None:
    from dcplan.errors import InputError

    if not text:
        return None
    a, sep, b = text.partition("-")
    try:
        first, last = int(a), int(b) if sep else int(a)
    except ValueError:
        raise InputError("years", f"expected FIRST-LAST (2025-2035) or one year, got {text!r}") from None
    if last < first:
        raise InputError("years", f"last year {last} is before first year {first}")
    from dcplan import limits

    limits.check_year(first, "years")
    limits.check_year(last, "years")  # before range() builds it
    return tuple(range(first, last + 1))


def run(args: argparse.Namespace) -> int:
    from dcplan.forecast.backtest import run_backtest
    from dcplan.forecast.engine import run_forecast, with_backtest
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    metrics = args.metric or []
    fc = run_forecast(scenario, samples=args.samples, seed=args.seed, years=_years(args.years), region=args.region,
                      overrides=_overrides(args.set), keep_samples=bool(args.raw and (args.csv or args.parquet)), observations=read_observations(),
                      sampling=args.sampling)
    for m in metrics:
        fc.metric(m)
    if args.backtest:
        from dcplan.forecast.sampling import apply_overrides

        bt = run_backtest(apply_overrides(scenario, _overrides(args.set)), read_observations(), samples=min(args.samples, 2000), seed=args.seed)
        fc = with_backtest(fc, bt.to_dict())
    if args.json:
        from dcplan.cli.output import print_json

        d = fc.to_dict()
        if metrics:
            d["metrics"] = {k: v for k, v in d["metrics"].items() if k in metrics}
        print_json(d)
    elif args.csv or args.parquet:
        path = _write_table(_forecast_frame(fc, metrics, args.raw), args)
        print(f"wrote {path}")
    else:
        show(fc, metrics)
    return 0


def _forecast_frame(fc: Any, metrics: list[str], raw: bool):
    import pandas as pd

    names = metrics or list(fc.metrics)
    if raw and fc.raw is not None:
        import numpy as np

        n, years = fc.raw[names[0]].shape
        data = {"scenario": fc.scenario, "region": fc.region, "sample": np.repeat(np.arange(n), years), "year": np.tile(fc.years, n)}
        data.update({m: fc.raw[m].ravel() for m in names})
        return pd.DataFrame(data)
    rows = []
    for m in names:
        s = fc.metrics[m]
        for i, y in enumerate(fc.years):
            rows.append({"scenario": fc.scenario, "region": fc.region, "metric": m, "unit": s.unit, "year": y,
                         "p10": s.p10[i], "p50": s.p50[i], "p90": s.p90[i], "mean": s.mean[i]})
    return pd.DataFrame(rows)


def _write_table(df: Any, args: argparse.Namespace) -> str:
    from dcplan.io.tables import write_table

    if args.parquet:
        return str(write_table(df, args.parquet, "parquet", overwrite=args.force, field="parquet"))
    return str(write_table(df, args.csv, "csv", overwrite=args.force, field="csv"))


def show(fc: Any, metrics: list[str]) -> None:
    """The headline table (P50 and P10-P90 in the key years, each with its published anchors), the limits, the split."""
    from dcplan.cli.output import table
    from dcplan.forecast.headline import HEADLINES, headline_rows, limit_lines, number

    ys = list(fc.years)
    shown = ys if len(ys) <= 4 else sorted({ys[0], ys[len(ys) // 2], ys[-1], *[y for y in ys if y % 5 == 0]})[:6]
    wanted = [h for h in HEADLINES if h.key in fc.metrics and (not metrics or h.key in metrics)]
    extra = [m for m in metrics if m not in {h.key for h in HEADLINES}]
    rows, notes = [], []
    for h in wanted:
        cells = []
        for y in shown:
            r = headline_rows(fc, y)
            row = next(x for x in r if x["key"] == h.key)
            cells.append(f"{number(row['p50'])} ({number(row['p10'])}-{number(row['p90'])})")
        rows.append([f"{h.label} [{h.unit}]", *cells])
        for y in ys:
            notes += [f"  {h.label}: {a}" for a in next(x for x in headline_rows(fc, y, all_regions=True) if x["key"] == h.key)["anchors"]]
    for m in extra:
        s = fc.metric(m)
        rows.append([f"{m} [{s.unit}]", *(f"{number(s.p50[ys.index(y)])} ({number(s.p10[ys.index(y)])}-{number(s.p90[ys.index(y)])})" for y in shown)])
    table(f"dcplan forecast: {fc.title or fc.scenario}, {fc.region}, {fc.samples:,} samples, seed {fc.seed}: P50 (P10-P90)",
          ["metric", *map(str, shown)], rows, caption="--json for every year and metric; docs/forecast.md for the method.")
    if notes:
        print("Anchors (published numbers and actuals in the same units, with their sources; a region in brackets is set beside that region's band):")
        print("\n".join(dict.fromkeys(notes)))
    if fc.region in ("world", "china"):
        print("Supply limits (world fleet; export controls: China's):")
        print("\n".join(f"  {line}" for line in limit_lines(fc)))
    _show_demand_and_china(fc, shown)
    if all(k in fc.metrics for k in ("ai_energy_inference_twh", "ai_energy_training_twh", "ai_energy_other_twh")) and shown:
        y = shown[-1] if 2030 not in shown else 2030
        parts = {k: fc.at(f"ai_energy_{k}_twh", y) for k in ("inference", "training", "other")}
        print(f"AI electricity in {y} by use (P50, TWh/yr): " + ", ".join(f"{k} {number(v)}" for k, v in parts.items())
              + " (LLM serving, training bounded by AI revenue, AI outside the LLM chain)")


def _show_demand_and_china(fc: Any, shown: list[int]) -> None:
    """LLM serving demand by application segment, and China's accelerators by origin, in the headline year (P50)."""
    from dcplan.forecast.headline import number

    if not shown:
        return
    y = 2030 if 2030 in fc.years else shown[-1]
    segs = [k for k in fc.metrics if k.startswith("h100e_required_") and k not in ("h100e_required_inference", "h100e_required_training", "h100e_required_other")]
    if segs:
        print(f"LLM serving demand in {y} by segment (P50, M H100e): "
              + ", ".join(f"{k[len('h100e_required_'):]} {number(fc.at(k, y) / 1e6)}" for k in segs))
    if fc.region in ("world", "china") and "china_placed_h100e" in fc.metrics:
        parts = {"asked for": "china_placed_h100e", "made in China": "china_domestic_shipments_h100e", "imported": "china_import_shipments_h100e",
                 "short": "china_shortfall_h100e"}
        print(f"China's new accelerators in {y} by origin (P50, M H100e/yr): " + ", ".join(f"{k} {number(fc.at(v, y) / 1e6)}" for k, v in parts.items()))


def run_sensitivity(args: argparse.Namespace) -> int:
    from dcplan import limits
    from dcplan.forecast.engine import _check_region
    from dcplan.forecast.sampling import apply_overrides
    from dcplan.forecast.sensitivity import sobol, tornado
    from dcplan.io.scenario import load_scenario

    limits.check_year(args.year, "year")
    scenario = apply_overrides(load_scenario(args.scenario), _overrides(args.set))
    region = _check_region(args.region)
    if args.method == "tornado":
        res = tornado(scenario, metric=args.metric, year=args.year, region=region, by=args.by)
    else:
        import functools

        from dcplan.forecast.sensitivity import warm
        from dcplan.parallel import executor

        with executor(args.executor, warm=functools.partial(warm, scenario)) as pool:
            res = sobol(scenario, metric=args.metric, year=args.year, region=region, base_samples=min(args.samples, 4096), seed=args.seed,
                        by=args.by, pool=pool)
    if args.json:
        from dcplan.cli.output import print_json

        print_json(res.to_dict())
        return 0
    from dcplan.cli.output import table

    d = res.to_dict()
    if args.method == "tornado":
        rows = [[b["name"], f"{b['low_input']:.4g} / {b['high_input']:.4g}", f"{b['at_low']:,.4g}", f"{b['at_high']:,.4g}", f"{b['swing']:,.4g}"] for b in d["bars"][: args.top]]
        what = ("segments' demand at its P10/P90 (the segment's requirement in H100e as input)" if args.by == "segment" else "drivers at P10/P90")
        table(f"Tornado: {args.metric} in {args.year} ({region}), {what}, others at median; base {d['base_value']:,.4g} {d['unit']}",
              ["segment" if args.by == "segment" else "driver", "P10 / P90 input", "at P10", "at P90", "swing"], rows)
    else:
        ci = lambda lo_hi: f"[{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]"  # noqa: E731
        rows = [[x["name"], f"{x['first_order']:.3f} {ci(x['first_order_ci'])}", f"{x['total_order']:.3f} {ci(x['total_order_ci'])}"] for x in d["indices"][: args.top]]
        table(f"Sobol indices (scipy.stats.sobol_indices): {args.metric} in {args.year} ({region}), N = {d['base_samples']} "
              f"({d['base_samples'] * (len(d['indices']) + 2):,} runs), {d['confidence']:.0%} bootstrap intervals",
              ["driver or segment" if args.by == "segment" else "driver", "first order S1 [interval]", "total order ST [interval]"], rows)
    return 0


def run_backtest(args: argparse.Namespace) -> int:
    from dcplan.errors import InputError
    from dcplan.forecast.backtest import run_backtest as backtest
    from dcplan.forecast.sampling import apply_overrides
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import load_scenario

    try:
        vintages = tuple(int(v) for v in str(args.vintages).split(",") if v.strip())
    except ValueError:
        raise InputError("vintages", f"expected comma-separated years, got {args.vintages!r}") from None
    from dcplan import limits

    for v in vintages:
        limits.check_year(v, "vintages")
    scenario = apply_overrides(load_scenario(args.scenario), _overrides(args.set))
    bt = backtest(scenario, read_observations(), vintages=vintages, samples=args.samples, seed=args.seed)
    d = bt.to_dict()
    if args.json:
        from dcplan.cli.output import print_json

        print_json(d)
        return 0
    rows = [{"vintage": v["vintage"], **c} for v in d["vintages"] for c in v["comparisons"]]
    if args.csv or args.parquet:
        import pandas as pd

        print(f"wrote {_write_table(pd.DataFrame(rows), args)}")
        return 0
    from dcplan.cli.output import table

    scored = lambda r: r["independent"] and r["scope"] == "like-for-like" and r["year"] > r["vintage"]  # noqa: E731
    out = [[r["vintage"], f"{r['metric']} {r['region']} {r['year']}", f"{r['value']:,.4g}", f"{r['p50']:,.4g} ({r['p10']:,.4g}-{r['p90']:,.4g})",
            f"{100 * r['error_frac']:+.0f} %", ("yes" if r["covered"] else "no") if scored(r) else f"(not scored: {r['scope'] if r['scope'] != 'like-for-like' else r['role']})"]
           for r in rows]
    table(f"Backtest of {d['scenario']}: the same chain started from each vintage's history (conditional hindcast: today's drivers)",
          ["vintage", "actual", "value", "dcplan P50 (P10-P90)", "P50 error", "in P10-P90"], out)
    fmt = lambda x, f: "-" if x is None else f.format(x)  # noqa: E731
    summary = [[v["vintage"], f"{fmt(v['coverage_frac'], '{:.0%}')} of {v['n_scored']}", fmt(v["median_abs_log_error"], "{:.3f}"), fmt(v["bias_frac"], "{:+.0%}")]
               for v in d["vintages"]]
    summary.append(["all", f"{fmt(d['coverage_frac'], '{:.0%}')} of {d['n_scored']}", "", fmt(d["bias_frac"], "{:+.0%}")])
    table("Scores on independent points (actuals after the vintage that set nothing; target: coverage 70-90 %, |P50 bias| <= 10 %)",
          ["vintage", "P10-P90 coverage", "median |log error|", "P50 bias"], summary)
    _published_table(scenario, args)
    return 0


def run_reconcile(args: argparse.Namespace) -> int:
    from dcplan.forecast.reconcile import reconcile
    from dcplan.forecast.sampling import apply_overrides
    from dcplan.io.scenario import load_scenario

    rec = reconcile(apply_overrides(load_scenario(args.scenario), _overrides(args.set)), samples=args.samples, seed=args.seed)
    d = rec.to_dict()
    if args.json:
        from dcplan.cli.output import print_json

        print_json(d)
        return 0
    from dcplan.cli.output import table
    from dcplan.forecast.headline import number

    q = lambda t, s=1e6: f"{number(t[1] / s)} ({number(t[0] / s)}-{number(t[2] / s)})"  # noqa: E731
    rows = [["fleet installed at the end of the year (from spend) [M H100e]", q(d["installed_h100e"])],
            ["the year's own requirement (demand chain) [M H100e]", q(d["required_h100e"])],
            ["requirement the fleet is built for (planning lead ahead) [M H100e]", q(d["target_h100e"])],
            ["built-for requirement / installed", q(d["target_over_installed"], 1)],
            *[[f"share of the year's requirement: {k}", q(v, 0.01) + " %"] for k, v in d["share"].items()]]
    table(f"Reconciliation of {d['scenario']} in {d['year']}: P50 (P10-P90), {d['samples']:,} samples", ["what", "value"], rows,
          caption="Nothing forces the chain to match the fleet: a ratio below 1 means the fleet was built ahead of the demand the chain sees.")
    return 0


def _published_table(scenario: Any, args: argparse.Namespace) -> None:
    """Today's run of the scenario beside the published forecasts, in the same units."""
    from dcplan.cli.output import table
    from dcplan.forecast.engine import compare_with, simulate
    from dcplan.io.market import read_observations

    pub = [o for o in read_observations() if o.kind == "published"]
    comps = compare_with(simulate(scenario, args.samples, args.seed), scenario, pub)
    rows = [[f"{c.metric} {c.region} {c.year}", c.label[:46], f"{c.value:,.4g}" + (f" ({c.low:,.4g}-{c.high:,.4g})" if c.low is not None else ""),
             f"{c.p50:,.4g} ({c.p10:,.4g}-{c.p90:,.4g})", "yes" if c.covered else "no",
             "-" if c.range_overlap_frac is None else f"{100 * c.range_overlap_frac:.0f} %"] for c in comps]
    table(f"Published forecasts beside dcplan {scenario.name} (start {scenario.start_year}), same units",
          ["what", "published as", "value (range)", "dcplan P50 (P10-P90)", "value in band", "range in band"], rows)
