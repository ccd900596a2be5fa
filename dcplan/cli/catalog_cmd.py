"""``dcplan hardware list|show`` and ``dcplan models list|show``: the reference catalogs."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from dcplan.cli.output import fmt, print_json, table, usd


def register(sub: argparse._SubParsersAction) -> None:
    for noun, handler_list, handler_show in (
        ("hardware", hardware_list, hardware_show),
        ("models", models_list, models_show),
    ):
        p = sub.add_parser(noun, help=f"the {noun} catalog")
        verbs = p.add_subparsers(dest="verb", metavar="VERB", parser_class=type(p))
        verbs.required = True
        lst = verbs.add_parser("list", help=f"list {noun}")
        lst.add_argument("--json", action="store_true")
        lst.set_defaults(handler=handler_list)
        show = verbs.add_parser("show", help="one entry in full")
        show.add_argument("name")
        show.add_argument("--json", action="store_true")
        show.set_defaults(handler=handler_show)


def _spec_dict(spec: Any) -> dict[str, Any]:
    out = dataclasses.asdict(spec)
    return out


def hardware_list(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import hardware_catalog

    cat = hardware_catalog()
    if args.json:
        print_json([_spec_dict(h) for h in cat.values()])
        return 0
    rows = []
    for h in cat.values():
        bf16 = h.peak_flops_per_s.get("bf16") or h.peak_flops_per_s.get("fp16")
        rows.append((
            h.name,
            h.display_name,
            h.launch_year or "-",
            fmt(bf16, "FLOP/s"),
            fmt(h.peak_flops_per_s.get("fp8"), "FLOP/s"),
            fmt(h.hbm_bytes, "B"),
            fmt(h.hbm_bytes_per_s, "B/s"),
            fmt(h.tdp_w, "W") if h.tdp_w else "-",
            usd(h.cloud_usd_per_hour),
        ))
    table("Accelerators (dense peaks)", ["name", "product", "year", "bf16/fp16", "fp8", "memory", "bandwidth", "TDP", "cloud $/h"], rows,
          caption="dcplan hardware show NAME for every field and its source")
    _systems_table()
    return 0


def _systems_table() -> None:
    """Systems (chip + node + fabric) that --hardware also accepts (data/systems)."""
    from dcplan.io.catalog import system_catalog

    rows = [(s.name, s.chip, s.accelerators_per_node or "-", s.scale_up_domain or "-", fmt(s.scale_up_bytes_per_s, "B/s"),
             f"{fmt(s.scale_out_bytes_per_s, 'B/s')} {s.scale_out_fabric}".strip()) for s in system_catalog().values()]
    table("Systems (a bare chip name means its default system)",
          ["name", "chip", "per node", "NVLink domain", "scale-up per accelerator", "scale-out per accelerator"], rows)


def hardware_show(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import get_hardware

    h = get_hardware(args.name)
    if args.json:
        print_json(_spec_dict(h))
        return 0
    units = {
        "hbm_bytes": "B", "hbm_bytes_per_s": "B/s", "tdp_w": "W", "intra_node_bytes_per_s": "B/s",
        "inter_node_bytes_per_s": "B/s", "node_power_w": "W",
    }
    rows: list[tuple[str, str, str]] = []
    for f in dataclasses.fields(h):
        if f.name in ("sources", "notes", "name", "display_name"):
            continue
        v = getattr(h, f.name)
        if f.name == "peak_flops_per_s":
            for prec, val in v.items():
                rows.append((f"peak {prec}", fmt(val, "FLOP/s"), _q(h, f.name)))
            continue
        if isinstance(v, tuple):
            v = ", ".join(v)
        elif f.name in units and v is not None:
            v = fmt(v, units[f.name])
        elif f.name in ("price_usd", "cloud_usd_per_hour"):
            v = usd(v)
        rows.append((f.name, "-" if v in (None, "") else str(v), _q(h, f.name)))
    table(f"{h.display_name} ({h.name})", ["field", "value", "quality"], rows, caption=h.notes)
    for note in h.sources:
        print(f"[{note.quality}] {', '.join(note.fields)}: {note.source}")
    return 0


def _q(h: Any, name: str) -> str:
    note = h.source_of(name)
    return note.quality if note else ""


def models_list(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import model_catalog
    from dcplan.model.params import count_params

    cat = model_catalog()
    if args.json:
        out = []
        for m in cat.values():
            c = count_params(m)
            out.append({**_spec_dict(m), "params_total": c.total, "params_active": c.active})
        print_json(out)
        return 0
    rows = []
    for m in cat.values():
        c = count_params(m)
        kind = "MoE" if m.moe else ("enc-dec" if m.architecture == "encoder-decoder" else "dense")
        rows.append((m.name, kind, fmt(c.total), fmt(c.active), m.n_layers, m.d_model, f"{m.n_heads}/{m.kv_heads}", m.d_ff, m.vocab_size, m.activation, m.position))
    table("Models", ["name", "kind", "params", "active", "layers", "d_model", "heads/kv", "d_ff", "vocab", "FFN", "positions"], rows,
          caption="parameter counts computed from the architecture (dcplan models show NAME)")
    return 0


def models_show(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import get_model
    from dcplan.model.memory import kv_bytes_per_token
    from dcplan.model.params import count_params

    m = get_model(args.name)
    c = count_params(m)
    if args.json:
        print_json({**_spec_dict(m), "params_total": c.total, "params_active": c.active,
                    "kv_bytes_per_token_bf16": kv_bytes_per_token(m, "bf16")})
        return 0
    rows = [(f.name, str(getattr(m, f.name))) for f in dataclasses.fields(m) if f.name not in ("source", "notes", "display_name")]
    rows += [
        ("params (computed)", f"{c.total:,.0f}"),
        ("active params (computed)", f"{c.active:,.0f}"),
        ("published", f"{m.published_params:,.0f}" if m.published_params else "-"),
        ("KV cache bf16", f"{kv_bytes_per_token(m, 'bf16'):,.0f} B/token"),
    ]
    table(f"{m.display_name} ({m.name})", ["field", "value"], rows, caption=m.notes or None)
    print(f"source [{m.quality}]: {m.source}")
    return 0
