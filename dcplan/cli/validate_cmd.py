"""``dcplan validate``: the model against published training runs and serving benchmarks."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="score the model on published training runs and serving benchmarks")
    p.add_argument("--json", action="store_true", help="print rows and summaries as JSON")
    p.add_argument("--refit", action="store_true", help="recompute the serving stacks' held-out errors (refits, minutes) instead of reading the stored ones")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dcplan.cli.output import print_json, table
    from dcplan.validation import validation_results

    res = validation_results(refit=args.refit)
    if args.json:
        from dcplan.validation import to_json

        print_json(to_json(res))
        return 0

    def ratio(r: float | None) -> str:
        return "-" if r is None else f"{r:.2f}"

    rows = []
    for p in res["training"]:
        pub, pr = p.row.published, p
        rows.append((
            p.row.id,
            f"{p.row.n_accelerators} x {p.row.hardware}",
            f"{pub.flops_per_s / 1e12:.0f} ({pub.counting})" if pub.flops_per_s else "-",
            f"{pr.flops_per_s / 1e12:.0f}" if pr.flops_per_s else "-",
            ratio(pr.flops_ratio),
            f"{pub.accelerator_hours:,.0f}" if pub.accelerator_hours else "-",
            f"{pr.accelerator_hours:,.0f}" if pr.accelerator_hours else "-",
            ratio(pr.hours_ratio),
            p.error or p.layout,
        ))
    table("Training: published vs predicted (shipped defaults, no constant per run)",
          ["run", "accelerators", "TFLOP/s pub", "pred", "ratio", "acc-hours pub", "pred", "ratio", "layout / note"], rows,
          caption="TFLOP/s per accelerator in the row's counting (model: causal-aware MFU; hardware: with recompute; palm: 6N+12LHQT; sixn: 6N). Sources: data/validation/training_runs.yaml")
    brows = [
        (p.row.id, p.row.stack, p.row.precision, f"{p.row.tokens_per_s:,.0f}", f"{p.tokens_per_s:,.0f}" if p.tokens_per_s else "-",
         ratio(p.ratio), ratio(res["inference_held_out"].get(p.row.id)) if p.row.fit else "not fitted",
         p.error or f"{p.layout} b={p.batch} ({p.binding_limit})")
        for p in res["inference"]
    ]
    table("Serving: published vs predicted output tokens/s (stack's shipped fit; held out: refitted without the row)",
          ["result", "stack", "prec.", "published", "predicted", "ratio", "held-out ratio", "layout / note"], brows,
          caption="Sources: data/validation/serving_benchmarks.yaml; stacks: data/stacks/. Not fitted: an engine version the stack "
                  "no longer describes (the row's not_fitted field)")
    drows = [(d["id"], f"{d['published_tokens_per_s_per_node']:,.0f}",
              f"{d['predicted_tokens_per_s_per_node']:,.0f}" if d["predicted_tokens_per_s_per_node"] else "-", ratio(d["ratio"]),
              d["error"] or f"batch {d.get('batch')} ({d.get('binding_limit')})") for d in res["disaggregated"]]
    table("Disaggregated wide-EP deployments (checks, not fitted): tokens/s per node of 8",
          ["deployment / phase", "published", "predicted", "ratio", "note"], drows)
    flat = {k: v for k, v in res["summary"].items() if k != "inference_by_stack"}
    flat.update({f"inference held out ({v.get('held_out')}) {k}": v for k, v in res["summary"]["inference_by_stack"].items()})
    srows = [
        (k, s.get("n"), *(f"{s[x]:.1f}" if x in s else "-" for x in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))
        for k, s in flat.items()
    ]
    table("Summary (absolute percentage errors of predicted vs published)", ["metric", "n", "median %", "p90 %", "max %", "bias %"], srows)
    return 0
