"""The model against published runs and serving results with the shipped parameters (dcplan validate).

Reads data/validation through :mod:`dcplan.io.validation`. Training rows are predicted with
:mod:`dcplan.calibrate.at_scale`; serving rows with their stack's shipped calibration
(:mod:`dcplan.calibrate.serving`), and the held-out (leave-one-out) errors per stack are those
the fit stored beside the rows (data/validation/serving_fit.yaml, written by
``python -m dcplan.calibrate.serving --write``; ``refit=True`` recomputes them, a few minutes).
The disaggregated wide-EP deployments of DeepSeek and SGLang are checks of the prefill/decode
sizing, fitted on nothing. The CLI and the reports show the result.
"""

from __future__ import annotations

from typing import Any


def _serving(refit: bool) -> tuple[list, dict[str, float | None], dict[str, Any]]:
    from dcplan.calibrate.serving import predict_row, summary
    from dcplan.calibrate.stacks import select_stack
    from dcplan.io.catalog import stack_catalog
    from dcplan.io.validation import load_serving_cases, read_serving_fit

    cases, datasets = load_serving_cases()
    stacks = stack_catalog()
    preds = []
    for c in cases:
        choice = select_stack(c.hw, precision=None, requested=c.row.stack, stacks=stacks, base=c.base)
        preds.append(predict_row(c.row, c.model, c.hw, c.stack, choice.calibration, datasets))
    if refit:
        from dcplan.calibrate.serving import fit_all

        loo = fit_all(cases, datasets)["held_out"]
    else:
        loo = read_serving_fit()
    by_stack: dict[str, list[float | None]] = {}
    for c in cases:
        if c.row.fit:
            by_stack.setdefault(c.row.stack, []).append(loo.get(c.row.id))
    method = {name: (spec.fit or {}).get("held_out", {}).get("method", "leave-one-out") for name, spec in stacks.items()}
    moe = [loo.get(c.row.id) for c in cases if c.row.is_moe and c.row.fit]
    summaries = {
        "inference_tokens_per_s": summary([p.ratio for p in preds if p.row.fit]),
        "inference_by_stack": {name: {**summary(r), "held_out": method.get(name, "leave-one-out")}
                               for name, r in sorted(by_stack.items())},
        "inference_moe_held_out": summary(moe),
        "inference_not_fitted": summary([p.ratio for p in preds if not p.row.fit]),
    }
    return preds, {c.row.id: loo.get(c.row.id) for c in cases if c.row.fit}, summaries


def validation_results(*, refit: bool = False) -> dict[str, Any]:
    """Predictions for every published row with the shipped parameters, and their summaries."""
    from dcplan.calibrate.at_scale import predict_run, summary
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_training_runs

    runs = []
    for row in read_training_runs():
        hw = get_hardware(row.hardware)
        runs.append(predict_run(row, get_model(row.model), hw, default_calibration(hw.name)))
    serving, loo, serving_summary = _serving(refit)
    return {
        "training": runs,
        "inference": serving,
        "inference_held_out": loo,
        "disaggregated": disaggregated_checks(),
        "summary": {
            "training_flops_per_s": summary([p.flops_ratio for p in runs]),
            "training_accelerator_hours": summary([p.hours_ratio for p in runs]),
            **serving_summary,
        },
    }


def disaggregated_checks() -> list[dict[str, Any]]:
    """The prefill/decode sizing of wide-EP deployments against their published per-node rates."""
    from dcplan.calibrate.disagg import check_all

    return check_all()


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
                "benchmark": p.row.benchmark,
                "scenario": p.row.scenario,
                "model": p.row.model,
                "hardware": p.row.hardware,
                "n_accelerators": p.row.n_accelerators,
                "stack": p.row.stack,
                "precision": p.row.precision,
                "kv_precision": p.row.kv_precision,
                "published_tokens_per_s": p.row.tokens_per_s,
                "predicted_tokens_per_s": p.tokens_per_s,
                "held_out_ratio": res["inference_held_out"].get(p.row.id),
                "fit": p.row.fit,
                "not_fitted": p.row.not_fitted or None,
                "predicted_batch": p.batch,
                "layout": p.layout,
                "binding_limit": p.binding_limit,
                "error": p.error,
                "source": p.row.source,
                "quality": p.row.quality,
            }
            for p in res["inference"]
        ],
        "disaggregated": res["disaggregated"],
        "summary": res["summary"],
    }
