"""Fit each serving stack's parameters on published serving results, and score them held out.

Rows: data/validation/serving_benchmarks.yaml (MLPerf Inference v4.0-v5.1 Offline, Server and
Interactive results of every vendor, TensorRT-LLM's performance tables), each with its setup:
chips, stack, precision of weights and cache, replica layout where published, the engine's
concurrency cap, and request lengths (a dataset's distribution, or fixed lengths). A row is
predicted with the stack's engine behaviour (:class:`~dcplan.model.replica.EngineSetup`) and
calibration, at the published layout (fields not published are searched), under the
benchmark's latency limits for Server and Interactive rows.

Each stack's parameters (PARAMS): the achieved fraction of memory bandwidth
(``decode_bw_frac``), the prefill efficiency relative to the GEMM ceiling (``prefill.eta_max``),
the fixed overhead per decode step (``decode_t0_s``), the memory share the engine fills
(``serving_memory_frac``), the efficiency of FP4 GEMMs relative to FP8 ones
(``precision_eta_frac.fp4``), mean over tail latency under load (``latency_tail_frac``), and
the efficiency of routed-expert GEMMs and of the attention core relative to dense GEMMs
(``moe_eta_frac``, ``attn_eta_frac``). Where a stack has rows on two or more chips, each chip
also gets its own sustained-compute term (``chip_eta_frac``, the (chip, stack) part of the
calibration; the terms average to 1 so the shared efficiency carries the mean).

They are fitted by least squares on log(predicted / published) tokens/s with partial pooling: a
Gaussian prior in the parameters' log (logit for shares) centred on the fit of every *other*
stack's rows, so a stack with few rows stays near what the rest of the data says, and a stack
with many is fitted by its own. ``pooled`` (the fallback of a chip no stack runs on) is the fit
of all rows together. Held-out error: each row is predicted with its stack refitted exactly
without it (leave-one-out up to LOO_MAX_ROWS rows; above, KFOLD-fold: the row's fold is left
out, which is the harder test); the prior, fitted on other stacks' rows, never contains it.
The residuals are piecewise constant where a latency limit sets an integer batch, so the
held-out refits are real refits, not a linearised step.

Run ``python -m dcplan.validation --fit-serving`` to print the fit, with ``--write`` to store the
values and their held-out errors in data/stacks/*.yaml and data/validation/serving_fit.yaml (a
few minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from dcplan.errors import InputError
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, StackSpec

SCENARIOS = ("offline", "server", "interactive")
#: Fitted parameters, their transforms and prior widths (in the transformed unit). Widths are
#: the spread a stack may plausibly differ from the others by: a factor e^0.3 in bandwidth and
#: efficiency, e^1 in the per-step overhead, 0.7 in the log-odds of the memory share.
PARAMS = ("decode_bw_frac", "prefill.eta_max", "decode_t0_s", "serving_memory_frac", "precision_eta_frac.fp4",
          "latency_tail_frac", "moe_eta_frac", "attn_eta_frac")
PRIOR_WIDTH = (0.3, 0.3, 1.0, 0.7, 0.5, 0.7, 0.5, 0.5)
#: Typical log error of one row, which sets the prior's weight against the rows (a prior with
#: width w counts as (RESIDUAL_SCALE / w)^2 of a row's squared error per unit deviation).
RESIDUAL_SCALE = 0.1
#: Neutral centre of the all-rows fit (only a weak regulariser there).
NEUTRAL = {"decode_bw_frac": 0.6, "prefill.eta_max": 0.6, "decode_t0_s": 2e-3, "serving_memory_frac": 0.9,
           "precision_eta_frac.fp4": 1.0, "latency_tail_frac": 0.8, "moe_eta_frac": 1.0,
           "attn_eta_frac": 1.0}
LOGIT = ("serving_memory_frac", "latency_tail_frac")
#: A chip's own term (``chip_eta_frac``): fitted for chips with at least this many rows in a
#: stack, with a prior at 1 of this width (in log): a chip's sustained compute share differs
#: from its stack-mates' by tens of percent at most (power-limited clocks).
MIN_CHIP_ROWS = 2
CHIP_PRIOR_WIDTH = 0.2
CHIP_SEP = "@"
#: Weight of the constraint that a stack's chip terms average to 1 (in log): strong, so the
#: stack's shared efficiencies carry the mean and the chip terms only the differences.
CHIP_MEAN_WEIGHT = 3.0
#: Held-out errors: every row refitted without it up to LOO_MAX_ROWS rows in a stack; above,
#: KFOLD folds (a refit costs a full fit). Refits start from the full fit, so few iterations do.
LOO_MAX_ROWS = 30
KFOLD = 10
REFIT_NFEV = 15
BOUNDS = {"decode_bw_frac": (0.15, 0.99), "prefill.eta_max": (0.1, 0.99), "decode_t0_s": (1e-5, 0.3),
          "serving_memory_frac": (0.4, 0.99), "precision_eta_frac.fp4": (0.15, 1.5), "latency_tail_frac": (0.1, 0.99), "moe_eta_frac": (0.1, 2.0), "attn_eta_frac": (0.05, 2.0),
          "chip_eta_frac": (0.3, 2.0)}


@dataclass(frozen=True, kw_only=True)
class ServingDataset:
    """A benchmark's request-length distribution."""

    name: str
    description: str
    output_mean_tokens: float
    max_output_tokens: float | None = None
    output_source: str
    lengths_source: str
    quality: str
    cells: tuple[tuple[float, float, float], ...]
    """(share of requests, mean input tokens, mean output tokens) before rescaling."""


