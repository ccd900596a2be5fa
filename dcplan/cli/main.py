"""The ``dcplan`` command: parse arguments, call the library, show the result.

Exit status: 0 success; 2 bad input (one line on stderr naming the field); 1 unexpected error
(one line; ``--debug`` shows the traceback); 130 interrupted. Subcommands register themselves
from their own modules and import heavy libraries only when they run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from dcplan.cli.args import Parser, UsageError, quantity, whole
from dcplan.errors import InputError

__all__ = ["Parser", "UsageError", "build_parser", "main", "quantity", "whole"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> Parser:
    from dcplan.cli import catalog_cmd, estimate_cmd

    parser = Parser(prog="dcplan", description="AI datacenter capacity and market planner.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("--version", action="version", version=f"dcplan {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in (estimate_cmd, catalog_cmd, *_optional_commands()):
        module.register(sub)
    return parser


def _optional_commands() -> list:
    """Command modules of later stages, registered when present."""
    import importlib

    out = []
    for name in ("stacks_cmd", "validate_cmd", "profile_cmd", "calibrate_cmd", "plan_cmd", "forecast_cmd", "report_cmd", "dashboard_cmd", "run_cmd"):
        try:
            out.append(importlib.import_module(f"dcplan.cli.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"dcplan.cli.{name}":
                raise
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dcplan")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        handler: Callable[[argparse.Namespace], int | None] = args.handler
        return int(handler(args) or EXIT_OK)
    except InputError as exc:
        print(f"dcplan: error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dcplan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into exit 1
        if debug:
            raise
        print(f"dcplan: internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
