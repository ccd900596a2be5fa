"""Score the model on published runs and benchmarks: the rows, and one prediction of each.

Training: every row of data/validation/training_runs.yaml is predicted with the published
layout (fields not published are searched), or with the layout searched, and compared on
steady-state throughput per accelerator (tokens/s, or FLOP/s in the row's counting
convention) and on accelerator-hours (goodput applied only to whole-run hours). The shared
training efficiencies are fitted in :mod:`dcplan.calibrate.train_fit`.

Serving results are scored and fitted per serving stack in :mod:`dcplan.calibrate.serving`.

``python -m dcplan.validation --fit`` prints the fitted values data/efficiency/defaults.yaml
carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from dcplan.errors import InputError
from dcplan.specs import Calibration, GradSync, HardwareSpec, ModelSpec, MoERouting, OverlapSpec, ParallelLayout, parse_global_batch

COUNTINGS = ("model", "megatron", "megatron_hfu", "palm", "hardware", "sixn")
ROLES = ("calibrate", "heldout")
HOURS_COUNTS = ("steady_state", "whole_run")


@dataclass(frozen=True, kw_only=True)
class Published:
    """What a source reports for a run (per accelerator)."""

    flops_per_s: float | None = None
    """Achieved FLOP/s per accelerator under ``counting``."""
    counting: str = "model"
    tokens_per_s: float | None = None
    """Training tokens per second per accelerator (steady state)."""
    accelerator_hours: float | None = None
    counts: str = "whole_run"
    """What the hours include: ``steady_state`` (derived from throughput) or ``whole_run``
    (restarts, evaluation, long-context stages: goodput applies)."""

    def __post_init__(self) -> None:
        if self.counting not in COUNTINGS:
            raise InputError("published.counting", f"must be one of {', '.join(COUNTINGS)}")
        if self.counts not in HOURS_COUNTS:
            raise InputError("published.counts", f"must be one of {', '.join(HOURS_COUNTS)}")
        if self.flops_per_s is None and self.tokens_per_s is None and self.accelerator_hours is None:
            raise InputError("published", "give flops_per_s, tokens_per_s or accelerator_hours")


@dataclass(frozen=True, kw_only=True)
class BatchStep:
    """One phase of a batch ramp-up: ``tokens`` trained at ``batch`` sequences."""

    tokens: float
    batch: int


@dataclass(frozen=True, kw_only=True)
class LongContextStage:
    """A stage of a whole run at a longer sequence: ``tokens`` trained at ``seq_len``."""

    tokens: float
    seq_len: int


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """A published training run or throughput configuration."""

    id: str
    role: str = "calibrate"
    """``calibrate`` (the shared efficiencies are fitted on it) or ``heldout`` (never fitted)."""
    stack: str = ""
    """The training software (megatron-lm, nemo, torchtitan, llm-foundry...)."""
    model: str
    hardware: str
    """A chip or a system (data/systems)."""
    n_accelerators: int
    seq_len: int
    global_batch: int | str | None = None
    """Sequences per step (a whole number) or tokens (``2M tokens``); None: the default rule."""
    batch_ramp: tuple[BatchStep, ...] = ()
    long_context: LongContextStage | None = None
    """A published long-context stage, part of ``tokens`` (whole runs)."""
    tokens: float | None = None
    precision: str | None = None
    """Compute precision; None: bf16 (fp16 where the chip has no bf16)."""
    layout: Mapping[str, Any] = field(default_factory=dict)
    overlap: OverlapSpec | None = None
    routing: MoERouting | None = None
    grad_sync: GradSync | None = None
    """Published data-parallel bytes (bf16 gradient reduce, FP8 parameter gather); None: the
    Megatron-LM defaults."""
    published: Published
    source: str
    quality: str
    notes: str = ""
    assumed: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError("role", f"must be one of {', '.join(ROLES)}, got {self.role!r}")

    @property
    def known_layout(self) -> bool:
        """The source publishes the shape of the layout (tp, pp, dp and cp)."""
        return {"tp", "pp", "dp"} <= set(self.layout)

    def precision_for(self, hw: HardwareSpec) -> str:
        if self.precision:
            return self.precision
        return "bf16" if "bf16" in hw.peak_flops_per_s else "fp16"


@dataclass(frozen=True, kw_only=True)
class RunPrediction:
    row: RunRow
    flops_per_s: float | None
    """Predicted achieved FLOP/s per accelerator in the row's counting."""
    tokens_per_s: float | None
    """Predicted tokens/s per accelerator (steady state)."""
    accelerator_hours: float | None
    """Predicted hours under the row's ``counts`` (goodput only for whole runs)."""
    mfu_frac: float | None
    layout: str
    parallel: ParallelLayout | None = None
    """The layout used (published fields, the rest searched)."""
    flops_per_token: float | None = None
    """FLOPs per token in the row's counting (converts a published tokens/s to FLOP/s)."""
    searched: bool = False
    """The layout was searched (only the accelerator count, batch and sequence given)."""
    error: str | None = None

    @property
    def throughput_ratio(self) -> float | None:
        """Predicted / published steady-state throughput (tokens/s or FLOP/s, as published)."""
        pub = self.row.published
        if pub.tokens_per_s and self.tokens_per_s:
            return self.tokens_per_s / pub.tokens_per_s
        if pub.flops_per_s and self.flops_per_s:
            return self.flops_per_s / pub.flops_per_s
        return None

    @property
    def flops_ratio(self) -> float | None:
        return self.throughput_ratio

    @property
    def published_flops_per_s(self) -> float | None:
        """Published throughput as FLOP/s per accelerator in the row's counting."""
        pub = self.row.published
        if pub.flops_per_s:
            return pub.flops_per_s
        if pub.tokens_per_s and self.flops_per_token:
            return pub.tokens_per_s * self.flops_per_token
        return None

    @property
    def hours_ratio(self) -> float | None:
        pub = self.row.published.accelerator_hours
        return self.accelerator_hours / pub if (self.accelerator_hours and pub) else None

    @property
    def ratio(self) -> float | None:
        """The row's headline ratio: throughput when published, else hours inverted (so that
        above 1 always means dcplan is optimistic)."""
        r = self.throughput_ratio
        if r is not None:
            return r
        h = self.hours_ratio
        return 1.0 / h if h else None


