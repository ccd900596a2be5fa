"""Run a sweep: prepare each point, measure its memory and FLOPs, time points interleaved.

Order of work for each group of points (a group holds at most ``group_memory_bytes`` of
analytical memory, so they can all stay alive and be interleaved; the quick and standard CPU
sweeps fit in one group):

1. prepare every point inside a :class:`~dcplan.profile.memory.MemoryMeter`, running the
   warm-up operations there (the optimizer state appears at the first step, so the peak is
   reached); an out-of-memory error records the point as not fitting and the sweep goes on;
2. count its FLOPs once with ``FlopCounterMode`` (untimed);
3. choose how many back-to-back runs make one sample;
4. time the group in interleaved random-order sweeps (:func:`~dcplan.profile.timing.run_interleaved`),
   so that each point's sweeps are minutes apart; energy read around every block where NVML
   has it;
5. free the group.

A time budget thins the plan before it starts (fewer sweeps, then fewer points per kind,
keeping the smallest and the largest) and stops it when spent; points not measured are listed
under ``skipped``. Ctrl-C (KeyboardInterrupt) ends the sweep and returns what was completed
(every point with at least one finished block of samples, its ``n`` saying how many), marked
partial.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, Sequence

import torch

from dcplan.model.memory import infer_memory, train_memory
from dcplan.model.params import count_params
from dcplan.profile import workloads as W
from dcplan.profile.config import TransformerConfig
from dcplan.profile.dispatch import count_dispatch
from dcplan.profile.energy import EnergyMeter
from dcplan.profile.grids import Grid, Shape
from dcplan.profile.memory import MemoryMeter, PeakMemory, release_free_memory
from dcplan.profile.result import Measurement
from dcplan.profile.timing import ContentionBudget, SweepSettings, Timed, choose_inner, run_interleaved
from dcplan.specs import Calibration, EfficiencyCurve, ParallelLayout

#: Kinds whose inputs are allocated afresh before every block, then run once untimed: their
#: sweeps sample several memory placements and the minimum over sweeps finds a good one (the
#: same 1024^3 GEMM ran at 71-90 GFLOP/s depending on where its tensors landed). Rebuilding the
#: models as well was tried: it cost 20 % more time and did not make model steps repeat better
#: (their run-to-run drift is the host's, docs/benchmarks-profile.md), so they keep theirs.
REFRESHED_KINDS = ("gemm", "bandwidth", "attention")
#: Points whose samples last less than this get one untimed run at the start of every block
#: (the previous point evicted their data from the caches) [s].
WARM_BLOCK_BELOW_S = 0.05
KIND_ORDER = ("gemm", "bandwidth", "launch", "attention", "train", "prefill", "decode", "seq2seq", "encoder")
#: Assumed achieved rate before anything is measured, for planning [FLOP/s].
PLAN_FLOPS_PER_S = {"cpu": 8e10, "cuda": 2e14}
#: Time the sweep may spend backing off from CPU contention: this share of the plan, at least
#: CONTENTION_MIN_S [s].
CONTENTION_SHARE, CONTENTION_MIN_S = 1.0, 30.0
#: Fixed cost per operation assumed for planning (framework overhead) [s].
PLAN_OVERHEAD_S = {"cpu": 2e-3, "cuda": 2e-4}


class Progress(Protocol):
    """Where the sweep reports progress (the CLI shows a rich progress bar)."""

    def start(self, total: float) -> None: ...

    def advance(self, amount: float, description: str) -> None: ...

    def log(self, message: str) -> None: ...


class NullProgress:
    def start(self, total: float) -> None:
        pass

    def advance(self, amount: float, description: str) -> None:
        pass

    def log(self, message: str) -> None:
        pass


def is_oom(exc: BaseException) -> bool:
    """True for an allocation failure: CUDA OOM, MemoryError or the CPU allocator's error."""
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("out of memory", "not enough memory", "can't allocate memory", "cannot allocate memory")
    )


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


def transformer_config(shape: Shape, max_len: int, *, encoder_only: bool = False) -> TransformerConfig:
    return TransformerConfig(d_model=shape.d, n_layers=shape.L, n_heads=shape.a, n_kv_heads=shape.kv, d_ff=shape.ff,
                             vocab_size=shape.V, max_seq_len=max(max_len, 16), n_encoder_layers=shape.enc,
                             encoder_only=encoder_only)


