"""``dcplan report``: a capacity report (plan, forecast, evidence) as HTML, PDF, XLSX, Markdown, JSON."""

from __future__ import annotations

import argparse

from dcplan.cli.args import whole


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a capacity report: HTML, PDF, XLSX, Markdown, JSON")
    p.add_argument("--workload", help="workload YAML (default: data/workloads/portfolio.yaml)")
    p.add_argument("--scenario", default="base", help="forecast scenario name or YAML path (default base)")
    p.add_argument("--profile", help="a calibration (dcplan calibrate) to plan with and report on")
    p.add_argument("--no-measured", action="store_true",
                   help="plan with the shipped defaults even for hardware dcplan ships a measured profile of")
    p.add_argument("--format", default="html,pdf,xlsx,md,json", help="comma list of html, pdf, xlsx, md, json (default all)")
    p.add_argument("--out", help="directory (ending in /) or base name (default reports/dcplan-report)")
    p.add_argument("--seed", type=whole, default=0, help="Monte Carlo seed (default 0)")
    p.add_argument("--samples", type=whole, default=10_000, help="forecast samples (default 10,000)")
    p.add_argument("--force", action="store_true", help="overwrite existing report files")
    p.add_argument("--executor", default="local", metavar="WHERE",
                   help="where the report's independent computations run: local (a process pool, the default), processes:N "
                        "or serial (all in this process)")
    p.add_argument("--lang", default="en", help="language of the report's text: en (default) or zh (中文); the JSON format is the same in every language")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dcplan.i18n import check_lang
    from dcplan.report.assemble import build_report
    from dcplan.report.output import output_paths, parse_formats, refuse_existing, write_report
    from dcplan.report.pipeline import gather

    lang = check_lang(args.lang)
    formats = parse_formats(args.format)
    paths = output_paths(args.out, formats)
    if not args.force:
        refuse_existing(paths)  # before the minute of work, not after it
    from dcplan.report.printer import warm_printer

    with warm_printer("pdf" in formats) as printer:  # Chromium starts while the inputs are gathered
        report = build_report(gather(workload=args.workload, scenario=args.scenario, profile=args.profile, seed=args.seed,
                                     samples=args.samples, measured=not args.no_measured, executor=args.executor), lang=lang)
        result = write_report(report, paths, force=args.force, printer=printer)
    for fmt, path in result.written.items():
        print(f"wrote {fmt:5s} {path}")
    for fmt, why in result.failed.items():
        print(f"dcplan: error: {fmt} failed: {why}", file=__import__("sys").stderr)
    return 1 if result.failed else 0