@dataclass(frozen=True, kw_only=True)
class ServingRow:
    """One published serving result with its setup."""

    id: str
    benchmark: str
    scenario: str
    model: str
    hardware: str
    n_accelerators: int
    stack: str
    engine_version: str
    precision: str
    kv_precision: str
    layout: Mapping[str, Any] = field(default_factory=dict)
    max_batch: int | None = None
    """The engine's concurrency cap in the published setup (per replica; per micro-batch with pp)."""
    kv_reserve: str | None = None
    """The scheduler's cache policy in the published setup (default: the stack's)."""
    dataset: str | None = None
    input_len: int | None = None
    output_len: int | None = None
    output_tokens_per_sample: float | None = None
    ttft_limit_s: float | None = None
    tpot_limit_s: float | None = None
    tokens_per_s: float
    """Published output tokens per second of the whole system."""
    source: str
    quality: str
    notes: str = ""
    fit: bool = True
    """False: predicted and shown, but neither fitted nor scored in the stack's held-out error."""
    not_fitted: str = ""
    """Why a ``fit: false`` row is left out (required with it)."""

    def __post_init__(self) -> None:
        if not self.fit and not self.not_fitted.strip():
            raise InputError("not_fitted", "say why a row with fit: false is left out of the fit")
        if self.scenario not in SCENARIOS:
            raise InputError("scenario", f"must be one of {', '.join(SCENARIOS)}, got {self.scenario!r}")
        if (self.dataset is None) == (self.input_len is None or self.output_len is None):
            raise InputError("dataset", "give a dataset, or input_len and output_len")
        unknown = set(self.layout) - {"tp", "pp", "ep", "attention_dp"}
        if unknown:
            raise InputError(f"layout.{sorted(unknown)[0]}", "not a layout field; use tp, pp, ep, attention_dp")

    @property
    def is_moe(self) -> bool:
        return self.model in MOE_MODELS


#: Catalog models that are mixtures of experts (for the MoE error summary).
MOE_MODELS = frozenset({"mixtral-8x7b", "deepseek-r1", "deepseek-v3"})


@dataclass(frozen=True, kw_only=True)
class ServingPrediction:
    row: ServingRow
    tokens_per_s: float | None
    batch: int | None = None
    layout: str = ""
    binding_limit: str = ""
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        return self.tokens_per_s / self.row.tokens_per_s if self.tokens_per_s else None


Resolver = Callable[[str], Any]


def row_lengths(row: ServingRow, datasets: Mapping[str, ServingDataset]):
    """The row's request lengths: its dataset rescaled to the measured output length, or fixed."""
    from dcplan.model.serving import LengthMix

    if row.dataset is None:
        return LengthMix.fixed(row.input_len, row.output_len)
    if row.dataset not in datasets:
        raise InputError("dataset", f"unknown dataset {row.dataset!r}; defined: {', '.join(sorted(datasets))}")
    ds = datasets[row.dataset]
    mix = LengthMix(ds.cells)
    return mix.rescaled(row.output_tokens_per_sample or ds.output_mean_tokens, ds.max_output_tokens)


def dataset_lengths(name: str, datasets: Mapping[str, ServingDataset]):
    """The request-length distribution of a benchmark dataset at its reference output length."""
    from dcplan.model.serving import LengthMix

    if name not in datasets:
        raise InputError("dataset", f"unknown dataset {name!r}; use one of {', '.join(sorted(datasets))}")
    ds = datasets[name]
    return LengthMix(ds.cells).rescaled(ds.output_mean_tokens, ds.max_output_tokens)


