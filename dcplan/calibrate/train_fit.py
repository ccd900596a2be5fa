"""Fit the shared training efficiencies on published runs, and score them held out.

Three parameters, shared by every chip, system and stack (no constant per run):

- ``train.eta_max``: BF16 train-step GEMM efficiency relative to the GEMM ceiling;
- ``train_fp8_eta_max``: the same for FP8 GEMMs against the FP8 peak (FP8 is not a free 2x);
- ``train.act_passes``: passes over the activation bytes by the memory-bound kernels (norms,
  activations, residuals, softmax, loss) at HBM bandwidth, Calculon's no-overlap mode, which is
  what makes a chip with a higher FLOP:byte ratio (H100 vs A100) reach a lower MFU.

They are fitted by least squares on the log of predicted / published steady-state throughput of
the ``role: calibrate`` rows, each predicted on its published layout (fields the source does not
publish are completed once by the layout search with the starting parameters, then held
fixed). :func:`leave_one_out` refits without each row and predicts it, with its published
layout (``known_layout``) or with only the accelerator count, batch and sequence given and the
layout searched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from dcplan.calibrate.at_scale import RunPrediction, RunRow, predict_run, summary
from dcplan.specs import Calibration, HardwareSpec, ModelSpec

PARAMETERS = ("train.eta_max", "train_fp8_eta_max", "train.act_passes")
BOUNDS = ((0.3, 1.0), (0.2, 1.0), (0.0, 40.0))

Resolver = Callable[[str], object]


def with_params(cal: Calibration, theta: Sequence[float]) -> Calibration:
    """``cal`` with the three fitted values set (the prefill curve keeps its own)."""
    eta, fp8, passes = (float(v) for v in theta)
    return replace(cal, train=replace(cal.train, eta_max=eta, act_passes=passes), train_fp8_eta_max=fp8)


def params_of(cal: Calibration) -> tuple[float, float, float]:
    fp8 = cal.train_fp8_eta_max if cal.train_fp8_eta_max is not None else cal.train.eta_max
    return cal.train.eta_max, fp8, cal.train.act_passes


@dataclass(frozen=True)
class _Case:
    row: RunRow
    model: ModelSpec
    hw: HardwareSpec
    cal: Calibration


def fit_rows(rows: Sequence[RunRow]) -> list[RunRow]:
    """The rows the efficiencies are fitted on: calibration rows with a published throughput."""
    return [r for r in rows if r.role == "calibrate" and (r.published.tokens_per_s or r.published.flops_per_s)]


def _cases(rows: Sequence[RunRow], resolve_model: Resolver, resolve_hw: Resolver,
           cal_for: Callable[[str], Calibration]) -> list[_Case]:
    out = []
    for r in rows:
        hw = resolve_hw(r.hardware)
        out.append(_Case(row=r, model=resolve_model(r.model), hw=hw, cal=cal_for(hw.name)))  # type: ignore[arg-type, attr-defined]
    return out


def _freeze(cases: Sequence[_Case], theta: Sequence[float]) -> list[_Case]:
    """Rows with their layouts completed by the search at ``theta`` and then fixed."""
    out = []
    for c in cases:
        p = predict_run(c.row, c.model, c.hw, with_params(c.cal, theta))
        if p.parallel is None:
            out.append(c)
            continue
        full = {**p.parallel.as_dict()}
        full.pop("sequence_parallel", None)
        out.append(replace(c, row=replace(c.row, layout=full)))
    return out


def _ratios(cases: Sequence[_Case], theta: Sequence[float]) -> list[float | None]:
    return [predict_run(c.row, c.model, c.hw, with_params(c.cal, theta)).throughput_ratio for c in cases]


@dataclass(frozen=True, kw_only=True)
class TrainFit:
    values: tuple[float, float, float]
    """train.eta_max, train_fp8_eta_max, train.act_passes."""
    before: dict[str, float]
    after: dict[str, float]
    n: int


def _solve(cases: Sequence[_Case], start: Sequence[float]) -> tuple[float, float, float]:
    from scipy.optimize import least_squares

    has_fp8 = any(c.row.precision == "fp8" for c in cases)

    def residuals(theta) -> list[float]:
        full = theta if has_fp8 else (theta[0], theta[0], theta[1])
        return [math.log(r) if r else 3.0 for r in _ratios(cases, full)]

    if has_fp8:
        x0, lo, hi = list(start), [b[0] for b in BOUNDS], [b[1] for b in BOUNDS]
    else:
        x0, lo, hi = [start[0], start[2]], [BOUNDS[0][0], BOUNDS[2][0]], [BOUNDS[0][1], BOUNDS[2][1]]
    x0 = [min(max(v, a + 1e-6), b - 1e-6) for v, a, b in zip(x0, lo, hi, strict=True)]
    # robust loss (scipy's soft_l1 on log ratios): a row the model cannot describe pulls the
    # shared values less than a squared residual would let it
    res = least_squares(residuals, x0, bounds=(lo, hi), diff_step=1e-3, xtol=1e-4, ftol=1e-5, max_nfev=60,
                        loss="soft_l1", f_scale=0.15)
    x = [float(v) for v in res.x]
    return (x[0], x[1], x[2]) if has_fp8 else (x[0], x[0], x[1])


def fit_training(rows: Sequence[RunRow], resolve_model: Resolver, resolve_hw: Resolver,
                 cal_for: Callable[[str], Calibration]) -> TrainFit:
    """Fit the three shared efficiencies on the calibration rows (all of them together)."""
    cases = _cases(fit_rows(rows), resolve_model, resolve_hw, cal_for)
    start = params_of(cases[0].cal)
    frozen = _freeze(cases, start)
    before = summary(_ratios(frozen, start))
    values = _solve(frozen, start)
    return TrainFit(values=values, before=before, after=summary(_ratios(frozen, values)), n=len(frozen))


def leave_one_out(rows: Sequence[RunRow], resolve_model: Resolver, resolve_hw: Resolver,
                  cal_for: Callable[[str], Calibration]) -> tuple[list[RunPrediction], list[RunPrediction]]:
    """(known-layout, searched) predictions of every calibration row with the efficiencies
    refitted on all the other rows: no row is predicted with parameters it helped fit."""
    cases = _cases(fit_rows(rows), resolve_model, resolve_hw, cal_for)
    start = params_of(cases[0].cal)
    frozen = _freeze(cases, start)
    warm = _solve(frozen, start)  # each refit starts from the all-rows optimum
    known, searched = [], []
    for i, case in enumerate(cases):
        others = [c for j, c in enumerate(frozen) if j != i]
        theta = _solve(others, warm)
        cal = with_params(case.cal, theta)
        if case.row.known_layout:
            known.append(predict_run(case.row, case.model, case.hw, cal))
        searched.append(predict_run(case.row, case.model, case.hw, cal, search=True))
    return known, searched


def loo_summaries(known: Sequence[RunPrediction], searched: Sequence[RunPrediction]) -> dict[str, dict[str, float]]:
    return {
        "training_leave_one_out": summary([p.throughput_ratio for p in searched]),
        "training_known_layout": summary([p.throughput_ratio for p in known]),
    }
