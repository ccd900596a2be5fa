"""``dcplan dashboard``: serve the Dash app with gunicorn, bound to loopback unless told.

Off loopback it refuses to start without authentication (dashboards/security.py): users and
password hashes from a file or an environment variable, or ``--behind-proxy`` behind a reverse
proxy that authenticates. Passwords never appear on the command line.
"""

from __future__ import annotations

import argparse

from dcplan.cli.args import whole


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard (gunicorn; http://127.0.0.1:8050)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only; "
                                                       "any other needs authentication, see README 'Serving for a team')")
    p.add_argument("--port", type=whole, default=8050)
    p.add_argument("--workers", type=whole, default=2, help="gunicorn worker processes (default 2: one per core serves the market page best)")
    p.add_argument("--threads", type=whole, default=1, help="threads per worker (default 1; see BENCHMARKS.md for threads against processes)")
    p.add_argument("--profiles", help="folder of profiles to show (default profiles/)")
    p.add_argument("--results", help="a run folder written by `dcplan run` (reports/run-<time>/): every page opens on that run")
    p.add_argument("--users-file", metavar="PATH",
                   help="HTTP basic auth: file of user:scrypt-hash lines (or set DCPLAN_DASHBOARD_USERS_FILE / DCPLAN_DASHBOARD_USERS)")
    p.add_argument("--behind-proxy", action="store_true",
                   help="trust a reverse proxy's authentication: requests must come from --trusted-proxy and carry --proxy-user-header")
    p.add_argument("--proxy-user-header", default=None, help="header naming the authenticated user (default X-Forwarded-User)")
    p.add_argument("--trusted-proxy", action="append", metavar="ADDR",
                   help="address or network of the reverse proxy (repeatable; default 127.0.0.1 and ::1)")
    p.add_argument("--hash-password", metavar="USER",
                   help="read a password from the terminal (or stdin) and print the USER:hash line for a users file, then exit")
    p.add_argument("--debug", action="store_true", help="Dash's debug server with hot reload (development only, loopback only)")
    p.add_argument("--lang", help="language for browsers that ask for none of dcplan's: en (default) or zh (中文); "
                                  "each browser's Accept-Language and the page's switch come first")
    p.set_defaults(handler=run)


def _security_env(args: argparse.Namespace) -> dict[str, str]:
    from dashboards import security as s

    env = {}
    if args.users_file:
        env[s.ENV_USERS_FILE] = args.users_file
    if args.behind_proxy:
        env[s.ENV_BEHIND_PROXY] = "1"
    if args.proxy_user_header:
        env[s.ENV_PROXY_HEADER] = args.proxy_user_header
    if args.trusted_proxy:
        env[s.ENV_TRUSTED_PROXIES] = ",".join(args.trusted_proxy)
    return env


def run(args: argparse.Namespace) -> int:
    import os

    from dcplan import limits
    from dcplan.errors import InputError

    if args.hash_password is not None:
        from dashboards.security import read_password, users_line

        print(users_line(args.hash_password, read_password()))
        return 0
    if not (0 < args.port < 65536):
        raise InputError("port", f"must be 1-65535, got {args.port}")
    limits.check(limits.PROCESSES, args.workers, "workers", whole=True)
    limits.check(limits.PROCESSES, args.threads, "threads", whole=True)
    env = _security_env(args)
    if args.lang is not None:
        from dcplan.i18n import check_lang

        env["DCPLAN_LANG"] = check_lang(args.lang)
    if args.profiles:
        env["DCPLAN_PROFILES_DIR"] = args.profiles
    if args.results:
        from pathlib import Path

        from dcplan.io.runs import read_run

        read_run(args.results)  # not a run folder: one line, exit 2, before serving
        env["DCPLAN_RESULTS_DIR"] = str(Path(args.results).resolve())
    from dashboards.security import SecurityConfig, check_serving, is_loopback

    config = SecurityConfig.from_env({**os.environ, **env})  # a bad users file is exit 2 here, not a worker crash
    check_serving(args.host, config)
    if args.debug and not is_loopback(args.host):
        raise InputError("debug", "the debug server runs code sent to it: loopback only")
    from dashboards.serve import serve

    print(f"dcplan dashboard on http://{args.host}:{args.port} ({args.workers} gunicorn workers x {args.threads} threads; {config.describe()}; "
          "Ctrl-C stops)", flush=True)
    serve(host=args.host, port=args.port, workers=args.workers, threads=args.threads, debug=args.debug, env=env)
    return 0
