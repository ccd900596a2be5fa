"""A serving replica's operating point: the batch it runs, its latencies and its throughput.

Continuous batching (Orca, Yu et al. OSDI'22; vLLM) keeps B sequences decoding; each finished
sequence is replaced by a new request whose prompt is prefilled in chunks of up to the engine's
``prefill_chunk_tokens`` tokens (short prompts share a chunk, which reads the weights once).
In steady state B / E[out] requests start per decode step, so the time per output token is

    TPOT(B) = t_decode(B, context) + B · E[t_prefill(in)] / E[out]

and the replica delivers B / TPOT(B) output tokens per second; TTFT is the prefill of the
request's chunk plus one decode step (queueing is not modelled). B is the largest batch that
fits the engine's memory (weights, activations of one prefill chunk, the cache of B sequences at
the mix's average resident context), the engine's concurrency cap and the latency limits.

Disaggregated serving (DistServe, Zhong et al. OSDI'24; DeepSeek's and SGLang's wide-EP
deployments) runs prefill and decode on separate instances: a prefill instance's throughput is
prompt tokens per second at full chunks, a decode instance's is B / t_decode(B) with no prefill
stalls, and the two pools are sized in the ratio of their request rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from dcplan.model import serving as S
from dcplan.model.memory import InferMemory, _overhead, infer_memory, kv_bytes_per_token
from dcplan.model.params import ParamCounts
from dcplan.model.time import decode_step_time, prefill_time
from dcplan.specs import Calibration, HardwareSpec, ModelSpec

#: Largest concurrent batch per replica the search considers (TensorRT-LLM's CUDA-graph maximum
#: in its performance overview, 8192).
MAX_BATCH = 8192


@dataclass(frozen=True, kw_only=True)
class EngineSetup:
    """How the serving engine uses the replica (from the stack, or a published row's setup)."""

    memory_frac: float
    """Share of memory the engine fills (see ``memory_of``)."""
    memory_of: str = "total"
    """``total``: memory_frac of the accelerator's memory holds weights, activations and cache;
    ``free``: memory_frac of what is left after weights and activations holds the cache."""
    max_batch: int = MAX_BATCH
    """Concurrent sequences the engine schedules at most, per replica (per micro-batch with pp > 1)
    or, with ``max_batch_per_rank``, per attention data-parallel rank."""
    max_batch_per_rank: bool = False
    """True: ``max_batch`` is each attention-DP rank's own scheduler cap (an engine default);
    False: the replica's total (a published setup's figure)."""
    kv_reserve: str = "average"
    """``average``: cache pages as sequences grow; ``peak``: each sequence's full length reserved."""
    prefill_chunk_tokens: int = 8192
    """Prompt tokens one prefill forward batches together."""


@dataclass(frozen=True, kw_only=True)
class ReplicaPoint:
    """One replica at its batch (SI units, per replica)."""

    layout: S.ServingLayout
    batch: int
    memory: InferMemory
    """Bytes on one accelerator."""
    capacity_bytes: float
    """Bytes the engine may fill on one accelerator."""
    prefill_s: float
    """Replica time spent prefilling one request (its share of a chunk) [s]."""
    ttft_s: float
    decode_s: float
    tpot_s: float
    bound: str
    binding_limit: str
    """memory, max_batch, ttft_slo, tpot_slo or given."""
    mean_output: float
    frac: float = 0.0
    """How far the limit lies past ``batch`` towards the next batch (0 <= frac < 1): a memory or
    latency limit falls between whole batches, and the replica's average concurrency over time
    with it (the next sequence admitted part of the time)."""
    next_tokens_per_s: float = 0.0
    """Output tokens/s at the next batch (used with ``frac``)."""

    @property
    def tokens_per_s(self) -> float:
        """Output tokens per second of the replica: at ``batch``, interpolated ``frac`` of the
        way to the next batch, so the rate is continuous in the limits and parameters."""
        at_batch = self.batch / self.tpot_s
        return at_batch + self.frac * (self.next_tokens_per_s - at_batch) if self.frac > 0 else at_batch


@dataclass(frozen=True, kw_only=True)
class _Costs:
    """Batch-independent parts of a replica's operating point."""

    non_kv_bytes: float
    kv_bytes_per_seq: float
    activations: float
    weights: float


def _costs(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, setup: EngineSetup,
           lay: S.ServingLayout, lengths: S.LengthMix, precision: str, kv_precision: str) -> _Costs:
    weights = S.weights_per_device(counts, lay, precision, m.moe.n_experts if m.moe is not None else 0)
    chunk_tokens = min(setup.prefill_chunk_tokens, max(lengths.max_context, 1.0))
    acts = infer_memory(counts, m, tp=lay.attn_shards, batch=0, context_len=0.0, prompt_len=chunk_tokens / lay.attn_groups,
                        precision=precision, calibration=cal).activations
    non_kv = weights + acts + _overhead(weights, acts, 0.0, cal)
    held = lengths.reserved_context if setup.kv_reserve == "peak" else lengths.decode_context
    kv_seq = held * S.kv_bytes_per_token_device(m, kv_precision, lay)
    return _Costs(non_kv_bytes=non_kv, kv_bytes_per_seq=kv_seq, activations=acts, weights=weights)


def prompts_per_prefill(in_len: float, arrivals: float, chunk_tokens: int) -> int:
    """Prompts one prefill forward holds: the requests that arrive per decode step, within a chunk.

    In steady state B / E[out] requests start per step; they are prefilled together, up to the
    engine's chunk of ``chunk_tokens`` tokens (at least one prompt).
    """
    return max(1, min(int(round(arrivals)), int(chunk_tokens // max(in_len, 1.0))))


def prefill_costs(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, setup: EngineSetup,
                  lay: S.ServingLayout, lengths: S.LengthMix, *, precision: str, kv_precision: str,
                  arrivals: float, cache: dict | None = None) -> tuple[float, float]:
    """(replica seconds of prefill per request, TTFT prefill part) with ``arrivals`` prompts per step.

    ``cache`` (optional) memoises prefill forwards by (prompt length, prompts) across calls.
    """
    total_w = sum(w for w, _, _ in lengths.cells)
    per_req = ttft = 0.0
    for w, in_len, _ in lengths.cells:
        n = prompts_per_prefill(in_len, arrivals, setup.prefill_chunk_tokens)
        key = (in_len, n)
        t = cache.get(key) if cache is not None else None
        if t is None:
            t = prefill_time(m, counts, hw, cal, tp=lay.tp, batch=n, prompt_len=int(round(in_len)), precision=precision,
                             layout=lay, kv_precision=kv_precision)
            if cache is not None:
                cache[key] = t
        per_req += w * t / n
        ttft += w * t
    return per_req / total_w, ttft / total_w


def capacity_bytes(hw: HardwareSpec, setup: EngineSetup, non_kv_bytes: float) -> tuple[float, float]:
    """(bytes the engine may fill, of which cache) on one accelerator."""
    hbm = hw.require("hbm_bytes")
    if setup.memory_of == "free":
        room = max(0.0, setup.memory_frac * (hbm - non_kv_bytes))
        return (non_kv_bytes + room if non_kv_bytes <= hbm else hbm), room
    cap = hbm * setup.memory_frac
    return cap, max(0.0, cap - non_kv_bytes)


def _memory(c: _Costs, lay: S.ServingLayout, batch: int, cal: Calibration) -> InferMemory:
    kv = batch / lay.attn_groups * c.kv_bytes_per_seq
    return InferMemory(weights=c.weights, kv_cache=kv, activations=c.activations,
                       overhead=_overhead(c.weights + kv, c.activations, 0.0, cal))


def _batch_cap(setup: EngineSetup, lay: S.ServingLayout) -> int:
    """The engine's concurrency cap for the whole replica."""
    return setup.max_batch * lay.pp * (lay.attn_groups if setup.max_batch_per_rank else 1)


def largest_batch(ok, hi: int) -> int:
    """Largest b in [1, hi] with ok(b) true, ok monotone decreasing; 0 if ok(1) is false."""
    if hi < 1 or not ok(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def replica_point(
    m: ModelSpec,
    counts: ParamCounts,
    hw: HardwareSpec,
    cal: Calibration,
    setup: EngineSetup,
    lay: S.ServingLayout,
    lengths: S.LengthMix,
    *,
    precision: str,
    kv_precision: str,
    batch: int | None = None,
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
) -> tuple[ReplicaPoint | None, str]:
    """(point, binding limit) of one replica, or (None, why not) when no batch fits or meets the SLOs."""
    c = _costs(m, counts, hw, cal, setup, lay, lengths, precision, kv_precision)
    cap, room = capacity_bytes(hw, setup, c.non_kv_bytes)
    ctx = lengths.decode_context
    out = lengths.mean_output

    prefills: dict = {}
    points: dict[int, ReplicaPoint] = {}

    def at(b: int, limit: str) -> ReplicaPoint:
        if b not in points:
            dec, bound = decode_step_time(m, counts, hw, cal, tp=lay.tp, batch=b, context_len=ctx, precision=precision,
                                          layout=lay, kv_precision=kv_precision)
            per_req, ttft = prefill_costs(m, counts, hw, cal, setup, lay, lengths, precision=precision,
                                          kv_precision=kv_precision, arrivals=b / out, cache=prefills)
            points[b] = ReplicaPoint(layout=lay, batch=b, memory=_memory(c, lay, b, cal), capacity_bytes=cap,
                                     prefill_s=per_req, ttft_s=ttft + dec, decode_s=dec, tpot_s=dec + b * per_req / out,
                                     bound=bound, binding_limit="", mean_output=out)
        return replace(points[b], binding_limit=limit)

    fits_exact = room / c.kv_bytes_per_seq * lay.attn_groups if c.kv_bytes_per_seq > 0 else float(MAX_BATCH * lay.attn_groups)
    per_group = min(int(room // c.kv_bytes_per_seq), MAX_BATCH) if c.kv_bytes_per_seq > 0 else MAX_BATCH
    fits = per_group * lay.attn_groups
    if batch is not None:
        if batch > fits:
            return None, (f"batch {batch} needs {_memory(c, lay, batch, cal).total / 1e9:.1f} GB per accelerator with "
                          f"{lay.label()}, {cap / 1e9:.1f} GB usable")
        return at(batch, "given"), "given"
    if fits < 1:
        return None, (f"the weights and one sequence need {(c.non_kv_bytes + c.kv_bytes_per_seq) / 1e9:.1f} GB per accelerator "
                      f"with {lay.label()}, {cap / 1e9:.1f} GB usable")
    limits = [("memory", fits)]
    cap_batch = _batch_cap(setup, lay)
    if cap_batch < fits:
        limits.append(("max_batch", cap_batch))
    hi = min(b for _, b in limits)
    tail = cal.latency_tail_frac
    if ttft_slo_s is not None:
        limits.append(("ttft_slo", largest_batch(lambda b: at(b, "").ttft_s <= ttft_slo_s * tail, hi)))
    if tpot_slo_s is not None:
        limits.append(("tpot_slo", largest_batch(lambda b: at(b, "").tpot_s <= tpot_slo_s * tail, hi)))
    name, best = min(limits, key=lambda kv: kv[1])
    if best == 0:
        p1 = at(1, "")
        value, slo = (p1.ttft_s, ttft_slo_s) if name == "ttft_slo" else (p1.tpot_s, tpot_slo_s)
        return None, (f"{name.replace('_', ' ').upper()} of {slo:g} s cannot be met with {lay.label()}: batch 1 already takes "
                      f"{value:.4g} s (the target allows {slo * tail:.4g} s of steady-state latency)")
    if name == "memory" and per_group == MAX_BATCH:
        name = "max_batch"
    return _between(at, best, name, fits_exact, lay.attn_groups, ttft_slo_s, tpot_slo_s, tail), name


def _between(at, b: int, name: str, fits_exact: float, step: int, ttft_slo_s: float | None, tpot_slo_s: float | None,
             tail: float) -> ReplicaPoint:
    """The point at batch b, with how far its limit lies towards the next batch (ReplicaPoint.frac)."""
    point = at(b, name)
    if name == "memory":
        nxt, frac = b + step, (min(fits_exact, MAX_BATCH * step) - b) / step
    elif name in ("ttft_slo", "tpot_slo"):
        nxt = b + 1
        limit = (ttft_slo_s if name == "ttft_slo" else tpot_slo_s) * tail
        key = "ttft_s" if name == "ttft_slo" else "tpot_s"
        lo, hi = getattr(point, key), getattr(at(nxt, ""), key)
        frac = (limit - lo) / (hi - lo) if hi > lo else 0.0
    else:
        return point
    frac = min(max(frac, 0.0), 0.999)
    if frac <= 0:
        return point
    return replace(point, frac=frac, next_tokens_per_s=at(nxt, "").tokens_per_s)


# --------------------------------------------------------------------------------------------
# Disaggregated prefill and decode
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PhaseInstance:
    """One prefill or decode instance of a disaggregated deployment."""

    phase: str
    layout: S.ServingLayout
    accelerators: int
    requests_per_s: float
    """Requests the instance completes per second (its phase only)."""
    tokens_per_s: float
    """Prompt tokens/s (prefill) or output tokens/s (decode) of the instance."""
    latency_s: float
    """TTFT share (prefill: its chunk) or TPOT (decode)."""
    batch: int
    """Sequences decoding (decode) or prompts per chunk (prefill)."""
    memory: InferMemory
    binding_limit: str


def prefill_instance(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, setup: EngineSetup,
                     lay: S.ServingLayout, lengths: S.LengthMix, *, precision: str, kv_precision: str,
                     ttft_slo_s: float | None = None) -> tuple[PhaseInstance | None, str]:
    """A prefill-only instance: full chunks, no decode."""
    c = _costs(m, counts, hw, cal, setup, lay, lengths, precision, kv_precision)
    cap, _ = capacity_bytes(hw, setup, c.non_kv_bytes)
    if c.non_kv_bytes > cap:
        return None, f"the weights need {c.non_kv_bytes / 1e9:.1f} GB per accelerator with {lay.label()}, {cap / 1e9:.1f} GB usable"
    per_req, ttft = prefill_costs(m, counts, hw, cal, setup, lay, lengths, precision=precision, kv_precision=kv_precision,
                                  arrivals=MAX_BATCH)
    if ttft_slo_s is not None and ttft > ttft_slo_s * cal.latency_tail_frac:
        return None, f"TTFT of {ttft_slo_s:g} s cannot be met with {lay.label()}: a prefill chunk takes {ttft:.4g} s"
    rps = 1.0 / per_req
    chunk = prompts_per_prefill(lengths.mean_input, MAX_BATCH, setup.prefill_chunk_tokens)
    return PhaseInstance(phase="prefill", layout=lay, accelerators=lay.devices, requests_per_s=rps,
                         tokens_per_s=rps * lengths.mean_input, latency_s=ttft, batch=chunk, memory=_memory(c, lay, 0, cal),
                         binding_limit="compute"), "compute"


def decode_instance(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, setup: EngineSetup,
                    lay: S.ServingLayout, lengths: S.LengthMix, *, precision: str, kv_precision: str,
                    tpot_slo_s: float | None = None) -> tuple[PhaseInstance | None, str]:
    """A decode-only instance: the largest batch that fits and meets the TPOT limit, no prefill stalls."""
    c = _costs(m, counts, hw, cal, setup, lay, lengths, precision, kv_precision)
    cap, room = capacity_bytes(hw, setup, c.non_kv_bytes)
    ctx = lengths.decode_context
    per_group = min(int(room // c.kv_bytes_per_seq), MAX_BATCH) if c.kv_bytes_per_seq > 0 else MAX_BATCH
    fits = per_group * lay.attn_groups
    if fits < 1:
        return None, (f"the weights and one sequence need {(c.non_kv_bytes + c.kv_bytes_per_seq) / 1e9:.1f} GB per accelerator "
                      f"with {lay.label()}, {cap / 1e9:.1f} GB usable")

    def step(b: int) -> float:
        return decode_step_time(m, counts, hw, cal, tp=lay.tp, batch=b, context_len=ctx, precision=precision, layout=lay,
                                kv_precision=kv_precision)[0]

    cap = _batch_cap(setup, lay)
    hi, limit = (fits, "memory") if cap >= fits else (cap, "max_batch")
    b = hi
    if tpot_slo_s is not None:
        b = largest_batch(lambda x: step(x) <= tpot_slo_s * cal.latency_tail_frac, hi)
        if b == 0:
            return None, f"TPOT of {tpot_slo_s:g} s cannot be met with {lay.label()}: batch 1 already takes {step(1):.4g} s"
        if b < hi:
            limit = "tpot_slo"
    t = step(b)
    tok = b / t
    return PhaseInstance(phase="decode", layout=lay, accelerators=lay.devices, requests_per_s=tok / lengths.mean_output,
                         tokens_per_s=tok, latency_s=t, batch=b, memory=_memory(c, lay, b, cal), binding_limit=limit), limit


@dataclass(frozen=True, kw_only=True)
class DisaggregatedPlan:
    """Prefill and decode pools for n accelerators (whole instances) at the best ratio."""

    prefill: PhaseInstance
    decode: PhaseInstance
    prefill_instances: int
    decode_instances: int
    requests_per_s: float
    """Requests per second the deployment sustains (the slower pool)."""
    output_tokens_per_s: float
    ttft_s: float
    """Prefill chunk + KV transfer + one decode step."""
    tpot_s: float
    kv_transfer_s: float

    @property
    def prefill_accelerators(self) -> int:
        return self.prefill_instances * self.prefill.accelerators

    @property
    def decode_accelerators(self) -> int:
        return self.decode_instances * self.decode.accelerators


def split_pools(n_accelerators: int, pre: PhaseInstance, dec: PhaseInstance) -> tuple[int, int] | None:
    """(prefill instances, decode instances) using at most n accelerators that serve the most requests."""
    best: tuple[float, int, int] | None = None
    for n_p in range(1, n_accelerators // pre.accelerators + 1):
        n_d = (n_accelerators - n_p * pre.accelerators) // dec.accelerators
        if n_d < 1:
            break
        rate = min(n_p * pre.requests_per_s, n_d * dec.requests_per_s)
        if best is None or rate > best[0] + 1e-12:
            best = (rate, n_p, n_d)
    return None if best is None else (best[1], best[2])


def kv_transfer_s(m: ModelSpec, hw: HardwareSpec, cal: Calibration, lengths: S.LengthMix, kv_precision: str,
                  lay: S.ServingLayout) -> float:
    """Seconds to move one request's prompt cache from a prefill to a decode instance over the scale-out network."""
    bw = hw.inter_node_bytes_per_s or hw.intra_node_bytes_per_s
    if not bw:
        return 0.0
    # the whole prompt cache of one request, sent over one accelerator's network port (under
    # attention data parallelism one accelerator holds it; with heads split, each sends its share)
    bytes_ = lengths.mean_input * kv_bytes_per_token(m, kv_precision, 1) / lay.attn_shards
    return cal.inter_alpha_s + bytes_ / (bw * cal.inter_bw_frac)


def disaggregate(n_accelerators: int, pre: PhaseInstance, dec: PhaseInstance, transfer_s: float,
                 mean_output: float) -> DisaggregatedPlan | None:
    split = split_pools(n_accelerators, pre, dec)
    if split is None:
        return None
    n_p, n_d = split
    rps = min(n_p * pre.requests_per_s, n_d * dec.requests_per_s)
    return DisaggregatedPlan(prefill=pre, decode=dec, prefill_instances=n_p, decode_instances=n_d, requests_per_s=rps,
                             output_tokens_per_s=rps * mean_output, ttft_s=pre.latency_s + transfer_s + dec.latency_s,
                             tpot_s=dec.latency_s, kv_transfer_s=transfer_s)


def pool_sizes_for(requests_per_s: float, pre: PhaseInstance, dec: PhaseInstance) -> tuple[int, int]:
    """(prefill, decode) instances a demand of ``requests_per_s`` needs."""
    return (max(1, math.ceil(requests_per_s / pre.requests_per_s - 1e-9)),
            max(1, math.ceil(requests_per_s / dec.requests_per_s - 1e-9)))