Resolver = Callable[[str], Any]


def _per_token(counting: str, est: Any, model: ModelSpec, seq_len: int) -> float:
    """FLOPs per token under a published counting convention."""
    from dcplan.model import flops as F

    return {
        "model": est.flops_per_token,
        "megatron": F.train_flops_per_token(model, seq_len, causal=False),
        "megatron_hfu": F.hardware_flops_per_token(model, seq_len, est.layout.recompute, causal=False),
        "hardware": est.hardware_flops_per_token,
        "palm": est.palm_flops_per_token,
        "sixn": 6.0 * est.params_active,
    }[counting]


def predict_run(row: RunRow, model: ModelSpec, hw: HardwareSpec, cal: Calibration, *, search: bool = False) -> RunPrediction:
    """Predict one published run with ``cal``; errors become a row with ``error`` set.

    With ``search`` only the accelerator count, batch and sequence are given, as a new user
    would; otherwise the published layout fields are fixed and the rest searched.
    """
    from dcplan.errors import InfeasibleError
    from dcplan.estimate import estimate_training

    try:
        est = estimate_training(
            model,
            hw,
            tokens=row.tokens or 1e12,
            n_accelerators=row.n_accelerators,
            seq_len=row.seq_len,
            precision=row.precision_for(hw),
            layout={} if search else dict(row.layout),
            global_batch=None if row.global_batch is None else parse_global_batch(row.global_batch),
            batch_ramp=[(b.tokens, b.batch) for b in row.batch_ramp],
            overlap=row.overlap,
            routing=row.routing,
            grad_sync=row.grad_sync,
            long_context=None if row.long_context is None else (row.long_context.tokens, row.long_context.seq_len),
            calibration=cal,
        )
    except (InputError, InfeasibleError) as exc:
        return RunPrediction(row=row, flops_per_s=None, tokens_per_s=None, accelerator_hours=None, mfu_frac=None,
                             layout="", searched=search, error=exc.one_line())
    hours = None
    if row.tokens:
        hours = est.accelerator_hours if row.published.counts == "whole_run" else est.accelerator_hours_steady_state
    lay = est.layout
    per_acc = est.tokens_per_s / row.n_accelerators
    per_token = _per_token(row.published.counting, est, model, est.seq_len)
    return RunPrediction(
        row=row,
        flops_per_s=per_token * per_acc,
        flops_per_token=per_token,
        tokens_per_s=per_acc,
        accelerator_hours=hours,
        mfu_frac=est.mfu_frac,
        parallel=lay,
        layout=(f"tp{lay.tp} pp{lay.pp} cp{lay.cp} dp{lay.dp}" + (f" ep{lay.ep}" if lay.ep > 1 else "")
                + f" z{lay.zero} {lay.recompute} mb{lay.micro_batch} v{lay.vpp}"
                + (f" {lay.schedule}" if lay.schedule != "1f1b" else "")),
        searched=search,
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
