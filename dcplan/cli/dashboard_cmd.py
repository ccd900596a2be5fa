"""``dcplan dashboard``: serve the Dash app with gunicorn, bound to loopback unless told."""

from __future__ import annotations

import argparse

from dcplan.cli.args import whole


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard (gunicorn; http://127.0.0.1:8050)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=whole, default=8050)
    p.add_argument("--workers", type=whole, default=2, help="gunicorn worker processes (default 2)")
    p.add_argument("--profiles", help="folder of profiles to show (default profiles/)")
    p.add_argument("--results", help="a run folder written by `dcplan run` (reports/run-<time>/): every page opens on that run")
    p.add_argument("--debug", action="store_true", help="Dash's debug server with hot reload (development only)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dcplan.errors import InputError

    if not (0 < args.port < 65536):
        raise InputError("port", f"must be 1-65535, got {args.port}")
    if args.workers < 1:
        raise InputError("workers", f"must be >= 1, got {args.workers}")
    env = {}
    if args.profiles:
        env["DCPLAN_PROFILES_DIR"] = args.profiles
    if args.results:
        from pathlib import Path

        from dcplan.io.runs import read_run

        read_run(args.results)  # not a run folder: one line, exit 2, before serving
        env["DCPLAN_RESULTS_DIR"] = str(Path(args.results).resolve())
    from dashboards.serve import serve

    print(f"dcplan dashboard on http://{args.host}:{args.port} ({args.workers} gunicorn workers; Ctrl-C stops)", flush=True)
    serve(host=args.host, port=args.port, workers=args.workers, debug=args.debug, env=env)
    return 0