def build_points(g: Grid, precision: str) -> list[W.Point]:
    """Every point of grid ``g``, workloads in ``precision``, in kind order."""
    pts: list[W.Point] = []
    for prec in (precision, *[p for p in g.gemm_precisions_extra if p != precision]):
        pts += [W.GemmPoint(m, n, k, prec) for m, n, k in g.gemm]
    pts += [W.BandwidthPoint(b) for b in g.bandwidth]
    pts += [W.LaunchPoint(n) for n in g.launch]
    pts += [W.AttentionPoint(b, a, kv, s, dh, precision) for b, a, kv, s, dh in g.attention]
    pts += [W.TrainPoint(transformer_config(sh, s), b, s, precision) for sh, b, s in g.train]
    pts += [W.PrefillPoint(transformer_config(sh, s), b, s, precision) for sh, b, s in g.prefill]
    pts += [W.DecodePoint(transformer_config(sh, c), b, c, precision, impl) for impl in g.decode_impls for sh, b, c in g.decode]
    pts += [W.Seq2SeqPoint(transformer_config(sh, max(src, tgt + 1)), b, src, tgt, mode, precision) for sh, b, src, tgt, mode in g.seq2seq]
    pts += [W.EncoderPoint(transformer_config(sh, s, encoder_only=True), b, s, mode, precision) for sh, b, s, mode in g.encoder]
    return pts


_PLAIN = Calibration(name="analytical", gemm=EfficiencyCurve(eta_max=1.0, x_half=0.0), train=EfficiencyCurve(eta_max=1.0, x_half=0.0),
                     prefill=EfficiencyCurve(eta_max=1.0, x_half=0.0), decode_bw_frac=1.0, decode_t0_s=0.0)


def analytical_bytes(p: W.Point) -> float:
    """dcplan's analytical memory of a point, no calibration [bytes] (used to group points)."""
    if isinstance(p, W.GemmPoint):
        return (p.m * p.k + p.k * p.n + p.m * p.n) * 4.0
    if isinstance(p, W.BandwidthPoint):
        return 2.0 * p.nbytes
    if isinstance(p, W.LaunchPoint):
        return 3.0 * 64 * 4
    if isinstance(p, W.AttentionPoint):
        return 4.0 * p.batch * p.seq_len * p.d_head * (2 * p.heads + 2 * p.kv_heads)
    spec = p.model.model_spec()
    counts = count_params(spec)
    prec = "fp32" if p.precision == "tf32" else p.precision
    if isinstance(p, W.EncoderPoint) and p.mode == "embed":
        return infer_memory(counts, spec, tp=1, batch=p.batch, context_len=0, prompt_len=p.batch * p.seq_len, precision=prec,
                            calibration=_PLAIN, logit_positions=0).total
    if isinstance(p, (W.TrainPoint, W.EncoderPoint)) or (isinstance(p, W.Seq2SeqPoint) and p.mode == "train"):
        batch = p.batch
        seq = p.seq_len if isinstance(p, (W.TrainPoint, W.EncoderPoint)) else p.src_len + p.tgt_len
        lay = ParallelLayout(micro_batch=batch, recompute="none", zero=0)
        return train_memory(counts, spec, lay, seq_len=seq, precision=prec, n_microbatches=1, calibration=_PLAIN).total
    ctx = {"prefill": lambda: p.prompt_len, "decode": lambda: p.context_len}.get(p.kind, lambda: p.src_len + p.tgt_len)()
    prompt = p.prompt_len if isinstance(p, W.PrefillPoint) else 1
    return infer_memory(counts, spec, tp=1, batch=p.batch, context_len=ctx, prompt_len=prompt, precision=prec, calibration=_PLAIN).total


def planned_op_s(p: W.Point, device_type: str, flops_per_s: float | None = None) -> float:
    """Rough seconds of one operation of ``p``, for planning and the progress bar's ETA [s]."""
    rate = flops_per_s or PLAN_FLOPS_PER_S[device_type]
    over = PLAN_OVERHEAD_S[device_type]
    if isinstance(p, W.BandwidthPoint):
        return 2 * p.nbytes / (2e10 if device_type == "cpu" else 2e12) + over
    if isinstance(p, W.LaunchPoint):
        return p.ops * over / 100
    if isinstance(p, W.GemmPoint):
        return 2.0 * p.m * p.n * p.k / (rate * 2) + over * 0.1
    if isinstance(p, W.AttentionPoint):
        return 2.0 * p.batch * p.heads * p.seq_len**2 * p.d_head / rate + over
    spec = p.model.model_spec()
    n_ops = (spec.n_layers + spec.n_encoder_layers) * (30 if p.kind in ("train", "seq2seq", "encoder") else 12)
    if isinstance(p, W.TrainPoint):
        from dcplan.profile.flops import train_flops

        return train_flops(spec, p.batch, p.seq_len) / rate + n_ops * over / 10
    if isinstance(p, W.PrefillPoint):
        from dcplan.profile.flops import prefill_flops

        return prefill_flops(spec, p.batch, p.prompt_len) / rate + n_ops * over / 10
    if isinstance(p, W.DecodePoint):
        from dcplan.profile.flops import decode_flops

        bytes_s = count_params(spec).total * 4 / (1e10 if device_type == "cpu" else 2e12)
        return max(decode_flops(spec, p.batch, p.context_len) / rate, bytes_s) + n_ops * over / 10
    from dcplan.profile import flops as PF

    if isinstance(p, W.EncoderPoint):
        work = PF.mlm_train_flops(spec, p.batch, p.seq_len, W.masked_positions(p.seq_len)) if p.mode == "train" else \
            PF.embed_flops(spec, p.batch, p.seq_len)
        return work / rate + n_ops * over / 10
    if p.mode == "train":
        return PF.seq2seq_train_flops(spec, p.batch, p.src_len, p.tgt_len) / rate + n_ops * over / 10
    return PF.seq2seq_generate_flops(spec, p.batch, p.src_len, p.tgt_len) / rate + p.tgt_len * n_ops * over / 10


