"""The performance model's face for training: ``estimate_training`` (serving: dcplan.inference).

``estimate_training`` takes typed specs (model, hardware, optional
calibration and site parameters) and returns a typed, immutable result whose ``to_dict()`` is
the documented ``--json`` output of ``dcplan estimate``. Pure: no file, clock or network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from dcplan.errors import InputError
from dcplan.model import energy as E
from dcplan.model import flops as F
from dcplan.model.layout import TrainSetup, check_partial_layout, evaluate, evaluate_fixed, resolve_batch, search_layout
from dcplan.model.params import count_params
from dcplan.model.whole_run import goodput_at
from dcplan.specs import (
    Calibration,
    GlobalBatch,
    GradSync,
    HardwareSpec,
    ModelSpec,
    MoERouting,
    OverlapSpec,
    ParallelLayout,
    SiteParams,
)
from dcplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

#: Training sequence length when none is given and the model's context is longer (Llama 3's
#: main pre-training stage ran at 8,192 tokens, arXiv:2407.21783 §3.4).
DEFAULT_MAX_TRAIN_SEQ = 8192
LAYOUT_FIELDS = ("tp", "pp", "dp", "ep", "cp", "zero", "recompute", "micro_batch", "vpp", "schedule")
#: Fields that must all be given for a layout to be evaluated without search (vpp defaults to 1,
#: schedule to 1f1b).
REQUIRED_LAYOUT_FIELDS = LAYOUT_FIELDS[:-2]


@dataclass(frozen=True, kw_only=True)
class Assumption:
    """One parameter an estimate used, with its unit and source."""

    name: str
    value: Any
    unit: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


def _check_positive(field_name: str, value: float | int | None, *, whole: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(field_name, f"must be a finite number > 0, got {value!r}")
    if whole and value != int(value):
        raise InputError(field_name, f"must be a whole number, got {value!r}")


def _calibration_assumptions(cal: Calibration, phase: str) -> list[Assumption]:
    curve = cal.train if phase == "train" else cal.prefill
    out = [
        Assumption(name="calibration", value=cal.label, unit="name (implementation)",
                   source="calibration file of a profile" if cal.implementation else "data/efficiency/defaults.yaml"),
        Assumption(name="gemm.eta_max", value=cal.gemm.eta_max, unit="fraction of dense peak", source=cal.source("gemm")),
        Assumption(name="gemm.x_half", value=cal.gemm.x_half, unit="FLOP", source=cal.source("gemm")),
        Assumption(name=f"{phase}.eta_max", value=curve.eta_max, unit="fraction of GEMM ceiling", source=cal.source(phase)),
        Assumption(name=f"{phase}.x_half", value=curve.x_half, unit="FLOP", source=cal.source(phase)),
        Assumption(name=f"{phase}.t0_s", value=curve.t0_s, unit="s", source=cal.source(phase)),
        Assumption(name="memory_factor", value=cal.memory_factor, unit="ratio", source=cal.source("memory_factor")),
        Assumption(name="memory_constant_bytes", value=cal.memory_constant_bytes, unit="bytes", source=cal.source("memory_constant_bytes")),
    ]
    return out


def _site_assumptions(site: SiteParams, hw: HardwareSpec, load_frac: float, load_name: str, cal: Calibration) -> list[Assumption]:
    power = E.server_power(hw, site)
    return [
        Assumption(name="server_power_per_accelerator_w", value=power.w, unit="W", source=power.source),
        Assumption(name=load_name, value=load_frac, unit="fraction of peak power", source=cal.source(load_name)),
        Assumption(name="pue", value=site.pue, unit="ratio", source=site.sources.get("pue", "given")),
        Assumption(name="grid_gco2_per_kwh", value=site.grid_gco2_per_kwh, unit="gCO2e/kWh", source=site.sources.get("grid_gco2_per_kwh", "given")),
    ]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BatchPhase:
    """Part of a run at one global batch (a batch ramp-up has several)."""

    tokens: float
    """Tokens trained in this phase [tokens]."""
    global_batch: int
    """Sequences per step."""
    step_time_s: float
    tokens_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "global_batch": self.global_batch, "step_time_s": self.step_time_s,
                "tokens_per_s": self.tokens_per_s}


@dataclass(frozen=True, kw_only=True)
class LongContextPhase:
    """A stage of the run at a longer sequence, on its own layout."""

    tokens: float
    """Tokens trained in the stage [tokens]."""
    seq_len: int
    global_batch: int
    """Sequences per step."""
    step_time_s: float
    tokens_per_s: float
    layout: ParallelLayout

    def to_dict(self) -> dict[str, Any]:
        lay = self.layout
        return {"tokens": self.tokens, "seq_len": self.seq_len, "global_batch": self.global_batch,
                "step_time_s": self.step_time_s, "tokens_per_s": self.tokens_per_s,
                "parallelism": {"tp": lay.tp, "pp": lay.pp, "dp": lay.dp, "ep": lay.ep, "cp": lay.cp, "zero": lay.zero,
                                "recompute": lay.recompute, "micro_batch": lay.micro_batch, "vpp": lay.vpp,
                                "schedule": lay.schedule}}


@dataclass(frozen=True, kw_only=True)
class TrainingEstimate:
    """What a training job needs and costs on one hardware option (SI units)."""

    model: str
    hardware: str
    system: str | None
    """The system (node + fabric) the hardware was resolved through; None: the chip's default."""
    n_accelerators: int
    tokens: float
    seq_len: int
    precision: str
    global_batch: int
    """Sequences per optimizer step (the main phase)."""
    global_batch_source: str
    """Where the batch comes from: given (sequences or tokens) or the default rule."""
    params_total: float
    params_active: float
    flops_per_token: float
    """Model FLOPs per token (causal-aware, no recomputation)."""
    hardware_flops_per_token: float
    """With recomputation (HFU numerator)."""
    flops_total: float
    six_nd_flops: float
    palm_flops_per_token: float
    step_time_s: float
    step_breakdown_s: Mapping[str, float]
    hidden_comm_s: float
    """Communication overlapped with compute in a step (not in the step time)."""
    tokens_per_s: float
    """Steady-state training throughput while the job runs (before goodput losses)."""
    mfu_frac: float
    hfu_frac: float
    goodput_frac: float
    wall_clock_days: float
    accelerator_hours: float
    """Whole run: steady-state hours / goodput (restarts, evaluation, checkpoints)."""
    accelerator_hours_steady_state: float
    """Hours at steady-state throughput alone, no goodput loss (long-context stage included)."""
    accelerator_hours_breakdown: Mapping[str, float]
    """Whole-run hours by part: ``steady_state`` (the main phases), ``long_context`` (a stage at a
    longer sequence, when given) and ``interruptions`` (restarts and lost work, by job size)."""
    long_context: LongContextPhase | None
    """The long-context stage, when given."""
    batch_phases: tuple[BatchPhase, ...]
    memory_per_accelerator_bytes: float
    memory_breakdown_bytes: Mapping[str, float]
    memory_capacity_bytes: float
    it_power_per_accelerator_w: float | None
    """Average IT power per accelerator [W]; None (with ``power_unknown_reason``) when not published."""
    energy_kwh: float | None
    """IT energy [kWh]; None when the power is unknown."""
    facility_energy_kwh: float | None
    tco2e: float | None
    usd_per_accelerator_hour: float | None
    cost_usd: float | None
    layout: ParallelLayout
    layout_searched: bool
    layouts_evaluated: int
    overlap: OverlapSpec
    routing: MoERouting | None
    power_unknown_reason: str | None = None
    """Why power, energy and emissions are None: the missing catalog fields (None when known)."""
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        lay = self.layout
        return {
            "model": self.model,
            "hardware": self.hardware,
            "system": self.system,
            "n_accelerators": self.n_accelerators,
            "tokens": self.tokens,
            "seq_len": self.seq_len,
            "precision": self.precision,
            "global_batch": self.global_batch,
            "global_batch_tokens": self.global_batch * self.seq_len,
            "global_batch_source": self.global_batch_source,
            "batch_phases": [p.to_dict() for p in self.batch_phases],
            "params_total": self.params_total,
            "params_active": self.params_active,
            "flops_total": self.flops_total,
            "flops_per_token": self.flops_per_token,
            "hardware_flops_per_token": self.hardware_flops_per_token,
            "six_nd_flops": self.six_nd_flops,
            "palm_flops_per_token": self.palm_flops_per_token,
            "accelerator_hours": self.accelerator_hours,
            "accelerator_hours_steady_state": self.accelerator_hours_steady_state,
            "accelerator_hours_breakdown": dict(self.accelerator_hours_breakdown),
            "long_context": None if self.long_context is None else self.long_context.to_dict(),
            "wall_clock_days": self.wall_clock_days,
            "mfu_frac": self.mfu_frac,
            "hfu_frac": self.hfu_frac,
            "goodput_frac": self.goodput_frac,
            "tokens_per_s": self.tokens_per_s,
            "step_time_s": self.step_time_s,
            "step_breakdown_s": dict(self.step_breakdown_s),
            "hidden_comm_s": self.hidden_comm_s,
            "memory_per_accelerator_bytes": self.memory_per_accelerator_bytes,
            "memory_breakdown_bytes": dict(self.memory_breakdown_bytes),
            "memory_capacity_bytes": self.memory_capacity_bytes,
            "it_power_per_accelerator_w": self.it_power_per_accelerator_w,
            "energy_kwh": self.energy_kwh,
            "facility_energy_kwh": self.facility_energy_kwh,
            "tco2e": self.tco2e,
            "power_unknown_reason": self.power_unknown_reason,
            "usd_per_accelerator_hour": self.usd_per_accelerator_hour,
            "cost_usd": self.cost_usd,
            "parallelism": {
                "tp": lay.tp,
                "pp": lay.pp,
                "dp": lay.dp,
                "ep": lay.ep,
                "cp": lay.cp,
                "zero": lay.zero,
                "recompute": lay.recompute,
                "micro_batch": lay.micro_batch,
                "vpp": lay.vpp,
                "schedule": lay.schedule,
                "searched": self.layout_searched,
                "layouts_evaluated": self.layouts_evaluated,
            },
            "overlap": self.overlap.as_dict(),
            "moe_routing": None if self.routing is None else {
                "policy": self.routing.policy, "node_limit": self.routing.node_limit,
                "dispatch_bytes": self.routing.dispatch_bytes, "combine_bytes": self.routing.combine_bytes,
            },
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def _training_layout(setup: TrainSetup, layout: Mapping[str, Any] | None, n: int):
    fixed = {k: v for k, v in (layout or {}).items() if v is not None}
    unknown = set(fixed) - set(LAYOUT_FIELDS)
    if unknown:
        raise InputError(sorted(unknown)[0], f"not a layout field; use {', '.join(LAYOUT_FIELDS)}")
    if all(k in fixed for k in REQUIRED_LAYOUT_FIELDS):
        return evaluate_fixed(setup, ParallelLayout(**fixed), n), False
    check_partial_layout(setup, fixed, n)
    return search_layout(setup, n, fixed), True


def _phases(setup: TrainSetup, lay: ParallelLayout, tokens: float, main_batch: int, main_step_s: float,
            ramp: Sequence[tuple[float, int | GlobalBatch]]) -> tuple[BatchPhase, ...]:
    """The run split by global batch: ramp phases first, the main batch for the rest."""
    phases = []
    left = tokens
    for phase_tokens, given in ramp:
        _check_positive("global_batch_schedule.tokens", phase_tokens)
        batch = given.in_sequences(setup.seq_len) if isinstance(given, GlobalBatch) else given
        _check_positive("global_batch_schedule.global_batch", batch, whole=True)
        take = min(left, float(phase_tokens))
        if take <= 0:
            break
        unit = lay.dp * lay.micro_batch
        b = unit * max(1, round(batch / unit))
        if b > main_batch * 64:
            raise InputError("global_batch_schedule.global_batch", f"{batch} sequences is far above the main batch {main_batch}")
        _, step, gb = evaluate(replace(setup, global_batch=b, batch_exact=False), lay)
        phases.append(BatchPhase(tokens=take, global_batch=gb, step_time_s=step.total_s,
                                 tokens_per_s=gb * setup.seq_len / step.total_s))
        left -= take
    if left > 0:
        phases.append(BatchPhase(tokens=left, global_batch=main_batch, step_time_s=main_step_s,
                                 tokens_per_s=main_batch * setup.seq_len / main_step_s))
    return tuple(phases)


def _long_context_phase(setup: TrainSetup, given: tuple[float, int] | None, tokens: float, batch_tokens: float,
                        n: int) -> LongContextPhase | None:
    """The long-context stage: its layout searched at its sequence length, the main batch's
    tokens per step."""
    if given is None:
        return None
    lc_tokens, lc_seq = given
    _check_positive("long_context_tokens", lc_tokens)
    _check_positive("long_context_seq_len", lc_seq, whole=True)
    if lc_tokens >= tokens:
        raise InputError("long_context_tokens", f"must be below the run's {tokens:g} tokens (the stage is part of them), got {lc_tokens:g}")
    if lc_seq <= setup.seq_len:
        raise InputError("long_context_seq_len", f"must exceed the main sequence length {setup.seq_len}, got {lc_seq}")
    batch = max(1, round(batch_tokens / lc_seq))
    res = search_layout(replace(setup, seq_len=int(lc_seq), global_batch=batch, batch_exact=False), n)
    tps = res.global_batch * lc_seq / res.step.total_s
    return LongContextPhase(tokens=float(lc_tokens), seq_len=int(lc_seq), global_batch=res.global_batch,
                            step_time_s=res.step.total_s, tokens_per_s=tps, layout=res.layout)


def estimate_training(
    model: ModelSpec,
    hardware: HardwareSpec,
    *,
    tokens: float,
    n_accelerators: int,
    seq_len: int | None = None,
    precision: str = "bf16",
    layout: Mapping[str, Any] | None = None,
    global_batch: int | GlobalBatch | None = None,
    batch_ramp: Sequence[tuple[float, int | GlobalBatch]] = (),
    overlap: OverlapSpec | None = None,
    routing: MoERouting | None = None,
    grad_sync: GradSync | None = None,
    long_context: tuple[float, int] | None = None,
    calibration: Calibration,
    site: SiteParams | None = None,
) -> TrainingEstimate:
    """Estimate time, memory, energy and cost to train ``model`` on ``tokens`` tokens.

    Energy and emissions are None (``power_unknown_reason`` says why) on a chip whose catalog
    entry publishes neither TDP nor node power; time, memory and cost are estimated all the same.

    ``layout`` may give any of tp, pp, dp, ep, cp, zero, recompute, micro_batch, vpp, schedule;
    the rest are searched (fastest layout that fits memory). ``global_batch`` is sequences (an
    int) or a :class:`GlobalBatch` in sequences or tokens; None applies the default rule.
    ``batch_ramp`` lists (tokens, batch) phases run before the main batch; the layout found for
    the main batch runs them with fewer micro-batches (as a real ramp-up does).
    ``long_context`` = (tokens, sequence length): a stage of the run at a longer sequence (part
    of ``tokens``), with its own searched layout and the main batch's tokens per step (Llama 3,
    arXiv:2407.21783 §3.4.2 and Table 4: 16M tokens per step at 131,072). Whole-run hours add
    the interruptions of a job of this size (:func:`dcplan.model.whole_run.goodput_at`).
    """
    site = site or _default_site()
    _check_positive("tokens", tokens)
    _check_positive("gpus", n_accelerators, whole=True)
    _check_positive("seq_len", seq_len, whole=True)
    if not isinstance(global_batch, GlobalBatch):
        _check_positive("global_batch", global_batch, whole=True)
    seq = int(seq_len) if seq_len else min(model.max_seq_len, DEFAULT_MAX_TRAIN_SEQ)
    peak = hardware.peak(precision)
    counts = count_params(model)
    overlap = overlap or OverlapSpec()
    routing = routing or MoERouting()
    grad_sync = grad_sync or GradSync()
    flops_per_token = F.train_flops_per_token(model, seq)
    batch, exact, batch_why = resolve_batch(global_batch, seq, flops_per_token * tokens, calibration)
    setup = TrainSetup(
        model=model,
        counts=counts,
        hardware=hardware,
        calibration=calibration,
        seq_len=seq,
        precision=precision,
        global_batch=batch,
        batch_exact=exact,
        capacity_bytes=hardware.require("hbm_bytes"),
        overlap=overlap,
        routing=routing,
        grad_sync=grad_sync,
    )
    result, searched = _training_layout(setup, layout, n_accelerators)
    step = result.step
    tokens_per_s = result.global_batch * seq / step.total_s
    lc = _long_context_phase(setup, long_context, tokens, result.global_batch * seq, n_accelerators)
    main_tokens = tokens - (lc.tokens if lc else 0.0)
    phases = _phases(setup, result.layout, main_tokens, result.global_batch, step.total_s, batch_ramp)
    main_s = sum(p.tokens / p.tokens_per_s for p in phases)
    lc_s = lc.tokens / lc.tokens_per_s if lc else 0.0
    steady_s = main_s + lc_s
    hfu_per_token = F.hardware_flops_per_token(model, seq, result.layout.recompute)
    goodput = goodput_at(calibration, n_accelerators)
    wall_s = steady_s / goodput
    acc_hours = n_accelerators * wall_s / SECONDS_PER_HOUR
    hours_breakdown = {
        "steady_state": n_accelerators * main_s / SECONDS_PER_HOUR,
        "long_context": n_accelerators * lc_s / SECONDS_PER_HOUR,
        "interruptions": n_accelerators * (wall_s - steady_s) / SECONDS_PER_HOUR,
    }
    it_w = E.it_power_per_accelerator_w(hardware, site, calibration.train_load_frac)
    it_kwh = E.energy_kwh(acc_hours, it_w) if it_w is not None else None
    fac_kwh = it_kwh * site.pue if it_kwh is not None else None
    price = E.rental_price(hardware, site)
    assumptions = [
        Assumption(name="precision", value=precision, unit="", source="given"),
        Assumption(name="peak_flops_per_s", value=peak, unit="FLOP/s", source=_src(hardware, "peak_flops_per_s")),
        Assumption(name="hbm_bytes", value=hardware.hbm_bytes, unit="bytes", source=_src(hardware, "hbm_bytes")),
        Assumption(name="inter_node_bytes_per_s", value=hardware.inter_node_bytes_per_s, unit="bytes/s",
                   source=_src(hardware, "inter_node_bytes_per_s")),
        Assumption(name="flops_convention", value="causal-aware matmul FLOPs, 3 passes; MFU excludes recomputation", unit="", source="Megatron-LM num_floating_point_operations; PaLM Appendix B"),
        Assumption(name="global_batch", value=result.global_batch, unit="sequences", source=batch_why),
        Assumption(name="goodput_frac", value=goodput, unit="fraction",
                   source=f"{calibration.goodput_frac:g} at {calibration.goodput_ref_accelerators:,.0f} accelerators ({calibration.source('goodput_frac')}), "
                          f"interruptions grown with the job beyond that size ({n_accelerators:,} accelerators)"),
        Assumption(name="overlap", value=", ".join(k for k, v in overlap.as_dict().items() if v) or "none", unit="",
                   source="Megatron-LM defaults: --tp-comm-overlap --overlap-grad-reduce --overlap-param-gather, async pipeline p2p"),
        Assumption(name="grad_sync", value=f"gradients {grad_sync.grad_bytes:g} B, parameter gather "
                   + (f"{grad_sync.param_gather_bytes:g} B" if grad_sync.param_gather_bytes else "in the weights' precision"), unit="bytes per element",
                   source="given" if grad_sync != GradSync() else "Megatron-LM default: bf16 training accumulates and reduces gradients in fp32 (arguments.py)"),
        *_calibration_assumptions(calibration, "train"),
        *_fp8_assumptions(calibration, precision),
        *_moe_assumptions(model, calibration, routing),
        *_site_assumptions(site, hardware, calibration.train_load_frac, "train_load_frac", calibration),
        Assumption(name="usd_per_accelerator_hour", value=price.usd_per_hour, unit="USD/h", source=price.source),
    ]
    return TrainingEstimate(
        model=model.name,
        hardware=hardware.name,
        system=hardware.system,
        n_accelerators=n_accelerators,
        tokens=tokens,
        seq_len=seq,
        precision=precision,
        global_batch=result.global_batch,
        global_batch_source=batch_why,
        params_total=counts.total,
        params_active=counts.active,
        flops_per_token=flops_per_token,
        hardware_flops_per_token=hfu_per_token,
        flops_total=flops_per_token * tokens,
        six_nd_flops=F.six_nd(counts.active, tokens),
        palm_flops_per_token=F.palm_flops_per_token(model, counts.active, seq),
        step_time_s=step.total_s,
        step_breakdown_s=step.as_dict(),
        hidden_comm_s=step.hidden_comm_s,
        tokens_per_s=tokens_per_s,
        mfu_frac=flops_per_token * tokens_per_s / (n_accelerators * peak),
        hfu_frac=hfu_per_token * tokens_per_s / (n_accelerators * peak),
        goodput_frac=goodput,
        wall_clock_days=wall_s / SECONDS_PER_DAY,
        accelerator_hours=acc_hours,
        accelerator_hours_steady_state=n_accelerators * steady_s / SECONDS_PER_HOUR,
        accelerator_hours_breakdown=hours_breakdown,
        long_context=lc,
        batch_phases=phases,
        memory_per_accelerator_bytes=result.memory.total,
        memory_breakdown_bytes=result.memory.as_dict(),
        memory_capacity_bytes=setup.capacity_bytes,
        it_power_per_accelerator_w=it_w,
        energy_kwh=it_kwh,
        facility_energy_kwh=fac_kwh,
        tco2e=E.tco2e(fac_kwh, site) if fac_kwh is not None else None,
        power_unknown_reason=None if it_w is not None else E.power_unknown_reason(hardware),
        usd_per_accelerator_hour=price.usd_per_hour,
        cost_usd=acc_hours * price.usd_per_hour if price.usd_per_hour is not None else None,
        layout=result.layout,
        layout_searched=searched,
        layouts_evaluated=result.candidates,
        overlap=overlap,
        routing=routing if model.moe is not None else None,
        assumptions=tuple(assumptions),
    )


def _fp8_assumptions(cal: Calibration, precision: str) -> list[Assumption]:
    if precision != "fp8":
        return []
    if cal.train_fp8_eta_max is None:
        return [Assumption(name="train_fp8_eta_max", value=cal.train.eta_max, unit="fraction of FP8 GEMM ceiling",
                           source="no FP8 calibration: the BF16 train.eta_max is used (fallback)")]
    return [Assumption(name="train_fp8_eta_max", value=cal.train_fp8_eta_max, unit="fraction of FP8 GEMM ceiling",
                       source=cal.source("train_fp8_eta_max"))]


def _moe_assumptions(model: ModelSpec, cal: Calibration, routing: MoERouting) -> list[Assumption]:
    if model.moe is None:
        return []
    return [
        Assumption(name="moe_routing", value=routing.policy, unit="",
                   source="given" if routing != MoERouting() else "default: dropless (no token dropped)"),
        Assumption(name="moe_imbalance", value=cal.moe_imbalance, unit="most-loaded / mean", source=cal.source("moe_imbalance")),
        Assumption(name="ep_sm_frac", value=cal.ep_sm_frac, unit="fraction of SMs", source=cal.source("ep_sm_frac")),
    ]


def _src(hw: HardwareSpec, name: str) -> str:
    note = hw.source_of(name)
    return f"{note.source} (quality {note.quality})" if note else f"data/hardware/{hw.name}.yaml"


# Serving estimates: dcplan/inference.py (estimate_inference).


def _default_site() -> SiteParams:
    """The sourced default site (data/costs/defaults.yaml), read at this face when a caller gives none."""
    from dcplan.io.site import default_site

    return default_site()


def with_site(site: SiteParams | None, **changes: Any) -> SiteParams:
    """``site`` (or the defaults) with ``changes`` applied, skipping None values."""
    base = site or _default_site()
    given = {k: v for k, v in changes.items() if v is not None}
    return replace(base, **given) if given else base

