"""``dcplan validate``: the model against published training runs and serving benchmarks."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="score the model on published training runs and serving benchmarks")
    p.add_argument("--json", action="store_true", help="print rows and summaries as JSON")
    p.add_argument("--refit", action="store_true",
                   help="recompute the serving stacks' held-out errors (refits, minutes) instead of reading the stored ones")
    p.add_argument("--no-leave-one-out", action="store_true",
                   help="skip the training leave-one-out refits (faster; summary.training_leave_one_out is then absent)")
    p.set_defaults(handler=run)


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


def _training_rows(preds) -> list[tuple]:
    rows = []
    for p in preds:
        pub = p.row.published
        if pub.tokens_per_s:
            published, predicted = f"{pub.tokens_per_s:,.0f} tok/s", f"{p.tokens_per_s:,.0f}" if p.tokens_per_s else "-"
        elif pub.flops_per_s:
            published = f"{pub.flops_per_s / 1e12:.0f} TF ({pub.counting})"
            predicted = f"{p.flops_per_s / 1e12:.0f}" if p.flops_per_s else "-"
        else:
            published = f"{pub.accelerator_hours:,.0f} h ({pub.counts.replace('_', ' ')})"
            predicted = f"{p.accelerator_hours:,.0f}" if p.accelerator_hours else "-"
        rows.append((p.row.id, p.row.role, f"{p.row.n_accelerators} x {p.row.hardware}", published, predicted,
                     _ratio(p.ratio), p.error or p.layout))
    return rows


def run(args: argparse.Namespace) -> int:
    from dcplan.cli.output import print_json, table
    from dcplan.validation import validation_results

    res = validation_results(leave_one_out=not args.no_leave_one_out, refit=args.refit)
    if args.json:
        from dcplan.validation import to_json

        print_json(to_json(res))
        return 0
    cols = ["run", "role", "accelerators", "published", "predicted", "ratio", "layout / note"]
    table("Training: published vs predicted (shipped defaults, published layout, no constant per run)", cols,
          _training_rows(res["training"]),
          caption="ratio = predicted / published throughput (or published / predicted hours): above 1 is optimistic. "
                  "TF: TFLOP/s per accelerator in the row's counting (model: causal-aware MFU; megatron: Narayanan 2021; "
                  "megatron_hfu: with recompute; palm: 6N+12LHQT; sixn: 6N). Sources: data/validation/training_runs.yaml")
    loo = res["leave_one_out"]
    if loo["searched"]:
        known = {p.row.id: p for p in loo["known_layout"]}
        rows = [(p.row.id, f"{p.row.n_accelerators} x {p.row.hardware}",
                 _ratio(known[p.row.id].ratio) if p.row.id in known else "-",
                 known[p.row.id].layout if p.row.id in known else "-", _ratio(p.ratio), p.error or p.layout)
                for p in loo["searched"]]
        table("Training, held out: each calibration row predicted with the efficiencies refitted without it",
              ["run", "accelerators", "ratio (published layout)", "layout", "ratio (layout searched)", "searched layout"], rows)
    brows = [
        (p.row.id, p.row.stack, p.row.precision, f"{p.row.tokens_per_s:,.0f}", f"{p.tokens_per_s:,.0f}" if p.tokens_per_s else "-",
         _ratio(p.ratio), _ratio(res["inference_held_out"].get(p.row.id)) if p.row.fit else "not fitted",
         p.error or f"{p.layout} b={p.batch} ({p.binding_limit})")
        for p in res["inference"]
    ]
    table("Serving: published vs predicted output tokens/s (stack's shipped fit; held out: refitted without the row)",
          ["result", "stack", "prec.", "published", "predicted", "ratio", "held-out ratio", "layout / note"], brows,
          caption="Sources: data/validation/serving_benchmarks.yaml; stacks: data/stacks/. Not fitted: an engine version the stack "
                  "no longer describes (the row's not_fitted field)")
    drows = [(d["id"], f"{d['published_tokens_per_s_per_node']:,.0f}",
              f"{d['predicted_tokens_per_s_per_node']:,.0f}" if d["predicted_tokens_per_s_per_node"] else "-", _ratio(d["ratio"]),
              d["error"] or f"batch {d.get('batch')} ({d.get('binding_limit')})") for d in res["disaggregated"]]
    table("Disaggregated wide-EP deployments (checks, not fitted): tokens/s per node of 8",
          ["deployment / phase", "published", "predicted", "ratio", "note"], drows)
    flat = {k: v for k, v in res["summary"].items() if k != "inference_by_stack"}
    flat.update({f"inference held out ({v.get('held_out')}) {k}": v for k, v in res["summary"]["inference_by_stack"].items()})
    srows = [
        (k, s.get("n"), *(f"{s[x]:.1f}" if x in s else "-" for x in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))
        for k, s in flat.items()
    ]
    table("Summary (absolute percentage errors of predicted vs published)", ["metric", "n", "median %", "p90 %", "max %", "bias %"], srows,
          caption="training_flops_per_s: calibration rows in sample; training_leave_one_out: held out, layout searched; "
                  "training_known_layout: held out, published layout; training_heldout(_searched): rows never fitted, "
                  "published (searched) layout; inference held out: each serving row by its stack refitted without it")
    return 0