def point_cost_s(p: W.Point, g: Grid, timing: SweepSettings, device_type: str, flops_per_s: float | None = None) -> float:
    """Planned seconds for the whole measurement of ``p``: warm-up, count, sweeps [s]."""
    op = max(planned_op_s(p, device_type, flops_per_s), 1e-6)
    inner = max(1, math.ceil(g.min_sample_s / op))
    return op * (g.warmup + 2) + op * inner * timing.sweeps * timing.reps


def thin_for_budget(points: list[W.Point], g: Grid, budget_s: float | None, device_type: str) -> tuple[list[W.Point], SweepSettings, list[W.Point]]:
    """(points kept, timing settings, points dropped) so the plan fits ``budget_s``.

    Fewer sweeps first (down to 2), then every kind keeps an evenly spread subset of its
    points ordered by cost, always with its cheapest and its most expensive.
    """
    timing = g.timing
    if budget_s is None:
        return points, timing, []
    total = sum(point_cost_s(p, g, timing, device_type) for p in points)
    while total > budget_s and timing.sweeps > 2:
        timing = replace(timing, sweeps=timing.sweeps - 1)
        total = sum(point_cost_s(p, g, timing, device_type) for p in points)
    if total <= budget_s:
        return points, timing, []
    scale = budget_s / total
    kept: list[W.Point] = []
    for kind in KIND_ORDER:
        group = sorted((p for p in points if p.kind == kind), key=lambda p: point_cost_s(p, g, timing, device_type))
        n = len(group)
        if n == 0:
            continue
        keep_n = max(1, min(n, math.floor(n * scale)))
        idx = {round(i * (n - 1) / max(keep_n - 1, 1)) for i in range(keep_n)} if keep_n > 1 else {0}
        kept += [group[i] for i in sorted(idx)]
    kept_set = set(map(id, kept))
    dropped = [p for p in points if id(p) not in kept_set]
    kept = [p for p in points if id(p) in kept_set]
    return kept, timing, dropped


# --------------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a sweep produced."""

    measurements: list[Measurement] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    partial_reason: str | None = None
    timing: SweepSettings | None = None
    contention_wait_s: float = 0.0
    """Seconds spent backing off from CPU contention."""


@dataclass
class _Live:
    point: W.Point
    prepared: W.Prepared
    memory: PeakMemory | None
    counted: float | None
    id: str
    dispatch: dict[str, float] | None = None


