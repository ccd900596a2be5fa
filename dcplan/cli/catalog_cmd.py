"""``dcplan hardware list|show`` and ``dcplan models list|show``: the reference catalogs."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from dcplan.cli.output import fmt, print_json, table, usd
from dcplan.i18n import ENGLISH as _


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
    from dcplan.io.measured import measured_calibrations

    cat = hardware_catalog()
    measured = measured_calibrations()
    if args.json:
        print_json([{**_spec_dict(h), "measured_profile": measured[h.name].profile_name if h.name in measured else None}
                    for h in cat.values()])
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
            "yes" if h.name in measured else "-",
        ))
    table("Accelerators (dense peaks)", ["name", "product", "year", "bf16/fp16", "fp8", "memory", "bandwidth", "TDP", "cloud $/h", "measured"],
          rows, caption="dcplan hardware show NAME for every field and its source; 'measured': a profile measured with dcplan ships, "
                        "and estimates use its fitted efficiencies")
    _systems_table()
    return 0


def measured_dict(m: Any) -> dict[str, Any] | None:
    """The --json form of a shipped measured calibration (None when there is none)."""
    if m is None:
        return None
    c = m.calibration
    return {
        "profile": m.profile_name, "profile_file": m.profile_path.name, "calibration_file": m.path.name, "measured": m.created,
        "device": m.device, "precision": m.precision, "notes": m.notes, "used_by_default": True,
        "efficiencies": {
            "gemm_eta_max": c.gemm.eta_max, "train_eta_max": c.train.eta_max, "prefill_eta_max": c.prefill.eta_max,
            "decode_bw_frac": c.decode_bw_frac, "memory_factor": c.memory_factor,
            "decode_dispatch": {impl: dataclasses.asdict(d) for impl, d in c.decode_dispatch.items()},
            "train_load_frac": c.train_load_frac, "infer_load_frac": c.infer_load_frac,
        },
        "heldout": {k: {s: v.get(s) for s in ("n", "median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")}
                    for k, v in m.heldout.items() if isinstance(v, dict)},
    }


def _systems_table() -> None:
    """Systems (chip + node + fabric) that --hardware also accepts (data/systems)."""
    from dcplan.io.catalog import system_catalog

    rows = [(s.name, s.chip, s.accelerators_per_node or "-", s.scale_up_domain or "-", fmt(s.scale_up_bytes_per_s, "B/s"),
             f"{fmt(s.scale_out_bytes_per_s, 'B/s')} {s.scale_out_fabric}".strip()) for s in system_catalog().values()]
    table("Systems (a bare chip name means its default system)",
          ["name", "chip", "per node", "scale-up domain", "scale-up per accelerator", "scale-out per accelerator"], rows)


def hardware_show(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import get_hardware
    from dcplan.io.measured import measured_calibrations

    h = get_hardware(args.name)
    measured = measured_calibrations().get(h.name)
    if args.json:
        print_json({**_spec_dict(h), "measured_profile": measured_dict(measured)})
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
    if measured is not None:
        _show_measured(measured)
    else:
        print("No measured profile of it ships with dcplan: estimates use the shipped defaults (fitted on published runs).")
    return 0


def _show_measured(m: Any) -> None:
    c = m.calibration
    rows = [
        ("profile", f"{m.profile_name} ({m.profile_path.name}, calibration {m.path.name})"),
        ("measured", f"{m.created} on {m.device}, {m.precision}"),
        ("GEMM ceiling", f"eta_max {c.gemm.eta_max:.3f} of peak"),
        ("train / prefill", f"eta_max {c.train.eta_max:.3f} / {c.prefill.eta_max:.3f} of the GEMM ceiling"),
        ("decode bandwidth", f"{c.decode_bw_frac:.3f} of peak"),
        *[(f"decode {impl}", f"{d.kernel_s * 1e6:.2f} us per kernel launched, {d.step_s * 1e6:.2f} us per step")
          for impl, d in c.decode_dispatch.items()],
        ("power / TDP", f"train {c.train_load_frac:.2f}, serve {c.infer_load_frac:.2f}"),
    ]
    for kind, v in m.heldout.items():
        if isinstance(v, dict) and v.get("n"):
            rows.append((f"held-out {kind}", f"median {v['median_ape_pct']:.1f} %, p90 {v['p90_ape_pct']:.1f} % (n {v['n']})"))
    table("Measured profile (used by default; --no-measured for the shipped defaults)", ["", "value"], rows, caption=m.notes or None)


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
        kind = "MoE" if m.moe else {"encoder-decoder": "enc-dec", "encoder": "encoder"}.get(m.architecture, "dense")
        rows.append((m.name, kind, fmt(c.total), fmt(c.active), m.n_layers, m.d_model, f"{m.n_heads}/{m.kv_heads}", m.d_ff, m.vocab_size, m.activation, m.position))
    table("Models", ["name", "kind", "params", "active", "layers", "d_model", "heads/kv", "d_ff", "vocab", "FFN", "positions"], rows,
          caption="parameter counts computed from the architecture (dcplan models show NAME)")
    return 0


def _field_text(value: Any) -> str:
    """A spec field as a reader writes it: lists comma-separated, nothing as '-'."""
    if value is None or value == ():
        return "-"
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


def models_show(args: argparse.Namespace) -> int:
    from dcplan.io.catalog import get_model
    from dcplan.model.memory import kv_bytes_per_token
    from dcplan.model.params import count_params

    m = get_model(args.name)
    c = count_params(m)
    if args.json:
        print_json({**_spec_dict(m), "params_total": c.total, "params_active": c.active,
                    "kv_bytes_per_token_bf16": None if m.is_encoder else kv_bytes_per_token(m, "bf16")})
        return 0
    rows = [(f.name, _field_text(getattr(m, f.name))) for f in dataclasses.fields(m) if f.name not in ("source", "notes", "display_name")]
    rows += [
        ("params (computed)", f"{c.total:,.0f}"),
        ("active params (computed)", f"{c.active:,.0f}"),
        ("published", f"{m.published_params:,.0f}" if m.published_params else "-"),
        ("KV cache bf16", _("none (encoder-only: no generation)") if m.is_encoder else f"{kv_bytes_per_token(m, 'bf16'):,.0f} B/token"),
    ]
    table(f"{m.display_name} ({m.name})", ["field", "value"], rows, caption=m.notes or None)
    print(f"source [{m.quality}]: {m.source}")
    return 0
