"""``dcplan run``: the main job on embedded defaults (what ``make run`` does).

Each stage that exists runs in order on this machine with shipped data: score the model on
published runs, estimate the sample jobs, and (as the stages land) profile, calibrate, plan,
forecast, report and serve the dashboard.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the main job: every stage end to end on shipped defaults")
    p.add_argument("--no-serve", action="store_true", help="stop after writing results (do not serve the dashboard)")
    p.set_defaults(handler=run)


def _step(title: str) -> None:
    from rich.console import Console

    Console().rule(f"[bold]{title}")


def run(args: argparse.Namespace) -> int:
    from dcplan.cli import estimate_cmd, validate_cmd
    from dcplan.estimate import estimate_inference, estimate_training
    from dcplan.io.catalog import default_calibration, get_hardware, get_model

    _step("1. The model against published training runs and serving benchmarks")
    validate_cmd.run(argparse.Namespace(json=False))

    _step("2. Sample estimates: Llama 3.1 70B, 15T tokens on 2,048 H100; served on 8 H100")
    h100 = get_hardware("h100-sxm")
    m = get_model("llama-3.1-70b")
    estimate_cmd.show_train(
        estimate_training(m, h100, tokens=15e12, n_accelerators=2048, calibration=default_calibration(h100.name))
    )
    estimate_cmd.show_infer(
        estimate_inference(m, h100, n_accelerators=8, input_len=1000, output_len=500, ttft_slo_s=1.0, tpot_slo_s=0.05,
                           calibration=default_calibration(h100.name))
    )
    return 0
