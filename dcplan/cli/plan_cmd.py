"""``dcplan plan``: a workload to accelerators, racks, megawatts and dollars on each hardware option."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dcplan.cli.output import fmt, pct, print_json, table, usd


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="size and cost a workload (training jobs, services with latency targets) on hardware options",
        description="Accelerators, nodes, racks, MW, capex, opex, TCO, $/accelerator-hour, $/million tokens, "
                    "a quarterly timeline, a ranking and rent-versus-own for each hardware option (docs/plan.md).",
    )
    p.add_argument("workload", nargs="?", help="workload YAML file, or a shipped sample by name: portfolio, chat-70b, train-70b (print an example with --template)")
    p.add_argument("--hardware", help="comma-separated catalog names that replace the workload's options, e.g. h100-sxm,h200,mi300x")
    p.add_argument("--profile", help="a calibration (dcplan calibrate) applied to the option it calibrates")
    p.add_argument("--impl", help="with --profile: native (default), hf (transformers, eager) or graphs (static cache + CUDA graphs)")
    p.add_argument("--no-measured", action="store_true",
                   help="use the shipped defaults even for hardware dcplan ships a measured profile of (dcplan hardware show NAME)")
    p.add_argument("--json", action="store_true", help="print the whole plan as JSON")
    p.add_argument("--out", help="directory to write the plan's tables to (CSV) and plan.json")
    p.add_argument("--parquet", action="store_true", help="with --out: also write each table as Parquet (needs pyarrow)")
    p.add_argument("--force", action="store_true", help="with --out: replace files that exist")
    p.add_argument("--template", action="store_true", help="print a commented example workload and exit")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dcplan.capacity.loaders import load_plan_inputs, read_cost_defaults
    from dcplan.capacity.plan import plan_capacity
    from dcplan.errors import InputError

    if args.template:
        from dcplan.capacity.template import template_text

        sys.stdout.write(template_text(read_cost_defaults()))
        return 0
    if not args.workload:
        raise InputError("workload", "give a workload YAML file (dcplan plan --template prints an example)")
    hardware = None
    if args.hardware is not None:
        hardware = [h.strip() for h in args.hardware.split(",") if h.strip()]
        if not hardware:
            raise InputError("hardware", "give one or more catalog names separated by commas, e.g. h100-sxm,h200")
    plan = plan_capacity(load_plan_inputs(args.workload, hardware=hardware, profile=args.profile, implementation=args.impl,
                                          measured=not args.no_measured))
    if args.out:
        write_tables(plan, Path(args.out), force=args.force, parquet=args.parquet)
    if args.json:
        print_json(plan.to_dict())
    else:
        show(plan)
    return 0


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def write_tables(plan: Any, out: Path, *, force: bool, parquet: bool = False) -> list[Path]:
    """Write every table as CSV (and Parquet when asked) plus plan.json; nothing if any exists without force."""
    from dcplan.capacity.tables import plan_tables
    from dcplan.errors import InputError
    from dcplan.io.jsonout import write_json
    from dcplan.io.tables import frame, need_pyarrow, write_table

    if out.exists() and not out.is_dir():
        raise InputError("out", f"{out} is a file; give a directory")
    if parquet:
        need_pyarrow()
    tables = plan_tables(plan)
    formats = ["csv", "parquet"] if parquet else ["csv"]
    targets = [out / f"{n}.{f}" for f in formats for n in tables] + [out / "plan.json"]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise InputError("out", f"{existing[0]} exists (and {len(existing) - 1} more); choose another directory or pass --force")
    written = [write_table(frame(cols, rows), out / f"{name}.{f}", f, overwrite=force)
               for name, (cols, rows) in tables.items() for f in formats]
    written.append(write_json(out / "plan.json", plan.to_dict(), overwrite=force))
    return written


# --------------------------------------------------------------------------------------------
# Tables for people
# --------------------------------------------------------------------------------------------


def _days(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def show(plan: Any) -> None:
    best = plan.ranking[0].hardware
    mark = {o.hardware: o.hardware + (" *" if o.hardware == best else "") for o in plan.options}
    table(f"Plan '{plan.workload}': capacity at the end of {plan.horizon_years} year(s)",
          ["option", "accelerators", "train / serve", "nodes", "racks (limit)", "MW IT", "MW facility", "MWh/yr", "tCO2e/yr"],
          [(mark[o.hardware], f"{o.accelerators:,}", f"{o.accelerators_training:,} / {o.accelerators_serving:,}", f"{o.nodes:,}",
            f"{o.racks:,} ({o.rack_binding})", f"{o.it_mw:.3g}", f"{o.facility_mw:.3g}", f"{o.energy_mwh_per_year:,.0f}", f"{o.tco2e_per_year:,.0f}")
           for o in plan.options], caption="* cheapest; a rack holds what its power or its space allows, whichever is less")
    table("Cost", ["option", "capex", "opex/yr", "TCO/yr", "$/accelerator-h", "$/Mtok out", "$/Mtok in+out"],
          [(mark[o.hardware], usd(o.capex_usd), usd(o.opex_usd_per_year), usd(o.tco_usd_per_year), usd(o.usd_per_accelerator_hour),
            usd(o.usd_per_mtok), usd(o.usd_per_mtok_total)) for o in plan.options],
          caption="TCO: capex annualised with the capital recovery factor (IT and facility lives) plus opex" + _rates_note(plan))
    table("Capex and annualised cost by component", ["option", "accelerators", "servers", "network", "facility", "electricity/yr", "maintenance/yr", "staff/yr"],
          [(o.hardware, *(usd(o.capex_breakdown_usd[k]) for k in ("accelerators", "servers", "network", "facility")),
            *(usd(o.opex_breakdown_usd_per_year[k]) for k in ("electricity", "maintenance", "staff"))) for o in plan.options])
    _show_jobs(plan)
    _show_services(plan)
    _show_rent(plan)
    table("Ranking", ["rank", "option", "TCO/yr", "vs best", "deciding factor"],
          [(r.rank, r.hardware, usd(r.tco_usd_per_year), f"+{pct(r.tco_vs_best_frac, 0)}" if r.rank > 1 else "-", r.deciding_factor) for r in plan.ranking])
    table(f"Timeline on {best}: when to add what", ["quarter", "required", "installed", "racks", "MW IT", "capex added", "action"],
          [(r.quarter, f"{r.required_accelerators:,}", f"{r.installed_accelerators:,}", r.racks, f"{r.it_mw:.3g}", usd(r.capex_added_usd), r.action)
           for r in plan.timeline if r.hardware == best])
    if plan.excluded:
        table("Options left out of this plan (cannot run or cannot be sized)", ["option", "field", "why"], [(e.hardware, e.field, e.reason) for e in plan.excluded])
    table("Assumptions", ["name", "value", "unit", "source", "quality"],
          [(a.name, a.value if isinstance(a.value, str) else f"{a.value:g}", a.unit, a.source, a.quality) for a in plan.assumptions])


def _rates_note(plan: Any) -> str:
    """'; in USD: h20 priced in CNY at 0.13749 USD per CNY (source)' for the options priced in their own currency."""
    rates = [a for a in plan.assumptions if a.name.endswith(".exchange_rate")]
    return "".join(f"; {a.name.rsplit('.', 1)[0]} priced in {a.unit.rsplit(' ', 1)[-1]}, shown in USD at {a.value:.6g} {a.unit} ({a.source})"
                   for a in rates)


def _show_jobs(plan: Any) -> None:
    rows = [(o.hardware, j.name, f"{j.accelerators:,}", f"{_days(j.training_days)} (limit {_days(j.deadline_days)})", pct(j.mfu_frac),
             f"{j.runs_per_year:g}", usd(j.cost_usd_owned), usd(j.cost_usd_owned_dedicated), usd(j.cost_usd_rented))
            for o in plan.options for j in o.training_jobs]
    if rows:
        table("Training jobs (one run)", ["option", "job", "accelerators", "days", "MFU", "runs/yr", "owned", "owned, dedicated", "rented"], rows,
              caption="owned: accelerator-hours at the owner's $/accelerator-hour; dedicated: the run's share of the training cluster's TCO")


def _show_services(plan: Any) -> None:
    def slo(value: float | None, target: float | None) -> str:
        if value is None:
            return "-"
        return f"{value * 1e3:.3g} ms" + (f" (<= {target * 1e3:g})" if target is not None else "")

    rows = [(o.hardware, s.name, f"{s.tp} x {s.replicas} = {s.accelerators:,}", f"{s.batch_size} ({s.binding_limit})",
             fmt(s.design_peak_output_tokens_per_s, "tok/s"), slo(s.ttft_s, s.ttft_target_s), slo(s.tpot_s, s.tpot_target_s), usd(s.usd_per_mtok))
            for o in plan.options for s in o.services]
    if rows:
        table("Services at the design peak", ["option", "service", "tp x replicas", "batch (limit)", "peak output", "TTFT", "TPOT", "$/Mtok out"], rows)


def _show_rent(plan: Any) -> None:
    rows = []
    for o in plan.options:
        r = o.rent_vs_own
        rows.append((o.hardware, usd(r.cloud_usd_per_accelerator_hour), f"{r.used_accelerator_hours_per_year:,.0f}", usd(r.own_usd_per_year),
                     usd(r.rent_usd_per_year), usd(r.break_even_usd_per_accelerator_hour), pct(r.break_even_utilization_frac, 0), r.cheaper or "-"))
    table("Rent versus own (accelerator-hours the workload uses)",
          ["option", "cloud $/h", "used acc-h/yr", "own/yr", "rent/yr", "break-even $/h", "break-even util.", "cheaper"], rows)
