"""Score the model on published runs and benchmarks; fit the shared at-scale efficiencies.

Training: every row of data/validation/training_runs.yaml is predicted with the published
layout (fields not published are searched) and compared on achieved FLOP/s per accelerator
(in the row's counting convention) and on accelerator-hours. One parameter, the train-step
efficiency relative to the GEMM ceiling (``train.eta_max``), is fitted on all throughput rows
together by least squares on log ratios: no constant per run.

Serving benchmarks are fitted per serving stack by :mod:`dcplan.calibrate.serving`.

Run ``python -m dcplan.calibrate.at_scale`` to print the table and the fitted value that
data/efficiency/defaults.yaml carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from dcplan.errors import InputError
from dcplan.specs import Calibration, HardwareSpec, ModelSpec

COUNTINGS = ("model", "palm", "hardware", "sixn")


@dataclass(frozen=True, kw_only=True)
class Published:
    """What a source reports for a run."""

    flops_per_s: float | None = None
    """Achieved FLOP/s per accelerator under ``counting``."""
    counting: str = "model"
    accelerator_hours: float | None = None


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """A published training run or throughput configuration."""

    id: str
    model: str
    hardware: str
    n_accelerators: int
    seq_len: int
    global_batch: int
    tokens: float | None = None
    layout: Mapping[str, Any] = field(default_factory=dict)
    published: Published
    source: str
    quality: str
    notes: str = ""
    assumed: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.published.counting not in COUNTINGS:
            raise InputError("published.counting", f"must be one of {', '.join(COUNTINGS)}")


@dataclass(frozen=True, kw_only=True)
class RunPrediction:
    row: RunRow
    flops_per_s: float | None
    """Predicted achieved FLOP/s per accelerator in the row's counting."""
    accelerator_hours: float | None
    mfu_frac: float | None
    layout: str
    error: str | None = None

    @property
    def flops_ratio(self) -> float | None:
        pub = self.row.published.flops_per_s
        return self.flops_per_s / pub if (self.flops_per_s and pub) else None

    @property
    def hours_ratio(self) -> float | None:
        pub = self.row.published.accelerator_hours
        return self.accelerator_hours / pub if (self.accelerator_hours and pub) else None


Resolver = Callable[[str], Any]


def predict_run(row: RunRow, model: ModelSpec, hw: HardwareSpec, cal: Calibration) -> RunPrediction:
    """Predict one published run with ``cal``; errors become a row with ``error`` set."""
    from dcplan.estimate import estimate_training

    try:
        est = estimate_training(
            model,
            hw,
            tokens=row.tokens or 1e12,
            n_accelerators=row.n_accelerators,
            seq_len=row.seq_len,
            precision="bf16" if "bf16" in hw.peak_flops_per_s else "fp16",
            layout=dict(row.layout),
            global_batch=row.global_batch,
            calibration=cal,
        )
    except InputError as exc:
        return RunPrediction(row=row, flops_per_s=None, accelerator_hours=None, mfu_frac=None, layout="", error=exc.one_line())
    per_token = {
        "model": est.flops_per_token,
        "hardware": est.hardware_flops_per_token,
        "palm": est.palm_flops_per_token,
        "sixn": 6.0 * est.params_active,
    }[row.published.counting]
    lay = est.layout
    return RunPrediction(
        row=row,
        flops_per_s=per_token * est.tokens_per_s / row.n_accelerators,
        accelerator_hours=est.accelerator_hours if row.tokens else None,
        mfu_frac=est.mfu_frac,
        layout=f"tp{lay.tp} pp{lay.pp} cp{lay.cp} dp{lay.dp} z{lay.zero} {lay.recompute} mb{lay.micro_batch} v{lay.vpp}",
    )


def _log_ratios(values: Sequence[float | None]) -> list[float]:
    return [math.log(v) for v in values if v]


def summary(ratios: Sequence[float | None]) -> dict[str, float]:
    """Median/p90/max absolute percentage error and signed bias of predicted/published ratios."""
    import numpy as np

    r = np.array([v for v in ratios if v], dtype=float)
    if r.size == 0:
        return {"n": 0}
    ape = np.abs(r - 1.0) * 100.0
    return {
        "n": int(r.size),
        "median_ape_pct": float(np.median(ape)),
        "p90_ape_pct": float(np.percentile(ape, 90)),
        "max_ape_pct": float(ape.max()),
        "bias_pct": float((np.exp(np.mean(np.log(r))) - 1.0) * 100.0),
    }


@dataclass(frozen=True, kw_only=True)
class FitResult:
    parameter: str
    value: float
    before: dict[str, float]
    after: dict[str, float]


def _with_train_eta(cal: Calibration, eta: float) -> Calibration:
    return replace(cal, train=replace(cal.train, eta_max=eta), prefill=replace(cal.prefill, eta_max=eta))


def fit_train_eta(rows: Sequence[RunRow], resolve_model: Resolver, resolve_hw: Resolver, cal_for: Callable[[str], Calibration]) -> FitResult:
    """Fit ``train.eta_max`` (shared by all hardware) on the rows with published FLOP/s."""
    from scipy.optimize import minimize_scalar

    thr = [r for r in rows if r.published.flops_per_s]
    specs = [(r, resolve_model(r.model), resolve_hw(r.hardware)) for r in thr]

    def ratios(eta: float) -> list[float | None]:
        return [predict_run(r, m, h, _with_train_eta(cal_for(h.name), eta)).flops_ratio for r, m, h in specs]

    def loss(eta: float) -> float:
        logs = _log_ratios(ratios(eta))
        return sum(x * x for x in logs)

    start = cal_for(specs[0][2].name).train.eta_max
    before = summary(ratios(start))
    res = minimize_scalar(loss, bounds=(0.2, 1.0), method="bounded", options={"xatol": 1e-4})
    eta = float(res.x)
    return FitResult(parameter="train.eta_max", value=eta, before=before, after=summary(ratios(eta)))


def main() -> None:  # pragma: no cover - a report script; its pieces are tested
    from dcplan.cli.output import table
    from dcplan.io.catalog import default_calibration, get_hardware, get_model
    from dcplan.io.validation import read_training_runs

    runs = read_training_runs()
    fit = fit_train_eta(runs, get_model, get_hardware, default_calibration)
    for f in (fit,):
        table(f"fit {f.parameter} = {f.value:.4f}", ["", "n", "median APE %", "p90 APE %", "max APE %", "bias %"],
              [(k, d.get("n"), *(f"{d.get(x, float('nan')):.1f}" for x in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))
               for k, d in (("shipped", f.before), ("fitted", f.after))])


if __name__ == "__main__":  # pragma: no cover
    main()
