"""Parallel layouts of a training job: validate one, or search all for the fastest that fits.

A layout (tp, pp, cp, dp, ep, zero, recompute, micro_batch) is valid when tp·pp·cp·dp equals
the accelerator count, tp divides the attention heads, and ep divides dp and the expert count;
the global batch is rounded to the nearest multiple of dp (the result reports the one used). The search walks tp over divisors of the count within one scale-up domain,
pp over divisors of the layer count and powers of two, cp over powers of two while every rank
keeps at least 1,024 tokens, and micro-batches over powers of two; for each it takes the lowest
ZeRO stage that fits (stages 1 and 2 cost the same time here, 3 adds traffic), and returns the
layout with the shortest step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator, Mapping

from dcplan.errors import InfeasibleError, InputError
from dcplan.model import flops as F
from dcplan.model.memory import TrainMemory, train_memory
from dcplan.model.params import ParamCounts
from dcplan.model.time import StepTime, train_step_time
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, ParallelLayout

#: Global batch when none is given: about 4M tokens, rounded to a power of two in sequences
#: (Llama 2 trained with 4M-token batches, Touvron et al. 2023 §2.2).
DEFAULT_GLOBAL_BATCH_TOKENS = 4.0e6
#: Smallest sequence chunk per context-parallel rank the search considers [tokens].
MIN_TOKENS_PER_CP_RANK = 1024
#: Largest micro-batch the search considers [sequences].
MAX_MICRO_BATCH = 16


@dataclass(frozen=True, kw_only=True)
class TrainSetup:
    """Everything about a training job except its layout."""

    model: ModelSpec
    counts: ParamCounts
    hardware: HardwareSpec
    calibration: Calibration
    seq_len: int
    precision: str
    global_batch: int | None
    """Sequences per optimizer step; None picks ~4M tokens per layout."""
    capacity_bytes: float
    """Usable bytes per accelerator."""


@dataclass(frozen=True, kw_only=True)
class LayoutResult:
    layout: ParallelLayout
    memory: TrainMemory
    step: StepTime
    global_batch: int


def default_global_batch(seq_len: int) -> int:
    """Sequences per step for ~4M tokens, a power of two."""
    return int(2 ** round(math.log2(max(1.0, DEFAULT_GLOBAL_BATCH_TOKENS / seq_len))))


def batch_for(setup: TrainSetup, dp: int) -> int:
    """The global batch a layout with ``dp`` replicas runs: the target (given, or ~4M tokens)
    rounded to the nearest multiple of dp, at least one sequence per replica."""
    target = setup.global_batch if setup.global_batch is not None else default_global_batch(setup.seq_len)
    return dp * max(1, round(target / dp))


def check_layout(setup: TrainSetup, lay: ParallelLayout, n_accelerators: int) -> None:
    """Raise InputError naming the first field that makes ``lay`` invalid."""
    m = setup.model
    if lay.n_devices != n_accelerators:
        raise InputError(
            "gpus",
            f"tp x pp x cp x dp = {lay.tp}x{lay.pp}x{lay.cp}x{lay.dp} = {lay.n_devices} must equal the accelerator count {n_accelerators}",
        )
    if m.n_heads % lay.tp:
        raise InputError("tp", f"must divide the {m.n_heads} attention heads of {m.name}, got {lay.tp}")
    if lay.pp > m.n_layers:
        raise InputError("pp", f"must be at most the {m.n_layers} layers of {m.name}, got {lay.pp}")
    if lay.ep > 1 and (m.moe is None or m.moe.n_experts % lay.ep):
        what = f"the {m.moe.n_experts} experts of {m.name}" if m.moe else f"1 ({m.name} is dense)"
        raise InputError("ep", f"must divide {what}, got {lay.ep}")
    if setup.seq_len % lay.cp:
        raise InputError("cp", f"must divide the sequence length {setup.seq_len}, got {lay.cp}")
    gb = batch_for(setup, lay.dp)
    if (gb // lay.dp) % lay.micro_batch:
        raise InputError("micro_batch", f"must divide the {gb // lay.dp} sequences per data-parallel replica, got {lay.micro_batch}")
    if lay.vpp > 1 and ((gb // lay.dp // lay.micro_batch) % lay.pp or lay.pp * lay.vpp > m.n_layers + m.n_encoder_layers):
        raise InputError("vpp", "interleaving needs a micro-batch count divisible by pp and at least one layer per virtual stage")


def check_partial_layout(setup: TrainSetup, fixed: Mapping[str, object], n_accelerators: int) -> None:
    """Field-specific errors for the given part of a layout, before the search fills in the rest."""
    m = setup.model
    if {"tp", "pp", "dp", "cp"} <= set(fixed):
        product = int(fixed["tp"]) * int(fixed["pp"]) * int(fixed["dp"]) * int(fixed["cp"])  # type: ignore[call-overload]
        if product != n_accelerators:
            raise InputError("gpus", f"tp x pp x cp x dp = {product} must equal the accelerator count {n_accelerators}")
    if "tp" in fixed and m.n_heads % int(fixed["tp"]):  # type: ignore[call-overload]
        raise InputError("tp", f"must divide the {m.n_heads} attention heads of {m.name}, got {fixed['tp']}")


def evaluate(setup: TrainSetup, lay: ParallelLayout, *, hfu_per_token: Mapping[str, float]) -> tuple[TrainMemory, StepTime, int]:
    """Memory and step time of a valid layout."""
    gb = batch_for(setup, lay.dp)
    n_mb = max(1, gb // lay.dp // lay.micro_batch)
    mem = train_memory(
        setup.counts,
        setup.model,
        lay,
        seq_len=setup.seq_len,
        precision=setup.precision,
        n_microbatches=n_mb,
        calibration=setup.calibration,
    )
    step = train_step_time(
        setup.model,
        setup.counts,
        setup.hardware,
        setup.calibration,
        lay,
        seq_len=setup.seq_len,
        global_batch=gb,
        precision=setup.precision,
        hfu_flops_per_token=hfu_per_token[lay.recompute],
    )
    return mem, step, gb


def hfu_table(setup: TrainSetup) -> dict[str, float]:
    """Hardware FLOPs per token for each recompute mode."""
    return {
        mode: F.hardware_flops_per_token(setup.model, setup.seq_len, mode)
        for mode in ("none", "selective", "full")
    }


def _powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _interleavings(m: ModelSpec, pp: int, n_microbatches: int) -> list[int]:
    """Virtual stages per device worth trying: powers of two up to the layers per stage, when
    the micro-batch count is a multiple of pp (Megatron's interleaving rule)."""
    if pp == 1 or n_microbatches % pp:
        return [1]
    return _powers_of_two((m.n_layers + m.n_encoder_layers) // pp)


def candidates(setup: TrainSetup, n: int, fixed: Mapping[str, object]) -> Iterator[ParallelLayout]:
    """Valid layouts for ``n`` accelerators honouring the ``fixed`` fields (zero excluded)."""
    m, hw = setup.model, setup.hardware
    domain = hw.scale_up_domain or hw.accelerators_per_node or 1
    divs = _divisors(n)

    def options(name: str, default: list) -> list:
        return [fixed[name]] if name in fixed else default

    tps = options("tp", [t for t in divs if t <= domain and m.n_heads % t == 0])
    layer_divs = set(_divisors(m.n_layers + m.n_encoder_layers)) | set(_powers_of_two(m.n_layers))
    for tp in tps:
        pps = options("pp", [p for p in divs if p in layer_divs and p <= m.n_layers and (n // tp) % p == 0])
        for pp in pps:
            if (n // tp) % pp:
                continue
            max_cp = max(1, setup.seq_len // MIN_TOKENS_PER_CP_RANK)
            cps = options("cp", [c for c in _powers_of_two(max_cp) if (n // (tp * pp)) % c == 0 and setup.seq_len % c == 0])
            for cp in cps:
                if n % (tp * pp * cp):
                    continue
                dp = n // (tp * pp * cp)
                if "dp" in fixed and int(fixed["dp"]) != dp:  # type: ignore[call-overload]
                    continue
                eps = options("ep", [1] if m.moe is None else [e for e in _divisors(dp) if m.moe.n_experts % e == 0])
                per_replica = batch_for(setup, dp) // dp
                mbs = options("micro_batch", [b for b in _powers_of_two(min(MAX_MICRO_BATCH, per_replica)) if per_replica % b == 0])
                recs = options("recompute", ["none", "selective", "full"])
                for ep in eps:
                    for rec in recs:
                        for mb in mbs:
                            n_mb = per_replica // mb
                            for vpp in options("vpp", _interleavings(m, pp, n_mb)):
                                yield ParallelLayout(
                                    tp=tp, pp=pp, cp=cp, dp=dp, ep=ep, zero=int(fixed.get("zero", 1)),
                                    recompute=str(rec), micro_batch=mb, vpp=vpp,
                                )


def search_layout(setup: TrainSetup, n: int, fixed: Mapping[str, object] | None = None) -> LayoutResult:
    """The fastest layout that fits memory, or InfeasibleError saying how far the best one misses."""
    fixed = dict(fixed or {})
    hfu = hfu_table(setup)
    zero_fixed = "zero" in fixed
    best: LayoutResult | None = None
    smallest: tuple[float, ParallelLayout] | None = None
    seen = 0
    for lay in candidates(setup, n, fixed):
        seen += 1
        for zero in ([lay.zero] if zero_fixed else [1, 2, 3]):
            trial = replace(lay, zero=zero) if zero != lay.zero else lay
            mem, step, gb = evaluate(setup, trial, hfu_per_token=hfu)
            if mem.total > setup.capacity_bytes:
                if smallest is None or mem.total < smallest[0]:
                    smallest = (mem.total, trial)
                continue
            if best is None or step.total_s < best.step.total_s:
                best = LayoutResult(layout=trial, memory=mem, step=step, global_batch=gb)
            break
    if best is not None:
        return best
    if seen == 0:
        raise InfeasibleError(
            "gpus",
            f"no valid parallel layout of {setup.model.name} on {n} accelerators"
            + (f" with {', '.join(f'{k}={v}' for k, v in fixed.items())}" if fixed else ""),
        )
    assert smallest is not None
    raise InfeasibleError(
        "gpus",
        f"{setup.model.name} fits no layout on {n} x {setup.hardware.name}: the smallest needs "
        f"{smallest[0] / 1e9:.1f} GB per accelerator ({_fmt(smallest[1])}) but {setup.capacity_bytes / 1e9:.1f} GB are usable; use more accelerators or one with more memory",
    )


def _fmt(lay: ParallelLayout) -> str:
    return (f"tp={lay.tp} pp={lay.pp} cp={lay.cp} dp={lay.dp} ep={lay.ep} zero={lay.zero} recompute={lay.recompute} "
            f"micro_batch={lay.micro_batch}" + (f" vpp={lay.vpp}" if lay.vpp > 1 else ""))


def evaluate_fixed(setup: TrainSetup, lay: ParallelLayout, n: int) -> LayoutResult:
    """A fully given layout: validate, evaluate, and fail clearly if it does not fit."""
    check_layout(setup, lay, n)
    mem, step, gb = evaluate(setup, lay, hfu_per_token=hfu_table(setup))
    if mem.total > setup.capacity_bytes:
        raise InfeasibleError(
            "gpus",
            f"layout {_fmt(lay)} needs {mem.total / 1e9:.1f} GB per accelerator but {setup.hardware.name} has "
            f"{setup.capacity_bytes / 1e9:.1f} GB usable; raise tp/pp/zero, recompute, or use more accelerators",
        )
    return LayoutResult(layout=lay, memory=mem, step=step, global_batch=gb)