@dataclass
class Runner:
    """Runs the points of one grid on one device."""

    grid: Grid
    ctx: W.Ctx
    energy: EnergyMeter | None = None
    progress: Progress = field(default_factory=NullProgress)
    count_flops: bool = True
    seed: int = 0
    group_memory_bytes: float = 4e9
    outcome: Outcome = field(default_factory=Outcome)
    _serial: dict[str, int] = field(default_factory=dict)
    _deadline: float | None = None
    _live: list[_Live] = field(default_factory=list)
    _timed: list[Timed] = field(default_factory=list)

    def _new_id(self, kind: str) -> str:
        self._serial[kind] = self._serial.get(kind, 0) + 1
        return f"{kind}-{self._serial[kind]:03d}"

    def run(self, points: Sequence[W.Point], timing: SweepSettings, *, budget_s: float | None = None) -> Outcome:
        """Measure ``points``; Ctrl-C stops it and keeps what was completed (partial)."""
        self.outcome.timing = timing
        self._timing = replace(timing, seed=self.seed)
        self._deadline = time.monotonic() + budget_s if budget_s else None
        dev = self.ctx.device.type
        self._op_s = {id(p): max(planned_op_s(p, dev), 1e-6) for p in points}
        self._costs = {id(p): point_cost_s(p, self.grid, timing, dev) for p in points}
        planned = sum(self._costs.values())
        self._contention = ContentionBudget(seconds=max(CONTENTION_MIN_S, CONTENTION_SHARE * planned))
        self.progress.start(planned)
        pending = list(points)
        reason = "time budget"
        try:
            for group in self._groups(points):
                if self._deadline is not None and time.monotonic() > self._deadline:
                    break
                self._run_group(group)
                for p in group:
                    pending.remove(p)
        except KeyboardInterrupt:
            self.outcome.partial, self.outcome.partial_reason, reason = True, "interrupted", "interrupted"
            done = {id(lv.point) for lv in self._live if lv.id in {t.key for t in self._timed if t.blocks}}
            self._record()  # points with at least one completed block keep what they have
            pending = [p for p in pending if id(p) not in done]
        finally:
            self._live, self._timed = [], []
            release_free_memory()
            self.outcome.contention_wait_s = self._contention.spent
        self.outcome.skipped += [{"kind": p.kind, "config": p.config(), "reason": reason} for p in pending]
        return self.outcome

    def _groups(self, points: Sequence[W.Point]) -> list[list[W.Point]]:
        """Points in kind order, cut where their analytical memory would pass the group limit.

        All points of a group stay alive and are timed interleaved, so each point's sweeps are
        spread over the group's whole duration (on a shared host, interference comes in
        episodes of seconds to minutes; the minimum over well-separated sweeps avoids them).
        """
        groups: list[list[W.Point]] = []
        current: list[W.Point] = []
        used = 0.0
        for p in sorted(points, key=lambda q: KIND_ORDER.index(q.kind)):
            b = analytical_bytes(p)
            if current and used + b > self.group_memory_bytes:
                groups.append(current)
                current, used = [], 0.0
            current.append(p)
            used += b
        if current:
            groups.append(current)
        return groups

    def _prepare(self, p: W.Point) -> _Live | None:
        """Build, warm up and meter one point; None (recorded as not fitting) on OOM."""
        pid = self._new_id(p.kind)
        prepared = None
        share = self._op_s[id(p)] * (self.grid.warmup + 2)
        dispatched = None
        try:
            with MemoryMeter(self.ctx.device) as meter:
                prepared = p.prepare(self.ctx)
                counting = prepared.dispatch and self.count_flops
                for _ in range(self.grid.warmup - 1 if counting and self.grid.warmup else self.grid.warmup):
                    prepared.run()
                if counting:  # the last warm-up run, counted (an untimed run like the others)
                    dispatched = count_dispatch(prepared.run).to_dict()
                self.ctx.sync()
        except Exception as exc:  # noqa: BLE001 - allocation failures, and what a third-party library may raise
            if isinstance(exc, W.Unsupported) or (getattr(p, "skip_on_error", False) and not is_oom(exc)):
                return self._skip(p, pid, exc)
            if not is_oom(exc):
                raise
            prepared = None
            release_free_memory()
            self.outcome.measurements.append(Measurement(id=pid, kind=p.kind, config=p.config(), fits=False,
                                                         error=f"out of memory: {str(exc).splitlines()[0][:300]}"))
            self.progress.log(f"{pid} does not fit: {str(exc).splitlines()[0][:120]}")
            self.progress.advance(self._costs[id(p)], f"{p.kind} (out of memory)")
            return None
        counted = None
        if self.count_flops and prepared.count is not None:
            try:
                counted = prepared.count()
            except Exception as exc:  # noqa: BLE001 - MATH attention may not fit where the fused kernel does
                if not is_oom(exc):
                    raise
                release_free_memory()
        self.progress.advance(share, f"prepared {pid}")
        return _Live(point=p, prepared=prepared, memory=meter.result, counted=counted, id=pid, dispatch=dispatched)

    def _skip(self, p: W.Point, pid: str, exc: BaseException) -> None:
        """Record a point that cannot run here (an unsupported path, a library error) and go on."""
        release_free_memory()
        why = str(exc) if isinstance(exc, W.Unsupported) else f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        self.outcome.skipped.append({"kind": p.kind, "config": p.config(), "reason": f"unsupported: {why}"})
        self.progress.log(f"{pid} skipped: {why}")
        self.progress.advance(self._costs[id(p)], f"{p.kind} (unsupported)")
        return None

    def _run_group(self, group: list[W.Point]) -> None:
        self._live = [lv for lv in (self._prepare(p) for p in group) if lv is not None]
        if not self._live:
            return
        sync, energy = self.ctx.sync, self.energy
        self._timed = []
        for lv in self._live:
            inner = choose_inner(lv.prepared.run, sync, self.grid.min_sample_s)
            refresh = (lambda p=lv.point: p.prepare(self.ctx).run) if lv.point.kind in REFRESHED_KINDS else None
            self._timed.append(Timed(key=lv.id, run=lv.prepared.run, sync=sync, inner=inner, refresh=refresh,
                                     warm=self._op_s[id(lv.point)] * inner < WARM_BLOCK_BELOW_S,
                                     energy_read=energy.cumulative_j if energy is not None and energy.available else None,
                                     state_read=energy.block_state if energy is not None else None))
        share = {lv.id: self._costs[id(lv.point)] - self._op_s[id(lv.point)] * (self.grid.warmup + 2) for lv in self._live}
        kind = {lv.id: lv.point.kind for lv in self._live}
        n = self._timing.sweeps
        self.progress.log(f"timing {len(self._timed)} points in {n} interleaved sweeps")
        run_interleaved(self._timed, self._timing, deadline=self._deadline, budget=self._contention,
                        tick=lambda t: self.progress.advance(share[t.key] / max(1, n), f"{kind[t.key]} {t.key}"),
                        on_sweep=lambda i: self.progress.log(f"sweep {i} of {n} done"))
        self._record()
        self._live, self._timed = [], []
        release_free_memory()

    def _record(self) -> None:
        """Measurements of the live points that have timings, in preparation order."""
        state = self.energy.state() if self.energy is not None else None
        by_key = {t.key: t for t in self._timed}
        for lv in self._live:
            t = by_key.get(lv.id)
            if t is None or not t.blocks:
                continue
            stats = t.stats(self._timing.threshold)
            self.outcome.measurements.append(self._measurement(lv, stats, t, state))
            self.progress.log(f"measured {lv.id} {_label(lv.point)}: {stats.estimate * 1e3:.3g} ms")

    def _measurement(self, lv: _Live, stats, timed: Timed, state) -> Measurement:
        pr = lv.prepared
        energy = timed.energy_per_run_j
        return Measurement(
            id=lv.id,
            kind=lv.point.kind,
            config=lv.point.config(),
            time_s=stats,
            flops=pr.flops,
            flops_counter=lv.counted,
            flops_counter_causal_adjusted=(lv.counted - pr.causal_excess) if lv.counted is not None else None,
            tokens=pr.tokens,
            bytes=pr.bytes,
            peak_memory_bytes=lv.memory.peak_bytes if lv.memory else None,
            reserved_memory_bytes=lv.memory.reserved_bytes if lv.memory else None,
            memory_method=lv.memory.method if lv.memory else None,
            energy_j=energy,
            power_w=timed.energy_j / timed.busy_s if (energy is not None and timed.busy_s > 0) else None,
            device_state=state,
            dispatch=lv.dispatch,
        )


