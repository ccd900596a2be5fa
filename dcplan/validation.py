"""The model against published runs and serving results (dcplan validate), and the fits behind it.

Reads data/validation through :mod:`dcplan.io.validation`. Training: every row predicted with
:mod:`dcplan.calibrate.at_scale`, the shared training efficiencies refitted without each
calibration row (:mod:`dcplan.calibrate.train_fit`); ``python -m dcplan.validation --fit``
prints the fitted values data/efficiency/defaults.yaml carries. Serving: every row predicted
with its stack's shipped calibration (:mod:`dcplan.calibrate.serving`); the held-out errors per
stack are those the serving fit stored beside the rows (data/validation/serving_fit.yaml,
written by ``python -m dcplan.validation --fit-serving --write``; ``refit=True`` recomputes them, a few
minutes). The disaggregated wide-EP deployments of DeepSeek and SGLang are checks of the
prefill/decode sizing, fitted on nothing. The CLI and the reports show the result.
"""

from __future__ import annotations

import sys
from dataclasses import replace
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


def validation_results(*, leave_one_out: bool = False, refit: bool = False) -> dict[str, Any]:
    """Predictions for every published row with the shipped parameters and their summaries; with
    ``leave_one_out`` also every training calibration row predicted by efficiencies refitted
    without it (a few seconds to a minute: ``dcplan validate`` does it, the report does not);
    with ``refit`` the serving stacks' held-out errors recomputed (minutes) instead of read."""
    from dcplan.calibrate.at_scale import predict_run, summary
    from dcplan.calibrate.train_fit import fit_rows
    from dcplan.calibrate.train_fit import leave_one_out as loo
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_training_runs

    rows = read_training_runs()
    runs = []
    for row in rows:
        hw = get_hardware(row.hardware)
        runs.append(predict_run(row, get_model(row.model), hw, default_calibration(hw.name)))
    calibrating = {r.id for r in fit_rows(rows)}
    held = [p for p in runs if p.row.role == "heldout"]
    held_searched = []
    for p in held:
        if not p.row.layout:  # nothing published was fixed: the search above was the new user's search already
            held_searched.append(replace(p, searched=True))
            continue
        hw = get_hardware(p.row.hardware)
        held_searched.append(predict_run(p.row, get_model(p.row.model), hw, default_calibration(hw.name), search=True))
    serving, serving_held_out, serving_summary = _serving(refit)
    out: dict[str, Any] = {
        "training": runs,
        "inference": serving,
        "inference_held_out": serving_held_out,
        "disaggregated": disaggregated_checks(),
        "summary": {
            "training_flops_per_s": summary([p.throughput_ratio for p in runs if p.row.id in calibrating]),
            "training_accelerator_hours": summary([p.hours_ratio for p in runs]),
            "training_whole_run_hours": summary([p.hours_ratio for p in runs if p.row.published.accelerator_hours
                                                 and p.row.published.counts == "whole_run"]),
            "training_heldout": summary([p.ratio for p in held]),
            "training_heldout_searched": summary([p.ratio for p in held_searched]),
            **serving_summary,
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


def disaggregated_checks() -> list[dict[str, Any]]:
    """The prefill/decode sizing of wide-EP deployments against their published per-node rates."""
    from dcplan.calibrate.disagg import predict_check
    from dcplan.io.validation import read_disagg_checks

    return [predict_check(c) for c in read_disagg_checks()]


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


def fit_serving_report(write: bool = False) -> None:  # pragma: no cover - a report script; its pieces are tested
    """Print each serving stack's fit and held-out errors; with ``write`` store them (data/stacks/,
    data/validation/serving_fit.yaml)."""
    from dcplan.calibrate.serving import fit_all, summary
    from dcplan.cli.output import table
    from dcplan.io.validation import load_serving_cases, write_stack_fits

    cases, datasets = load_serving_cases()
    res = fit_all(cases, datasets)
    rows = []
    for name, f in res["stacks"].items():
        ids = [c.row.id for c in cases if c.row.stack == name and c.row.fit]
        s_fit = summary([res["fitted"][i] for i in ids])
        s_loo = summary([res["held_out"][i] for i in ids])
        v = f.values
        rows.append((name, f.n_rows, f"{v['decode_bw_frac']:.3f}", f"{v['prefill.eta_max']:.3f}", f"{v['decode_t0_s'] * 1e3:.2f}",
                     f"{v['serving_memory_frac']:.3f}", f"{s_fit.get('median_ape_pct', float('nan')):.1f}",
                     f"{s_loo.get('median_ape_pct', float('nan')):.1f}", f"{s_loo.get('p90_ape_pct', float('nan')):.1f}",
                     f"{s_loo.get('bias_pct', float('nan')):+.1f}"))
    p = res["pooled"]
    rows.append(("pooled", sum(c.row.fit for c in cases), f"{p['decode_bw_frac']:.3f}", f"{p['prefill.eta_max']:.3f}",
                 f"{p['decode_t0_s'] * 1e3:.2f}", f"{p['serving_memory_frac']:.3f}", "", "", "", ""))
    table("Serving stacks: fitted parameters and errors (in-sample, held out)",
          ["stack", "rows", "f_bw", "eta_prefill", "t0 ms", "mem frac", "fit med %", "held-out med %", "p90 %", "bias %"], rows)
    if write:
        write_stack_fits(res, cases)


def fit_report() -> None:  # pragma: no cover - a report script; its pieces are tested
    """Print the fitted values data/efficiency/defaults.yaml carries, with before/after errors."""
    from dcplan.calibrate.train_fit import PARAMETERS, fit_training
    from dcplan.cli.output import table
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_training_runs

    fit = fit_training(read_training_runs(), get_model, get_hardware, default_calibration)
    cols = ["", "n", "median APE %", "p90 APE %", "max APE %", "bias %"]

    def line(name: str, d: dict) -> tuple:
        return (name, d.get("n"), *(f"{d.get(x, float('nan')):.1f}" for x in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))

    values = ", ".join(f"{k} = {v:.4g}" for k, v in zip(PARAMETERS, fit.values, strict=True))
    table(f"training fit (in sample): {values}", cols, [line("shipped", fit.before), line("fitted", fit.after)])
    print("Serving parameters are fitted per stack: python -m dcplan.validation --fit-serving [--write]")


if __name__ == "__main__":  # pragma: no cover
    if "--fit" in sys.argv[1:]:
        fit_report()
    if "--fit-serving" in sys.argv[1:]:
        fit_serving_report(write="--write" in sys.argv[1:])
