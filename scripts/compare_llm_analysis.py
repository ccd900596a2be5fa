"""dcplan vs llm-analysis (github.com/cli99/llm-analysis) on the same published dense training rows.

llm-analysis is not a dependency of dcplan: install it beside (``pip install llm-analysis``) or
point PYTHONPATH at a checkout. Each BF16/FP16 dense row of data/validation/training_runs.yaml
on a chip llm-analysis knows (A100, H100, V100) is run through ``llm_analysis.analysis.train``
with the README's suggested efficiencies (flops 0.5 "for large scale model training", HBM 0.9)
on the layout dcplan uses for the row (published fields, the rest searched), so the two tools
differ only in their efficiency models. dcplan's figures are its leave-one-out predictions
(efficiencies refitted without the row).

    PYTHONPATH=/path/to/llm-analysis python scripts/compare_llm_analysis.py [--json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

GPUS = {"a100-80gb": "a100-sxm-80gb", "a100-40gb": "a100-sxm-40gb", "h100-sxm": "h100-sxm-80gb", "v100": "v100-sxm-32gb"}
RECOMPUTE = {"none": 0, "selective": 1, "full": 4}
FLOPS_EFFICIENCY, HBM_EFFICIENCY = 0.5, 0.9


def _model_json(m, folder: Path) -> str:
    cfg = {"name": m.name, "num_layers": m.n_layers, "n_head": m.n_heads, "hidden_dim": m.d_model,
           "vocab_size": m.vocab_size, "max_seq_len": max(m.max_seq_len, 131072), "num_key_value_heads": m.kv_heads,
           "ffn_embed_dim": m.d_ff, "mlp_gated_linear_units": m.gated}
    path = folder / f"{m.name}.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def _llm_analysis_tokens_per_s(row, m, lay, gpu: str, folder: Path) -> float:
    from llm_analysis.analysis import train

    mb = lay.micro_batch
    gb = lay.dp * mb * max(1, round((row.global_batch_seqs or lay.dp * mb) / (lay.dp * mb)))
    out = train(model_name=_model_json(m, folder), gpu_name=gpu, dtype_name="w16a16e16", log_level="ERROR",
                batch_size_per_gpu=mb, global_batch_size=gb, seq_len=row.seq_len, tp_size=lay.tp, pp_size=lay.pp,
                dp_size=lay.dp * lay.cp, total_num_gpus=row.n_accelerators, activation_recomputation=RECOMPUTE[lay.recompute],
                ds_zero=lay.zero, flops_efficiency=FLOPS_EFFICIENCY, hbm_memory_efficiency=HBM_EFFICIENCY)
    return gb * row.seq_len / out["latency_per_iter"] / row.n_accelerators


def _heldout_hours(rows, folder: Path) -> list[dict]:
    """Held-out whole runs with published hours: dcplan (shipped defaults, layout searched where
    not published, goodput applied) against llm-analysis on the same layout (no goodput)."""
    from dcplan.calibrate.at_scale import predict_run
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.specs import parse_global_batch

    out = []
    for row in rows:
        m, hw = get_model(row.model), get_hardware(row.hardware)
        if row.role != "heldout" or not row.published.accelerator_hours or m.moe is not None or hw.name not in GPUS:
            continue
        p = predict_run(row, m, hw, default_calibration(hw.name))
        if p.parallel is None or not p.accelerator_hours:
            out.append({"id": row.id, "error": f"dcplan: {p.error}"})
            continue
        gbs = parse_global_batch(row.global_batch).in_sequences(row.seq_len) if row.global_batch is not None else None
        view = type("R", (), {"global_batch_seqs": gbs, "seq_len": row.seq_len, "n_accelerators": row.n_accelerators})
        try:
            la_tps = _llm_analysis_tokens_per_s(view, m, p.parallel, GPUS[hw.name], folder)
        except (AssertionError, ValueError, ZeroDivisionError) as exc:
            out.append({"id": row.id, "error": f"llm-analysis: {exc}"})
            continue
        la_hours = row.tokens / (la_tps * row.n_accelerators) * row.n_accelerators / 3600
        pub = row.published.accelerator_hours
        out.append({"id": row.id, "hardware": hw.name, "published_hours": pub,
                    "dcplan_ratio": pub / p.accelerator_hours, "llm_analysis_ratio": pub / la_hours})
    return out


def main() -> int:
    try:
        import llm_analysis  # noqa: F401
    except ImportError:
        print("llm-analysis is not importable: pip install llm-analysis, or set PYTHONPATH to a checkout", file=sys.stderr)
        return 2
    from dcplan.calibrate.at_scale import summary
    from dcplan.calibrate.train_fit import leave_one_out
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_training_runs
    from dcplan.specs import parse_global_batch

    rows = read_training_runs()
    known, _ = leave_one_out(rows, get_model, get_hardware, default_calibration)
    dc = {p.row.id: p for p in known}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in dc.values():
            row, m, hw = p.row, get_model(p.row.model), get_hardware(p.row.hardware)
            if m.moe is not None or hw.name not in GPUS or row.precision == "fp8" or p.parallel is None:
                continue
            pub = row.published
            per_token = p.flops_per_token if pub.flops_per_s else None
            published = pub.tokens_per_s or (pub.flops_per_s / per_token if per_token else None)
            if not published:
                continue
            gbs = parse_global_batch(row.global_batch).in_sequences(row.seq_len) if row.global_batch is not None else None
            row_view = type("R", (), {"global_batch_seqs": gbs, "seq_len": row.seq_len, "n_accelerators": row.n_accelerators})
            try:
                la = _llm_analysis_tokens_per_s(row_view, m, p.parallel, GPUS[hw.name], Path(tmp))
            except (AssertionError, ValueError, ZeroDivisionError) as exc:
                out.append({"id": row.id, "error": f"llm-analysis: {exc}"})
                continue
            out.append({"id": row.id, "hardware": hw.name, "published_tokens_per_s": published,
                        "dcplan_ratio": p.tokens_per_s / published, "llm_analysis_ratio": la / published})
        held = _heldout_hours(rows, Path(tmp))
    ok = [r for r in out if "error" not in r]
    hok = [r for r in held if "error" not in r]
    result = {
        "rows": out,
        "heldout_hours_rows": held,
        "dcplan_leave_one_out": summary([r["dcplan_ratio"] for r in ok]),
        "llm_analysis_flops_efficiency_0.5": summary([r["llm_analysis_ratio"] for r in ok]),
        "heldout_hours_dcplan": summary([r["dcplan_ratio"] for r in hok]),
        "heldout_hours_llm_analysis": summary([r["llm_analysis_ratio"] for r in hok]),
    }
    if "--json" in sys.argv[1:]:
        print(json.dumps(result, indent=2))
        return 0
    print("ratio = predicted / published throughput (held-out hours: published / predicted); above 1 is optimistic")
    for r in out + held:
        if "error" in r:
            print(f"{r['id']:28s} {r['error']}")
        else:
            print(f"{r['id']:28s} {r['hardware']:10s} dcplan {r['dcplan_ratio']:.2f}  llm-analysis {r['llm_analysis_ratio']:.2f}")
    for k in ("dcplan_leave_one_out", "llm_analysis_flops_efficiency_0.5", "heldout_hours_dcplan", "heldout_hours_llm_analysis"):
        s = result[k]
        print(f"{k}: n={s['n']} median {s['median_ape_pct']:.1f}% p90 {s['p90_ape_pct']:.1f}% bias {s['bias_pct']:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
