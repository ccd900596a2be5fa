"""``dcplan stacks list|show``: the serving stacks and the published results their parameters rest on."""

from __future__ import annotations

import argparse
import dataclasses

from dcplan.cli.output import print_json, table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stacks", help="the serving stacks (engine + platform) and their fitted parameters")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", parser_class=type(p))
    verbs.required = True
    lst = verbs.add_parser("list", help="list serving stacks")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=stacks_list)
    show = verbs.add_parser("show", help="one stack in full")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=stacks_show)


def _loo(spec) -> str:
    h = (spec.fit or {}).get("held_out") or {}
    if not h.get("n"):
        return "-"
    return f"{h['median_ape_pct']:.1f}% (n={h['n']}, {h.get('method', 'leave-one-out')})"


def stacks_list(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import stack_catalog

    cat = stack_catalog()
    if args.json:
        print_json([dataclasses.asdict(s) for s in cat.values()])
        return 0
    rows = []
    for s in cat.values():
        fit = s.fit or {}
        chips = ", ".join(fit.get("chips", {})) or "-"
        runs = f"{'/'.join(s.vendors)} {'/'.join(s.kinds)}".strip() or "(fallback only)"
        rows.append((s.name, s.engine, s.platform, runs, ", ".join(s.default_for) or "-", fit.get("rows", 0), chips, _loo(s)))
    table("Serving stacks", ["name", "engine", "platform", "runs on", "default for", "rows", "chips with rows", "held-out median error"], rows,
          caption="dcplan stacks show NAME for the fitted parameters and their sources; rows: data/validation/serving_benchmarks.yaml")
    return 0


def stacks_show(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import get_stack

    s = get_stack(args.name)
    if args.json:
        print_json(dataclasses.asdict(s))
        return 0
    rows = [(f.name, str(getattr(s, f.name))) for f in dataclasses.fields(s) if f.name not in ("sources", "notes", "display_name", "fit")]
    for key, value in (s.fit or {}).items():
        rows.append((f"fit.{key}", str(value)))
    table(f"{s.display_name} ({s.name})", ["field", "value"], rows, caption=s.notes or None)
    for key, src in s.sources.items():
        print(f"{key}: {src}")
    return 0