def predict_row(row: ServingRow, model: ModelSpec, hw: HardwareSpec, stack: StackSpec, cal: Calibration,
                datasets: Mapping[str, ServingDataset]) -> ServingPrediction:
    """Predict one row with ``cal`` (the stack's calibration); errors become a row with ``error``."""
    from dcplan.inference import best_replica, candidate_layouts
    from dcplan.model.params import count_params
    from dcplan.model.replica import EngineSetup

    try:
        lengths = row_lengths(row, datasets)
        lay = dict(row.layout)
        layouts = candidate_layouts(model, row.n_accelerators, tp=lay.get("tp"), pp=lay.get("pp"), ep=lay.get("ep"),
                                    attention_dp=lay.get("attention_dp"))
        setup = EngineSetup(memory_frac=cal.serving_memory_frac, memory_of=stack.memory_of,
                            max_batch=row.max_batch or stack.max_batch, max_batch_per_rank=row.max_batch is None,
                            kv_reserve=row.kv_reserve or stack.kv_reserve,
                            prefill_chunk_tokens=stack.prefill_chunk_tokens)
        best, _, reasons = best_replica(model, count_params(model), hw, cal, setup, layouts, lengths, precision=row.precision,
                                        kv_precision=row.kv_precision, ttft_slo_s=row.ttft_limit_s, tpot_slo_s=row.tpot_limit_s)
    except InputError as exc:
        return ServingPrediction(row=row, tokens_per_s=None, error=exc.one_line())
    if best is None:
        return ServingPrediction(row=row, tokens_per_s=None, error=reasons[-1] if reasons else "no layout")
    per_acc, point = best
    replicas = row.n_accelerators // point.layout.devices
    return ServingPrediction(row=row, tokens_per_s=point.tokens_per_s * replicas, batch=point.batch,
                             layout=point.layout.label(), binding_limit=point.binding_limit)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _base(name: str) -> str:
    """``chip_eta_frac@mi300x`` -> ``chip_eta_frac``."""
    return name.split(CHIP_SEP)[0]


def _to_theta(name: str, value: float) -> float:
    lo, hi = BOUNDS[_base(name)]
    value = min(max(value, lo * (1 + 1e-9)), hi * (1 - 1e-9))
    if _base(name) in LOGIT:
        return math.log(value / (1.0 - value))
    return math.log(value)


def _from_theta(name: str, theta: float) -> float:
    if _base(name) in LOGIT:
        return 1.0 / (1.0 + math.exp(-theta))
    return math.exp(theta)


def _theta_bounds(names: Sequence[str] = PARAMS) -> tuple[list[float], list[float]]:
    return [_to_theta(n, BOUNDS[_base(n)][0]) for n in names], [_to_theta(n, BOUNDS[_base(n)][1]) for n in names]


def chip_param(chip: str) -> str:
    """Name of a chip's own term in a stack's parameter vector."""
    return f"chip_eta_frac{CHIP_SEP}{chip}"


def chip_terms(cases: Sequence[Case]) -> list[str]:
    """Chips that get their own term in a stack's fit: at least MIN_CHIP_ROWS rows each, on two
    or more such chips (with one chip the term is the stack's efficiency itself)."""
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.hw.name] = counts.get(c.hw.name, 0) + 1
    chips = sorted(ch for ch, n in counts.items() if n >= MIN_CHIP_ROWS)
    return chips if len(chips) >= 2 else []


def values_of(cal: Calibration) -> dict[str, float]:
    return {"decode_bw_frac": cal.decode_bw_frac, "prefill.eta_max": cal.prefill.eta_max,
            "decode_t0_s": max(cal.decode_t0_s, BOUNDS["decode_t0_s"][0]), "serving_memory_frac": cal.serving_memory_frac,
            "precision_eta_frac.fp4": cal.precision_eta_frac.get("fp4", 1.0),
            "latency_tail_frac": min(cal.latency_tail_frac, BOUNDS["latency_tail_frac"][1]), "moe_eta_frac": cal.moe_eta_frac,
            "attn_eta_frac": cal.attn_eta_frac}


def overrides(values: Mapping[str, float]) -> dict[str, Any]:
    """Calibration overrides (nested for the prefill curve) of fitted ``values`` (shared terms)."""
    return {"decode_bw_frac": round(values["decode_bw_frac"], 4), "prefill": {"eta_max": round(values["prefill.eta_max"], 4)},
            "decode_t0_s": float(f"{values['decode_t0_s']:.3g}"), "serving_memory_frac": round(values["serving_memory_frac"], 4),
            "precision_eta_frac": {"fp4": round(values["precision_eta_frac.fp4"], 4)},
            "latency_tail_frac": round(values["latency_tail_frac"], 4), "moe_eta_frac": round(values["moe_eta_frac"], 4),
            "attn_eta_frac": round(values["attn_eta_frac"], 4)}


