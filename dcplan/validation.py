"""The model against published runs and benchmarks with the shipped defaults (dcplan validate).

Reads data/validation through :mod:`dcplan.io.validation`, predicts every row with
:mod:`dcplan.calibrate.at_scale`, and summarises the errors; the CLI and the reports show it.
"""

from __future__ import annotations

from typing import Any


def validation_results() -> dict[str, Any]:
    """Predictions for every published row with the shipped defaults, and their summaries."""
    from dcplan.calibrate.at_scale import predict_bench, predict_run, summary
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_inference_benchmarks, read_training_runs

    runs = []
    for row in read_training_runs():
        hw = get_hardware(row.hardware)
        runs.append(predict_run(row, get_model(row.model), hw, default_calibration(hw.name)))
    benches = []
    for row in read_inference_benchmarks():
        hw = get_hardware(row.hardware)
        benches.append(predict_bench(row, get_model(row.model), hw, default_calibration(hw.name)))
    return {
        "training": runs,
        "inference": benches,
        "summary": {
            "training_flops_per_s": summary([p.flops_ratio for p in runs]),
            "training_accelerator_hours": summary([p.hours_ratio for p in runs]),
            "inference_tokens_per_s": summary([p.ratio for p in benches]),
        },
    }


def to_json(res: dict[str, Any]) -> dict[str, Any]:
    return {
        "training": [
            {
                "id": p.row.id,
                "model": p.row.model,
                "hardware": p.row.hardware,
                "n_accelerators": p.row.n_accelerators,
                "counting": p.row.published.counting,
                "published_flops_per_s": p.row.published.flops_per_s,
                "predicted_flops_per_s": p.flops_per_s,
                "published_accelerator_hours": p.row.published.accelerator_hours,
                "predicted_accelerator_hours": p.accelerator_hours,
                "predicted_mfu_frac": p.mfu_frac,
                "layout": p.layout,
                "error": p.error,
                "source": p.row.source,
                "quality": p.row.quality,
                "assumed": dict(p.row.assumed),
            }
            for p in res["training"]
        ],
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
