"""Parallel layouts of a training job: validate one, or search all for the fastest that fits.

A layout (tp, pp, cp, dp, ep, zero, recompute, micro_batch, vpp, schedule) is valid when
tp·pp·cp·dp equals the accelerator count, tp divides the attention heads, ep divides dp and the
expert count (and tp x cp x dp), and dp x micro-batch divides the global batch. The search walks tp over divisors
of the count within one scale-up domain, pp over the divisors of the rest up to the layer count,
cp over powers of two while every rank keeps at least 4,096 tokens, ep over the divisors of
tp x cp x dp that divide the experts (every MoE model), and micro-batches over powers of two;
for each it takes the lowest ZeRO stage that fits (stages 1 and 2 cost the same time here, 3
adds traffic), and returns the layout with the shortest step.

What the search proposes is what the default stack does by default (:func:`searched_zero`,
:func:`_schedules`): Megatron-LM's interleaved 1F1B with the expert all-to-all not overlapped
(``--overlap-moe-expert-parallel-comm`` is opt-in) and its distributed optimizer (ZeRO-1), plus
FSDP (ZeRO-3) for dense models, which published runs use at scale (torchtitan, llm-foundry,
Megatron-Bridge's FSDP rows). FSDP with expert parallelism (Megatron-Core 0.15+), the
overlapped 1F1B and DeepSeek's DualPipe are evaluated when given: no published throughput
measures them against the default, and the model would otherwise pick them on the strength of
overlap it assumes perfect.

Global batch (:func:`default_batch_tokens`): when none is given it grows with the job's
training compute as published runs do, B = B₀·(C/10²⁴ FLOP)^a tokens, with a = 0.3271 from
the DeepSeek LLM batch-size scaling law (arXiv:2401.02954 §3.1, B_opt = 0.2920·C^0.3271) and
B₀ the median over published runs (``data/validation/global_batches.yaml``; GPT-3 3.2M tokens,
Llama 2 4M, Llama 3 405B 16M, DeepSeek-V3 63M...), rounded to a power of two in sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping, NamedTuple

from dcplan.errors import InfeasibleError, InputError
from dcplan.model import flops as F
from dcplan.model.memory import TrainMemory, train_memory
from dcplan.model.params import ParamCounts
from dcplan.model.pipeline import bubble_microbatches
from dcplan.model.train_time import StepTime, microbatch_compute_s, train_step_time
from dcplan.specs import Calibration, GlobalBatch, GradSync, HardwareSpec, ModelSpec, MoERouting, OverlapSpec, ParallelLayout

#: Smallest sequence chunk per context-parallel rank the search considers [tokens]: published
#: runs split no finer (NeMo / Megatron-Bridge tables: CP2 at 8,192 tokens; Llama 3,
#: arXiv:2407.21783 Table 4: CP16 at 131,072, i.e. 8,192 per rank). A given cp may go below.
MIN_TOKENS_PER_CP_RANK = 4096
#: Largest micro-batch the search considers [sequences].
MAX_MICRO_BATCH = 16
#: ZeRO stages the search tries, lowest first (the first that fits is kept): the distributed
#: optimizer, then FSDP (dense models only, :func:`searched_zero`).
SEARCHED_ZERO = (1, 3)


def searched_zero(m: ModelSpec) -> tuple[int, ...]:
    """ZeRO stages the search tries for ``m``: FSDP only for dense models.

    Megatron-Core's MoE guide (arXiv:2603.07685; Megatron-Bridge docs/training/moe-optimization.md,
    "Minimize model parallelism, maximize DP ... use distributed optimizer") and every published
    MoE throughput row use the distributed optimizer; Megatron-Bridge's FSDP page says the
    FSDP x EP combination is "code-supported first, not ... benchmark-proven".
    """
    return SEARCHED_ZERO if m.moe is None else SEARCHED_ZERO[:1]


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
    """Sequences per optimizer step; None: the default rule (``default_batch``)."""
    capacity_bytes: float
    """Usable bytes per accelerator."""
    batch_exact: bool = False
    """The batch was given in sequences: every layout must divide it (dp x micro-batch)."""
    overlap: OverlapSpec = field(default_factory=OverlapSpec)
    routing: MoERouting = field(default_factory=MoERouting)
    grad_sync: GradSync = field(default_factory=GradSync)
    """Bytes of the gradient buffers and of the data-parallel reduce and gather (fp32 gradients
    as in Megatron-LM by default)."""


@dataclass(frozen=True, kw_only=True)
class LayoutResult:
    layout: ParallelLayout
    memory: TrainMemory
    step: StepTime
    global_batch: int
    candidates: int = 1
    """Layouts evaluated to find this one."""


def default_batch_tokens(train_flops: float, cal: Calibration) -> float:
    """Global batch a job of ``train_flops`` FLOPs runs by default [tokens]."""
    return cal.batch_tokens_at_1e24 * (max(train_flops, 1.0) / 1e24) ** cal.batch_exponent


def default_batch(train_flops: float, seq_len: int, cal: Calibration) -> int:
    """:func:`default_batch_tokens` in sequences, rounded to a power of two (at least 1)."""
    seqs = default_batch_tokens(train_flops, cal) / seq_len
    return int(2 ** round(math.log2(max(1.0, seqs))))


def resolve_batch(given: int | GlobalBatch | None, seq_len: int, train_flops: float,
                  cal: Calibration) -> tuple[int, bool, str]:
    """(sequences, exact, why): the batch a job runs and where it comes from."""
    if given is None:
        b = default_batch(train_flops, seq_len, cal)
        why = (f"default rule: {cal.batch_tokens_at_1e24 / 1e6:.2f}M tokens x (C/1e24 FLOP)^{cal.batch_exponent:g} "
               f"at C = {train_flops:.3g} FLOP, rounded to a power of two in sequences")
        return b, False, why
    if isinstance(given, GlobalBatch):
        if given.sequences is not None:
            return given.sequences, True, f"given: {given.sequences} sequences"
        b = given.in_sequences(seq_len)
        return b, False, f"given: {given.tokens:g} tokens = {b} sequences of {seq_len} (rounded per layout to dp x micro-batch)"
    return int(given), True, f"given: {int(given)} sequences"


def batch_for(setup: TrainSetup, dp: int, micro_batch: int = 1) -> int:
    """The global batch a layout runs: the target rounded to a multiple of dp x micro-batch
    (exact targets are only paired with layouts that divide them)."""
    target = setup.global_batch if setup.global_batch is not None else dp
    unit = dp * micro_batch
    return unit * max(1, round(target / unit))


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
    _check_experts(m, lay.ep)
    if setup.seq_len % lay.cp:
        raise InputError("cp", f"must divide the sequence length {setup.seq_len}, got {lay.cp}")
    if lay.schedule != "1f1b" and m.moe is None:
        raise InputError("schedule", f"{lay.schedule} overlaps expert all-to-all; {m.name} is dense: use 1f1b")
    _check_batch(setup, lay.dp, lay.micro_batch)
    gb = batch_for(setup, lay.dp, lay.micro_batch)
    n_mb = gb // lay.dp // lay.micro_batch
    if lay.vpp > 1 and (n_mb % lay.pp or lay.pp * lay.vpp > m.n_layers + m.n_encoder_layers):
        raise InputError("vpp", "interleaving needs a micro-batch count divisible by pp and at least one layer per virtual stage")
    if lay.schedule == "dualpipe" and n_mb < lay.pp:
        raise InputError("schedule", f"dualpipe needs at least pp = {lay.pp} micro-batches per step, got {n_mb}")


def _check_experts(m: ModelSpec, ep: int) -> None:
    if ep <= 1:
        return
    if m.moe is None:
        raise InputError("ep", f"must be 1: {m.name} is dense (no experts to split), got {ep}")
    if ep > m.moe.n_experts:
        raise InputError("ep", f"must be at most the {m.moe.n_experts} experts of {m.name}, got {ep}")
    if m.moe.n_experts % ep:
        raise InputError("ep", f"must divide the {m.moe.n_experts} experts of {m.name} evenly, got {ep}")


def _check_batch(setup: TrainSetup, dp: int, micro_batch: int) -> None:
    if setup.batch_exact and setup.global_batch is not None and setup.global_batch % (dp * micro_batch):
        raise InputError(
            "global_batch",
            f"{setup.global_batch} sequences do not divide into dp x micro_batch = {dp} x {micro_batch}; "
            f"use a multiple of {dp * micro_batch}, or give the batch in tokens (e.g. 16M) to let it round",
        )


def check_partial_layout(setup: TrainSetup, fixed: Mapping[str, object], n_accelerators: int) -> None:
    """Field-specific errors for the given part of a layout, before the search fills in the rest."""
    m = setup.model
    if {"tp", "pp", "dp", "cp"} <= set(fixed):
        product = int(fixed["tp"]) * int(fixed["pp"]) * int(fixed["dp"]) * int(fixed["cp"])  # type: ignore[call-overload]
        if product != n_accelerators:
            raise InputError("gpus", f"tp x pp x cp x dp = {product} must equal the accelerator count {n_accelerators}")
    if "tp" in fixed and m.n_heads % int(fixed["tp"]):  # type: ignore[call-overload]
        raise InputError("tp", f"must divide the {m.n_heads} attention heads of {m.name}, got {fixed['tp']}")
    if "ep" in fixed:
        _check_experts(m, int(fixed["ep"]))  # type: ignore[call-overload]
        if {"tp", "cp", "dp"} <= set(fixed):
            group = int(fixed["tp"]) * int(fixed["cp"]) * int(fixed["dp"])  # type: ignore[call-overload]
            if group % int(fixed["ep"]):  # type: ignore[call-overload]
                raise InputError("ep", f"must divide tp x cp x dp ({group}): experts are sharded over the ranks of a pipeline stage, got {fixed['ep']}")
    if "schedule" in fixed and fixed["schedule"] != "1f1b" and m.moe is None:
        raise InputError("schedule", f"{fixed['schedule']} overlaps expert all-to-all; {m.name} is dense: use 1f1b")
    if "dp" in fixed:
        _check_batch(setup, int(fixed["dp"]), int(fixed.get("micro_batch", 1)))  # type: ignore[call-overload]


def memory_of(setup: TrainSetup, lay: ParallelLayout) -> tuple[TrainMemory, int, int]:
    """(memory, global batch, micro-batches) of a valid layout."""
    gb = batch_for(setup, lay.dp, lay.micro_batch)
    n_mb = max(1, gb // lay.dp // lay.micro_batch)
    mem = train_memory(setup.counts, setup.model, lay, seq_len=setup.seq_len, precision=setup.precision,
                       n_microbatches=n_mb, calibration=setup.calibration, grad_bytes=setup.grad_sync.grad_bytes)
    return mem, gb, n_mb


def step_of(setup: TrainSetup, lay: ParallelLayout, gb: int) -> StepTime:
    """Step time of a valid layout at global batch ``gb``."""
    return train_step_time(setup.model, setup.counts, setup.hardware, setup.calibration, lay, seq_len=setup.seq_len,
                           global_batch=gb, precision=setup.precision, overlap=setup.overlap, routing=setup.routing,
                           grad_sync=setup.grad_sync)


def evaluate(setup: TrainSetup, lay: ParallelLayout) -> tuple[TrainMemory, StepTime, int]:
    """Memory and step time of a valid layout."""
    mem, gb, _ = memory_of(setup, lay)
    return mem, step_of(setup, lay, gb), gb


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


def _schedules(m: ModelSpec, pp: int, vpp: int, n_microbatches: int) -> list[str]:
    """Schedules the search tries: (interleaved) 1F1B, Megatron-LM's default. The overlapped
    1F1B (``--overlap-moe-expert-parallel-comm``, opt-in in Megatron-Core) and DualPipe
    (DeepSeek-V3 §3.2.1, DeepSeek's own framework) are evaluated only when given."""
    return ["1f1b"]


def _schedule_fits(schedule: str, pp: int, vpp: int, n_microbatches: int) -> bool:
    """Whether a given schedule can run a candidate's pipeline: DualPipe needs an even pp >= 2,
    no interleaving and at least pp micro-batches (DualPipe README)."""
    if schedule == "dualpipe":
        return pp >= 2 and pp % 2 == 0 and vpp == 1 and n_microbatches >= pp
    return True


def _micro_batches(setup: TrainSetup, dp: int) -> list[int]:
    per_replica = max(1, batch_for(setup, dp) // dp)
    mbs = [b for b in _powers_of_two(min(MAX_MICRO_BATCH, per_replica)) if per_replica % b == 0]
    if setup.batch_exact and setup.global_batch is not None:
        mbs = [b for b in mbs if setup.global_batch % (dp * b) == 0]
    return mbs


def _shape_options(setup: TrainSetup, n: int, fixed: Mapping[str, object]) -> Iterator[tuple[int, int, int, int]]:
    """(tp, pp, cp, dp) combinations honouring ``fixed``."""
    m, hw = setup.model, setup.hardware
    domain = hw.scale_up_domain or hw.accelerators_per_node or 1
    divs = _divisors(n)

    def options(name: str, default: list) -> list:
        return [fixed[name]] if name in fixed else default

    for tp in options("tp", [t for t in divs if t <= domain and m.n_heads % t == 0]):
        # any pp up to the layer count: stages may hold uneven layer counts (BLOOM: 70 layers on PP12)
        for pp in options("pp", [p for p in divs if p <= m.n_layers and (n // tp) % p == 0]):
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
                if setup.batch_exact and setup.global_batch is not None and setup.global_batch % dp:
                    continue
                yield tp, pp, cp, dp


class _Cand(NamedTuple):
    tp: int
    pp: int
    cp: int
    dp: int
    ep: int
    micro_batch: int
    vpp: int
    schedule: str
    recompute: str
    n_mb: int


def _raw_candidates(setup: TrainSetup, n: int, fixed: Mapping[str, object]) -> Iterator[_Cand]:
    m = setup.model

    def options(name: str, default: list) -> list:
        return [fixed[name]] if name in fixed else default

    recs = options("recompute", ["none", "selective", "full"])
    for tp, pp, cp, dp in _shape_options(setup, n, fixed):
        group = tp * cp * dp
        eps = options("ep", [1] if m.moe is None else [e for e in _divisors(group) if m.moe.n_experts % e == 0])
        for ep in eps:
            if group % int(ep):
                continue
            for mb in options("micro_batch", _micro_batches(setup, dp)):
                n_mb = batch_for(setup, dp, mb) // dp // mb
                for vpp in options("vpp", _interleavings(m, pp, n_mb)):
                    for sched in options("schedule", _schedules(m, pp, vpp, n_mb)):
                        if not _schedule_fits(str(sched), pp, int(vpp), n_mb):
                            continue
                        for rec in recs:
                            yield _Cand(tp, pp, cp, dp, int(ep), int(mb), int(vpp), str(sched), str(rec), n_mb)


def _layout(c: _Cand, zero: int) -> ParallelLayout:
    return ParallelLayout(tp=c.tp, pp=c.pp, cp=c.cp, dp=c.dp, ep=c.ep, zero=zero, recompute=c.recompute,
                          micro_batch=c.micro_batch, vpp=c.vpp, schedule=c.schedule)


def candidates(setup: TrainSetup, n: int, fixed: Mapping[str, object]) -> Iterator[ParallelLayout]:
    """Valid layouts for ``n`` accelerators honouring the ``fixed`` fields (zero excluded).

    Recompute modes come last and in order none, selective, full: for the same other fields
    each one is slower than the one before, so the search stops at the first that fits.
    """
    zero = int(fixed.get("zero", 1))  # type: ignore[call-overload]
    for c in _raw_candidates(setup, n, fixed):
        yield _layout(c, zero)


def _fits(setup: TrainSetup, lay: ParallelLayout, zeros: tuple[int, ...]) -> tuple[ParallelLayout, TrainMemory, int] | float:
    """(layout at the lowest ZeRO stage that fits, memory, batch), or the smallest bytes tried."""
    smallest = math.inf
    for zero in zeros:
        trial = replace(lay, zero=zero) if zero != lay.zero else lay
        mem, gb, _ = memory_of(setup, trial)
        if mem.total <= setup.capacity_bytes:
            return trial, mem, gb
        smallest = min(smallest, mem.total)
    return smallest


def search_layout(setup: TrainSetup, n: int, fixed: Mapping[str, object] | None = None) -> LayoutResult:
    """The fastest layout that fits memory, or InfeasibleError saying how far the best one misses.

    Branch and bound: a candidate whose compute alone (micro-batches and bubble, no
    communication) is already slower than the best step found is skipped before its memory and
    communication are evaluated.
    """
    fixed = dict(fixed or {})
    # ZeRO-2 (gradients sharded, weights kept) is evaluated only when given (DeepSpeed, Meta's
    # FSDP for Llama 3); FSDP with experts too (searched_zero)
    zeros = (int(fixed["zero"]),) if "zero" in fixed else searched_zero(setup.model)  # type: ignore[call-overload]
    best: LayoutResult | None = None
    smallest: tuple[float, ParallelLayout] | None = None
    compute: dict[tuple, float] = {}
    seen = 0
    done_key = None
    for c in _raw_candidates(setup, n, fixed):
        seen += 1
        key = c[:8]
        if key == done_key:
            continue  # a lighter recompute mode of the same layout already fitted
        if best is not None:
            ckey = (c.tp, c.pp, c.cp, c.micro_batch, c.recompute)
            if ckey not in compute:
                compute[ckey] = microbatch_compute_s(setup.model, setup.hardware, setup.calibration, _layout(c, zeros[0]),
                                                     seq_len=setup.seq_len, precision=setup.precision, routing=setup.routing)
            floor = (c.n_mb + bubble_microbatches(c.pp, c.vpp, c.schedule)) * compute[ckey]
            if floor >= best.step.total_s:
                continue
        lay = _layout(c, zeros[0])
        fit = _fits(setup, lay, zeros)
        if isinstance(fit, float):
            if smallest is None or fit < smallest[0]:
                smallest = (fit, lay)
            continue
        done_key = key
        trial, mem, gb = fit
        step = step_of(setup, trial, gb)
        if best is None or step.total_s < best.step.total_s:
            best = LayoutResult(layout=trial, memory=mem, step=step, global_batch=gb)
    if best is not None:
        return replace(best, candidates=seen)
    if seen == 0:
        raise InfeasibleError(
            "gpus",
            f"no valid parallel layout of {setup.model.name} on {n} accelerators"
            + (f" with {', '.join(f'{k}={v}' for k, v in fixed.items())}" if fixed else "")
            + (f" dividing a global batch of {setup.global_batch} sequences" if setup.batch_exact else ""),
        )
    assert smallest is not None
    raise InfeasibleError(
        "gpus",
        f"{setup.model.name} fits no layout on {n} x {setup.hardware.name}: the smallest needs "
        f"{smallest[0] / 1e9:.1f} GB per accelerator ({_fmt(smallest[1])}) but {setup.capacity_bytes / 1e9:.1f} GB are usable; use more accelerators or one with more memory",
    )


def _fmt(lay: ParallelLayout) -> str:
    return (f"tp={lay.tp} pp={lay.pp} cp={lay.cp} dp={lay.dp} ep={lay.ep} zero={lay.zero} recompute={lay.recompute} "
            f"micro_batch={lay.micro_batch}" + (f" vpp={lay.vpp}" if lay.vpp > 1 else "")
            + (f" schedule={lay.schedule}" if lay.schedule != "1f1b" else ""))


def evaluate_fixed(setup: TrainSetup, lay: ParallelLayout, n: int) -> LayoutResult:
    """A fully given layout: validate, evaluate, and fail clearly if it does not fit."""
    check_layout(setup, lay, n)
    mem, step, gb = evaluate(setup, lay)
    if mem.total > setup.capacity_bytes:
        raise InfeasibleError(
            "gpus",
            f"layout {_fmt(lay)} needs {mem.total / 1e9:.1f} GB per accelerator but {setup.hardware.name} has "
            f"{setup.capacity_bytes / 1e9:.1f} GB usable; raise tp/pp/zero, recompute, or use more accelerators",
        )
    return LayoutResult(layout=lay, memory=mem, step=step, global_batch=gb)


def train_flops(model: ModelSpec, seq_len: int, tokens: float) -> float:
    """Model FLOPs of training on ``tokens`` tokens (what the batch rule grows with) [FLOP]."""
    return F.train_flops_per_token(model, seq_len) * tokens
