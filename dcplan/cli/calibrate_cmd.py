"""``dcplan calibrate PROFILE``: fit the model to a measured profile and show how accurate it is.

Writes a calibration file that ``dcplan estimate ... --profile PATH`` reads. scipy is imported
inside the handler only.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from dcplan.cli.output import fmt, print_json, table

#: Held-out targets (median, p90 APE %) by kind: CPU profiles (issue 3) and GPU profiles (issue 13).
TARGETS = {"train": (8.0, 20.0), "prefill": (8.0, 20.0), "decode": (8.0, 20.0), "memory": (10.0, None)}
GPU_TARGETS = {"train": (5.0, 20.0), "prefill": (5.0, 20.0), "decode": (8.0, 20.0), "seq2seq": (10.0, 20.0), "memory": (10.0, 20.0)}


def targets(device_type: str) -> dict[str, tuple[float, float | None]]:
    return GPU_TARGETS if device_type == "cuda" else TARGETS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit the performance model to a profile (dcplan profile) and report held-out accuracy")
    p.add_argument("profile", metavar="PROFILE", help="a profile JSON written by dcplan profile")
    p.add_argument("--out", help="calibration file to write (default: PROFILE with .calibration.json)")
    p.add_argument("--force", action="store_true", help="replace an existing calibration file")
    p.add_argument("--json", action="store_true", help="print parameters, held-out accuracy and predictions as JSON")
    p.set_defaults(handler=run)


def default_out(profile_path: str) -> Path:
    p = Path(profile_path)
    return p.with_name(p.stem + ".calibration.json")


def document(pc: Any, profile_path: str, digest: str) -> dict[str, Any]:
    """The calibration file: what dcplan.io.calibration reads, plus provenance and accuracy."""
    from dcplan.calibrate.stored import heldout_points_dict
    from dcplan.io.calibration import CALIBRATION_KIND, CALIBRATION_SCHEMA_VERSION, calibration_to_dict

    prof = pc.profile
    return {
        "schema_version": CALIBRATION_SCHEMA_VERSION,
        "kind": CALIBRATION_KIND,
        "calibration": calibration_to_dict(pc.calibration),
        "implementations": {impl: calibration_to_dict(cal) for impl, cal in pc.implementations.items()},
        "profile": {"path": profile_path, "name": prof.name, "created": prof.created, "sha256": digest,
                    "device": prof.device.to_dict(), "partial": prof.partial, "precision": pc.precision},
        "hardware": {"name": pc.hardware.name, "catalog_entry": pc.catalog_entry,
                     "peak_flops_per_s": pc.hardware.peak(pc.precision), "hbm_bytes_per_s": pc.hardware.hbm_bytes_per_s,
                     "note": device_note(pc)},
        "heldout": pc.heldout_dict(),
        "heldout_points": heldout_points_dict(pc),
        "fit": {**{k: v.to_dict() for k, v in pc.fits.items()},
                "collectives": [c.to_dict() for c in pc.collectives],
                "power": None if pc.power is None else {"train_load_frac": pc.power.train_load_frac,
                                                         "infer_load_frac": pc.power.infer_load_frac}},
        "predictions": [p.to_dict() for p in pc.predictions],
    }


def run(args: argparse.Namespace) -> int:
    from dcplan.calibrate.profile_fit import calibrate_profile
    from dcplan.errors import InputError
    from dcplan.io.calibration import write_calibration
    from dcplan.io.profile import read_profile

    out = Path(args.out) if args.out else default_out(args.profile)
    if out.exists() and not args.force:
        raise InputError("out", f"{out} exists; choose another --out or pass --force")
    profile = read_profile(args.profile)
    digest = hashlib.sha256(Path(args.profile).read_bytes()).hexdigest()
    pc = calibrate_profile(profile, args.profile)
    doc = document(pc, args.profile, digest)
    write_calibration(out, doc, overwrite=args.force)
    if args.json:
        print_json({"calibration_path": str(out), "heldout": doc["heldout"], "parameters": _parameters(pc),
                    "hardware": doc["hardware"], "predictions": doc["predictions"]})
    else:
        show(pc, out)
    return 0


def _parameters(pc: Any) -> dict[str, Any]:
    c = pc.calibration
    out: dict[str, Any] = {}
    for curve in ("gemm", "train", "prefill"):
        cv = getattr(c, curve)
        out[curve] = {"eta_max": cv.eta_max, "x_half": cv.x_half, "exponent": cv.exponent, "t0_s": cv.t0_s,
                      "t0_per_layer_s": cv.t0_per_layer_s, "act_passes": cv.act_passes}
    dc = c.decode_compute
    out["decode_compute"] = None if dc is None else {"eta_max": dc.eta_max, "x_half_tokens": dc.x_half, "exponent": dc.exponent}
    out["decode_dispatch"] = {impl: dataclasses.asdict(d) for impl, d in c.decode_dispatch.items()}
    out["decode_impl"] = c.decode_impl
    for name in ("decode_bw_frac", "decode_t0_s", "decode_t0_per_layer_s", "memory_factor", "memory_constant_bytes",
                 "memory_activation_factor", "memory_logits_factor", "optimizer_bytes_factor", "embedding_grad_passes",
                 "intra_alpha_s", "intra_bw_frac", "train_load_frac", "infer_load_frac"):
        out[name] = getattr(c, name)
    return out


def show(pc: Any, out: Path) -> None:
    c, hw = pc.calibration, pc.hardware
    g = c.gemm
    rows = [
        ("device", f"{hw.display_name} ({'catalog entry ' + hw.name if pc.catalog_entry else 'measured spec ' + hw.name})"),
        (f"peak {pc.precision}", f"{fmt(hw.peak(pc.precision), 'FLOP/s')}" + ("" if pc.catalog_entry else " (measured best GEMM)")),
        ("memory bandwidth", fmt(hw.hbm_bytes_per_s, "B/s") + ("" if pc.catalog_entry else " (measured copy)")),
        ("gemm", f"eta_max {g.eta_max:.3f}, x_half {fmt(g.x_half, 'FLOP')}, exponent {g.exponent:.2f}, t0 {g.t0_s * 1e6:.3g} us"),
        ("train", _curve(c.train) + f"; optimizer traffic x {c.optimizer_bytes_factor:.3g}; "
                  f"{c.embedding_grad_passes:.3g} embedding-gradient passes"),
        ("prefill", _curve(c.prefill)),
        ("decode", f"bandwidth {c.decode_bw_frac:.3f} of peak; " + _decode_compute(c.decode_compute)),
        *[(f"decode {impl}", _dispatch(d)) for impl, d in c.decode_dispatch.items()],
        ("decode default", f"{c.decode_impl}" + ("" if c.decode_impl in c.decode_dispatch else
                                                 f" (not profiled: {c.decode_t0_s * 1e3:.3g} ms/step added, {c.source('decode_t0_s')})")),
        ("memory", f"x {c.memory_factor:.3f} (activations x {c.memory_activation_factor:.2f}, logits x {c.memory_logits_factor:.2f}) "
                   f"+ {fmt(c.memory_constant_bytes, 'B')}"),
    ]
    if device_note(pc):
        rows.insert(1, ("note", device_note(pc)))
    for coll in pc.collectives:
        rows.append((f"{coll.op} x{coll.world_size}", f"alpha {coll.alpha_s * 1e6:.3g} us, bus bandwidth {fmt(coll.bus_bytes_per_s, 'B/s')}"))
    if pc.power is not None:
        rows.append(("power / TDP", ", ".join(f"{k} {v:.2f}" for k, v in (("train", pc.power.train_load_frac),
                                                                          ("serve", pc.power.infer_load_frac)) if v is not None)))
    gf, gs = pc.fits["gemm"], pc.fits["gemm_saturating"]
    rows.append(("gemm form check", f"Hill median APE {_median(gf.ape_pct()):.1f} % (max {max(gf.ape_pct()):.1f}), "
                                    f"plain saturating {_median(gs.ape_pct()):.1f} % (max {max(gs.ape_pct()):.1f})"))
    for impl, cal in pc.implementations.items():
        rows.append((f"{impl} calibration", f"train {_curve(cal.train)}; decode t0 {cal.decode_t0_s * 1e3:.3g} ms + "
                                            f"{cal.decode_t0_per_layer_s * 1e3:.3g} ms/layer (estimate --impl {impl.split()[0]})"))
    table(f"Calibration of {pc.profile.name} (native)", ["parameter", "value"], rows, caption=f"written to {out}")
    _show_heldout(pc)
    _show_predictions(pc)


def device_note(pc: Any) -> str | None:
    """What a user must know about the device a profile calibrates (a GPU the catalog does not know)."""
    if pc.catalog_entry or pc.profile.device.type != "cuda":
        return None
    return (f"{pc.profile.device.name} is not in the hardware catalog: it is calibrated against its own measured peak "
            f"({fmt(pc.hardware.peak(pc.precision), 'FLOP/s')} {pc.precision}, its best GEMM) and memory bandwidth "
            f"({fmt(pc.hardware.hbm_bytes_per_s, 'B/s')}, its best copy), so its efficiencies are relative to those")


def _decode_compute(dc: Any) -> str:
    if dc is None:
        return "compute at the GEMM x prefill curves"
    if dc.x_half == 0:
        return f"compute at the GEMM x prefill plateau, eta {dc.eta_max:.3f}"
    return f"compute eta_max {dc.eta_max:.3f}, half at {dc.x_half:.3g} tokens, exponent {dc.exponent:.2f}"


def _dispatch(d: Any) -> str:
    combine = "the longer of host and device" if d.host_overlap_frac >= 1 else (
        "added to device time" if d.host_overlap_frac == 0 else f"overlap {d.host_overlap_frac:.2f}")
    return f"{d.kernel_s * 1e6:.2f} us/kernel + {d.step_s * 1e6:.2f} us/step ({combine})"


def _curve(cv: Any) -> str:
    return (f"eta_max {cv.eta_max:.3f}, x_half {fmt(cv.x_half, 'FLOP')}, {cv.t0_per_layer_s * 1e3:.3g} ms/layer, "
            f"{cv.act_passes:.3g} activation passes")


def _median(xs: list[float]) -> float:
    import statistics

    return statistics.median(xs) if xs else float("nan")


def _target(kind: str, s: dict, device_type: str = "cpu") -> str:
    goals = targets(device_type)
    if kind not in goals or not s.get("n"):
        return "-"
    med, p90 = goals[kind]
    ok = s["median_ape_pct"] <= med and (p90 is None or s["p90_ape_pct"] <= p90)
    goal = f"median <= {med:g}" + (f", p90 <= {p90:g}" if p90 else "")
    return ("met" if ok else "MISSED") + f" ({goal})"


def _show_heldout(pc: Any) -> None:
    rows = []
    for kind, h in pc.heldout.items():
        splits = (("leave-one-out", h.loo), (h.largest.get("split", "largest"), h.largest))
        for name, s in splits[1:] if h.loo.get("split") == h.largest.get("split") else splits:
            if not s.get("n"):
                rows.append((kind, name, 0, "-", "-", "-", "-", "-"))
                continue
            rows.append((kind, name, s["n"], f"{s['median_ape_pct']:.1f} %", f"{s['p90_ape_pct']:.1f} %", f"{s['max_ape_pct']:.1f} %",
                         f"{s['bias_pct']:+.1f} %", _target(kind, s, pc.profile.device.type)))
    table("Held-out accuracy (configurations the fit did not see)", ["kind", "split", "n", "median APE", "p90 APE", "max APE", "bias", "target"], rows)
    if pc.heldout_hf is not None:
        _show_heldout_hf(pc.heldout_hf)


HF_TARGETS = {"train": 15.0, "prefill": 15.0, "memory": 15.0}


def _show_heldout_hf(h: dict) -> None:
    rows = []
    for split, block in (("native fit only (transfer)", h), ("refit with hf, leave-one-out", h.get("refit", {}))):
        for kind, s in block.get("kinds", {}).items():
            if not s.get("n"):
                continue
            goal = HF_TARGETS.get(kind)
            target = "-" if goal is None else ("met" if s["median_ape_pct"] <= goal else "MISSED") + f" (median <= {goal:g})"
            rows.append((kind, split, s["n"], f"{s['median_ape_pct']:.1f} %", f"{s['p90_ape_pct']:.1f} %", f"{s['bias_pct']:+.1f} %", target))
    table("transformers (hf eager) points predicted from dcplan's native fit", ["kind", "split", "n", "median APE", "p90 APE", "bias", "target"],
          rows, caption="per-layer dispatch overhead, non-matmul traffic and saved activations carried over by the counts of each implementation")


def _show_predictions(pc: Any) -> None:
    rows = []
    for p in pc.predictions:
        if p.quantity == "time_s":
            vals = (f"{p.measured * 1e3:.4g} ms", f"{p.predicted * 1e3:.4g} ms", f"{p.roofline * 1e3:.4g} ms")
        else:
            vals = (fmt(p.measured, "B"), fmt(p.predicted, "B"), fmt(p.roofline, "B"))
        rows.append((p.id, p.kind, *vals, f"{100 * (p.ratio - 1):+.1f} %"))
    table("Measured vs calibrated (in sample) vs speed of light (uncalibrated roofline; memory: analytical bytes)",
          ["id", "kind", "measured", "calibrated", "speed of light", "error"], rows)
