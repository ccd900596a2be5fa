"""The model against published runs and benchmarks (dcplan validate), and the fits behind it.

Reads data/validation through :mod:`dcplan.io.validation`, predicts every row with
:mod:`dcplan.calibrate.at_scale`, refits the shared training efficiencies without each
calibration row (:mod:`dcplan.calibrate.train_fit`) and summarises the errors; the CLI and the
reports show it. ``python -m dcplan.validation --fit`` prints the fitted values that
data/efficiency/defaults.yaml carries.
"""

from __future__ import annotations

import sys
from typing import Any


def validation_results(*, leave_one_out: bool = False) -> dict[str, Any]:
    """Predictions for every published row with the shipped defaults and their summaries; with
    ``leave_one_out`` also every calibration row predicted by efficiencies refitted without it
    (a few seconds to a minute: ``dcplan validate`` does it, the report does not)."""
    from dcplan.calibrate.at_scale import predict_bench, predict_run, summary
    from dcplan.calibrate.train_fit import fit_rows
    from dcplan.calibrate.train_fit import leave_one_out as loo
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_inference_benchmarks, read_training_runs

    rows = read_training_runs()
    runs = []
    for row in rows:
        hw = get_hardware(row.hardware)
        runs.append(predict_run(row, get_model(row.model), hw, default_calibration(hw.name)))
    benches = []
    for brow in read_inference_benchmarks():
        hw = get_hardware(brow.hardware)
        benches.append(predict_bench(brow, get_model(brow.model), hw, default_calibration(hw.name)))
    calibrating = {r.id for r in fit_rows(rows)}
    held = [p for p in runs if p.row.role == "heldout"]
    held_searched = []
    for p in held:
        hw = get_hardware(p.row.hardware)
        held_searched.append(predict_run(p.row, get_model(p.row.model), hw, default_calibration(hw.name), search=True))
    out: dict[str, Any] = {
        "training": runs,
        "inference": benches,
        "summary": {
            "training_flops_per_s": summary([p.throughput_ratio for p in runs if p.row.id in calibrating]),
            "training_accelerator_hours": summary([p.hours_ratio for p in runs]),
            "training_whole_run_hours": summary([p.hours_ratio for p in runs if p.row.published.accelerator_hours
                                                 and p.row.published.counts == "whole_run"]),
            "training_heldout": summary([p.ratio for p in held]),
            "training_heldout_searched": summary([p.ratio for p in held_searched]),
            "inference_tokens_per_s": summary([p.ratio for p in benches]),
        },
        "leave_one_out": {"known_layout": [], "searched": []},
        "heldout_searched": held_searched,
    }
    if leave_one_out:
        known, searched = loo(rows, get_model, get_hardware, default_calibration)
        out["leave_one_out"] = {"known_layout": known, "searched": searched}
        out["summary"]["training_leave_one_out"] = summary([p.throughput_ratio for p in searched])
        out["summary"]["training_known_layout"] = summary([p.throughput_ratio for p in known])
    return out


def _run_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.row.id,
        "role": p.row.role,
        "stack": p.row.stack,
        "model": p.row.model,
        "hardware": p.row.hardware,
        "n_accelerators": p.row.n_accelerators,
        "precision": p.row.precision,
        "counting": p.row.published.counting,
        "published_tokens_per_s": p.row.published.tokens_per_s,
        "predicted_tokens_per_s": p.tokens_per_s,
        "published_flops_per_s": p.published_flops_per_s,
        "predicted_flops_per_s": p.flops_per_s,
        "published_accelerator_hours": p.row.published.accelerator_hours,
        "hours_count": p.row.published.counts if p.row.published.accelerator_hours else None,
        "predicted_accelerator_hours": p.accelerator_hours,
        "ratio": p.ratio,
        "predicted_mfu_frac": p.mfu_frac,
        "layout": p.layout,
        "layout_searched": p.searched,
        "error": p.error,
        "source": p.row.source,
        "quality": p.row.quality,
        "assumed": dict(p.row.assumed),
    }


def to_json(res: dict[str, Any]) -> dict[str, Any]:
    loo = res.get("leave_one_out", {"known_layout": [], "searched": []})
    return {
        "training": [_run_json(p) for p in res["training"]],
        "training_leave_one_out": {
            "known_layout": [_run_json(p) for p in loo["known_layout"]],
            "searched": [_run_json(p) for p in loo["searched"]],
        },
        "training_heldout_searched": [_run_json(p) for p in res.get("heldout_searched", [])],
        "inference": [
            {
                "id": p.row.id,
                "n_accelerators": p.row.n_accelerators,
                "precision": p.row.precision,
                "published_tokens_per_s": p.row.tokens_per_s,
                "predicted_tokens_per_s": p.tokens_per_s,
                "predicted_batch": p.batch,
                "error": p.error,
                "source": p.row.source,
                "quality": p.row.quality,
            }
            for p in res["inference"]
        ],
        "summary": res["summary"],
    }


def fit_report() -> None:  # pragma: no cover - a report script; its pieces are tested
    """Print the fitted values data/efficiency/defaults.yaml carries, with before/after errors."""
    from dcplan.calibrate.at_scale import fit_decode_bw
    from dcplan.calibrate.train_fit import PARAMETERS, fit_training
    from dcplan.cli.output import table
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_inference_benchmarks, read_training_runs

    fit = fit_training(read_training_runs(), get_model, get_hardware, default_calibration)
    dec = fit_decode_bw(read_inference_benchmarks(), get_model, get_hardware, default_calibration)
    cols = ["", "n", "median APE %", "p90 APE %", "max APE %", "bias %"]

    def line(name: str, d: dict) -> tuple:
        return (name, d.get("n"), *(f"{d.get(x, float('nan')):.1f}" for x in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))

    values = ", ".join(f"{k} = {v:.4g}" for k, v in zip(PARAMETERS, fit.values, strict=True))
    table(f"training fit (in sample): {values}", cols, [line("shipped", fit.before), line("fitted", fit.after)])
    table(f"fit {dec.parameter} = {dec.value:.4f}", cols, [line("shipped", dec.before), line("fitted", dec.after)])


if __name__ == "__main__":  # pragma: no cover
    if "--fit" in sys.argv[1:]:
        fit_report()