def _label(p: W.Point) -> str:
    c = p.config()
    keys = [k for k in ("m", "n", "k", "nbytes", "d_model", "n_layers", "batch", "seq_len", "prompt_len", "context_len",
                        "src_len", "tgt_len", "mode") if k in c]
    return " ".join(f"{k}={c[k]}" for k in keys)


def run_sweep(
    g: Grid,
    ctx: W.Ctx,
    *,
    budget_s: float | None = None,
    energy: EnergyMeter | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    count_flops: bool = True,
    extra_points: Sequence[W.Point] = (),
    group_memory_bytes: float = 4e9,
    native_models: bool = True,
) -> Outcome:
    """Plan (thinned to ``budget_s``) and run grid ``g`` on ``ctx``; ``extra_points`` are appended.

    ``native_models=False`` keeps only the grid's kernels (GEMMs, copies, attention): a profile of
    another implementation's models (``--impl hf``) still needs the device described.
    """
    grid_points = build_points(g, ctx.precision)
    if not native_models:
        grid_points = [p for p in grid_points if p.kind in ("gemm", "bandwidth", "attention")]
    points = grid_points + list(extra_points)
    kept, timing, dropped = thin_for_budget(points, g, budget_s, ctx.device.type)
    runner = Runner(grid=g, ctx=ctx, energy=energy, progress=progress or NullProgress(), seed=seed,
                    count_flops=count_flops, group_memory_bytes=group_memory_bytes)
    outcome = runner.run(kept, timing, budget_s=budget_s)
    outcome.skipped += [{"kind": p.kind, "config": p.config(), "reason": "time budget (planned)"} for p in dropped]
    return outcome