def chip_overrides(values: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Per-chip calibration overrides (``StackSpec.chips``) of fitted ``values``."""
    return {name.split(CHIP_SEP)[1]: {"chip_eta_frac": round(v, 4)} for name, v in sorted(values.items()) if CHIP_SEP in name}


def with_values(cal: Calibration, values: Mapping[str, float], chip: str | None = None) -> Calibration:
    """``cal`` with fitted ``values``; ``chip``'s own term where the values have one."""
    from dataclasses import replace

    return replace(cal, decode_bw_frac=values["decode_bw_frac"], prefill=replace(cal.prefill, eta_max=values["prefill.eta_max"]),
                   decode_t0_s=values["decode_t0_s"], serving_memory_frac=values["serving_memory_frac"],
                   precision_eta_frac={**cal.precision_eta_frac, "fp4": values["precision_eta_frac.fp4"]},
                   latency_tail_frac=values["latency_tail_frac"], moe_eta_frac=values["moe_eta_frac"],
                   attn_eta_frac=values["attn_eta_frac"],
                   chip_eta_frac=values.get(chip_param(chip), 1.0) if chip else 1.0)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A row with everything needed to predict it except the fitted parameters."""

    row: ServingRow
    model: ModelSpec
    hw: HardwareSpec
    stack: StackSpec
    base: Calibration


#: log-ratio charged to a row the model cannot place (no batch fits): a large, finite penalty.
FAIL_LOG_RATIO = 3.0


def residuals(cases: Sequence[Case], values: Mapping[str, float], datasets: Mapping[str, ServingDataset]) -> list[float]:
    out = []
    for c in cases:
        p = predict_row(c.row, c.model, c.hw, c.stack, with_values(c.base, values, c.hw.name), datasets)
        out.append(math.log(p.ratio) if p.ratio else FAIL_LOG_RATIO)
    return out


@dataclass(frozen=True, kw_only=True)
class StackFit:
    stack: str
    values: Mapping[str, float]
    """Shared terms (PARAMS) and the chips' own terms (``chip_eta_frac@<chip>``)."""
    prior: Mapping[str, float]
    n_rows: int
    cost: float
    held_out: str = "leave-one-out"
    """How the held-out errors were made: ``leave-one-out`` or ``K-fold``."""


@dataclass(frozen=True)
class Solution:
    """A fitted parameter vector."""

    names: tuple[str, ...]
    values: Mapping[str, float]
    residuals: Any
    """log(predicted / published) of the rows at the fitted values (numpy array)."""


def _widths(names: Sequence[str], widths: Sequence[float]) -> list[float]:
    shared = dict(zip(PARAMS, widths, strict=True))
    return [shared.get(n, CHIP_PRIOR_WIDTH) for n in names]


def fit_values(cases: Sequence[Case], datasets: Mapping[str, ServingDataset], prior: Mapping[str, float], *,
               widths: Sequence[float] = PRIOR_WIDTH, start: Mapping[str, float] | None = None,
               max_nfev: int = 60, chips: Sequence[str] = ()) -> Solution:
    """Least squares on the rows' log errors plus the Gaussian prior (partial pooling).

    ``chips`` get their own ``chip_eta_frac`` term, with a prior at 1 and the constraint that
    the terms of a stack's chips average to 1 (their mean is the stack's shared efficiency).
    """
    import numpy as np
    from scipy.optimize import least_squares

    names = tuple(PARAMS) + tuple(chip_param(ch) for ch in chips)
    centre_vals = {**{chip_param(ch): 1.0 for ch in chips}, **prior}
    start_vals = {**centre_vals, **(start or {})}
    lo, hi = (np.array(b) for b in _theta_bounds(names))
    theta0 = np.clip(np.array([_to_theta(n, start_vals[n]) for n in names]), lo + 1e-6, hi - 1e-6)
    centre = np.array([_to_theta(n, centre_vals[n]) for n in names])
    prior_jac = np.diag([RESIDUAL_SCALE / w for w in _widths(names, widths)])
    if chips:
        mean_row = np.array([CHIP_MEAN_WEIGHT / len(chips) if CHIP_SEP in n else 0.0 for n in names])
        prior_jac = np.vstack([prior_jac, mean_row])
    n = len(cases)

    def fun(theta):
        vals = {name: _from_theta(name, t) for name, t in zip(names, theta, strict=True)}
        res = residuals(cases, vals, datasets) if cases else []
        return np.concatenate([np.array(res, dtype=float), prior_jac @ (theta - centre)])

    sol = least_squares(fun, theta0, method="trf", bounds=(lo, hi), diff_step=1e-3, x_scale=1.0, max_nfev=max_nfev)
    return Solution(names=names, values={name: _from_theta(name, t) for name, t in zip(names, sol.x, strict=True)},
                    residuals=sol.fun[:n])


def held_out_folds(n: int) -> list[list[int]]:
    """Rows held out together: each row alone (leave-one-out) up to LOO_MAX_ROWS rows, else
    KFOLD interleaved folds (every KFOLD-th row), each refitted on the others."""
    if n <= LOO_MAX_ROWS:
        return [[i] for i in range(n)]
    return [list(range(k, n, KFOLD)) for k in range(KFOLD)]


def held_out(own: Sequence[Case], datasets: Mapping[str, ServingDataset], prior: Mapping[str, float], sol: Solution,
             chips: Sequence[str], *, max_nfev: int = REFIT_NFEV) -> dict[str, float | None]:
    """Each row predicted with its stack refitted without it (exactly, by least squares started
    from the full fit): {row id: predicted / published, or None where no batch fits}."""
    out: dict[str, float | None] = {}
    for fold in held_out_folds(len(own)):
        rest = [c for j, c in enumerate(own) if j not in fold]
        values = fit_values(rest, datasets, prior, start=sol.values, chips=chips, max_nfev=max_nfev).values if rest else prior
        for j in fold:
            r = residuals([own[j]], values, datasets)[0]
            out[own[j].row.id] = math.exp(r) if r != FAIL_LOG_RATIO else None
    return out


def fit_all(cases: Sequence[Case], datasets: Mapping[str, ServingDataset]) -> dict[str, Any]:
    """Pooled fit, each stack's partially pooled fit, and held-out predictions of every row.

    Rows marked ``fit: false`` are left out. Returns {"pooled": values, "stacks": {name:
    StackFit}, "held_out": {row id: ratio or None}, "fitted": {row id: ratio or None}}.
    """
    cases = [c for c in cases if c.row.fit]
    by_stack: dict[str, list[Case]] = {}
    for c in cases:
        by_stack.setdefault(c.row.stack, []).append(c)
    wide = tuple(3.0 for _ in PARAMS)
    pooled = fit_values(cases, datasets, NEUTRAL, widths=wide).values
    stacks: dict[str, StackFit] = {}
    held: dict[str, float | None] = {}
    fitted: dict[str, float | None] = {}
    for name, own in sorted(by_stack.items()):
        others = [c for c in cases if c.row.stack != name]
        # the other stacks' fit: a small move from the pooled one, so a few iterations from it suffice
        prior = fit_values(others, datasets, NEUTRAL, widths=wide, start=pooled, max_nfev=20).values if others else dict(NEUTRAL)
        chips = chip_terms(own)
        sol = fit_values(own, datasets, prior, start=prior, chips=chips)
        stacks[name] = StackFit(stack=name, values=sol.values, prior=prior, n_rows=len(own), cost=float((sol.residuals ** 2).sum()),
                                held_out="leave-one-out" if len(own) <= LOO_MAX_ROWS else f"{KFOLD}-fold")
        for c, r in zip(own, sol.residuals, strict=True):
            fitted[c.row.id] = math.exp(r) if r != FAIL_LOG_RATIO else None
        held.update(held_out(own, datasets, prior, sol, chips))
    return {"pooled": pooled, "stacks": stacks, "held_out": held, "fitted": fitted}


def summary(ratios: Sequence[float | None]) -> dict[str, float]:
    """n, failed, median/p90 absolute percentage error and geometric-mean bias of predicted/published.

    A row the model cannot place (None: no batch fits or meets the latency limits) predicts
    0 tokens/s: it counts as a 100% error in the median and p90 and is left out of the bias.
    """
    import numpy as np

    if not ratios:
        return {"n": 0}
    ok = np.array([v for v in ratios if v], dtype=float)
    ape = np.array([abs(v - 1.0) * 100.0 if v else 100.0 for v in ratios], dtype=float)
    out = {"n": len(ratios), "failed": len(ratios) - int(ok.size), "median_ape_pct": float(np.median(ape)),
           "p90_ape_pct": float(np.percentile(ape, 90))}
    out["bias_pct"] = float((np.exp(np.mean(np.log(ok))) - 1.0) * 100.0) if ok.size else float("nan")
    return out
