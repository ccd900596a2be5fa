"""Time of one training step on a parallel layout, term by term.

Per micro-batch on the busiest pipeline stage (Calculon's ``no_overlap`` processing mode:
compute and memory-bound work add up, Isaev et al. SC'23):

  t_gemm     = F_fp8able/(peak_p·eta_p) + F_experts·imbalance/(peak_p·eta_p) + F_bf16/(peak_bf16·eta)
               (attention core, router and output layer stay BF16 in FP8 runs: DeepSeek-V3 §3.3.1)
  t_nonmatmul = act_passes · activation bytes / HBM bandwidth          (norms, activations,
               residuals, softmax/loss: Korthikanti et al. 2022's per-layer count, plus logits)
               + FP8 casts (read 2 B, write 1 B per GEMM input element, forward and backward)
               + MoE permute/unpermute (2 B read + 2 B write per routed copy, 3 passes)
               ⊕ host dispatch t0 + layers·t0_per_layer (fitted on profiles, 0 shipped): added on
               a CPU, hidden behind device work on a GPU (dcplan.model.launch.with_host)
  comm        TP (4 collectives per layer, 6 with full recompute; Narayanan et al. 2021 §3.2),
               CP (K/V all-gather + reduce-scatter, overlapped with attention as Megatron's ring
               does), EP (dispatch + combine, forward and backward: :func:`expert_all_to_all_time`),
               PP sends (2·v per micro-batch)
  overlap     each overlappable term hides under the compute it overlaps (``OverlapSpec``,
               Megatron-LM defaults) and taxes that compute by the SM share it runs on
               (Calculon ``processor_usage``; DeepSeek-V3's 20 of 132 SMs for expert all-to-all)

Per micro-batch, the busiest link must also carry everything overlapped on it (collectives
sharing a link share its bandwidth): t_mb >= sum of the communication on that link.

Per step: m·t_mb + bubble(p, v, schedule)·t_mb (:mod:`dcplan.model.pipeline`) + exposed DP
gradient reduce / parameter gather (expert parameters over their own expert-data-parallel group
edp, Megatron-Core's tp x cp x dp = etp x ep x edp) + the optimizer update at HBM bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.model import flops as F
from dcplan.model.comm import Link, collective_time, expert_all_to_all_time, group_link, node_size
from dcplan.model.efficiency import train_eta
from dcplan.model.launch import with_host
from dcplan.model.memory import activation_traffic_bytes, params_on_device, selective_recompute_bytes, state_bytes_per_param
from dcplan.model.params import ParamCounts
from dcplan.model.pipeline import bubble_microbatches, layers_per_stage
from dcplan.specs import Calibration, GradSync, HardwareSpec, ModelSpec, MoERouting, OverlapSpec, ParallelLayout

#: Bytes an Adam update moves per parameter: reads fp32 master, m, v (12 B) and the bf16
#: gradient (2 B), writes master, m, v (12 B) and the bf16 weight (2 B). Derived here.
ADAM_UPDATE_BYTES_PER_PARAM = 28.0
#: Share of a micro-batch's compute that is backward, which gradient sync can hide behind
#: (backward = 2 of the 3 GEMM passes).
BACKWARD_SHARE = 2.0 / 3.0
#: Bytes an FP8 cast moves per element: read 2 (BF16), write 1 (FP8). Derived here.
FP8_CAST_BYTES = 3.0
#: FP8 dispatch: 1 byte per element plus one fp32 scale per 128 elements (DeepSeek-V3 §3.3.2,
#: 1x128 tile-wise activation scaling): 1 + 4/128.
FP8_DISPATCH_BYTES = 1.0 + 4.0 / 128.0
#: Bytes a token permute or unpermute moves per routed copy and hidden element (read + write
#: of BF16), and the passes (permute and unpermute forward, both again in backward).
PERMUTE_BYTES, PERMUTE_PASSES = 4.0, 4.0


@dataclass(frozen=True, kw_only=True)
class StepTime:
    """One training step on one replica, by part [s]. The parts that add up to the step are
    in :meth:`as_dict`; ``hidden_comm_s`` is communication overlapped with compute (shown, not
    added: what it costs is in ``overlap_tax_s``)."""

    compute_s: float
    """GEMM time of all micro-batches on the busiest stage (no bubble)."""
    nonmatmul_s: float
    """Memory-bound work (norms, activations, casts, permutes) and per-layer overheads."""
    link_busy_s: float
    """Waiting for the busiest link: overlapped collectives sharing one link that need more
    time than the micro-batch's compute and exposed communication."""
    overlap_tax_s: float
    """Compute slowed by the SMs overlapped communication runs on."""
    tp_comm_s: float
    cp_comm_s: float
    ep_comm_s: float
    pp_comm_s: float
    bubble_s: float
    dp_comm_exposed_s: float
    optimizer_s: float
    hidden_comm_s: float
    n_microbatches: int
    eta: float
    """GEMM efficiency of the main (BF16 or FP8) GEMMs at size x."""
    gemm_flops: float
    """x: FLOPs of the largest per-layer GEMM per micro-batch per device."""

    @property
    def total_s(self) -> float:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, float]:
        return {
            "compute_s": self.compute_s,
            "nonmatmul_s": self.nonmatmul_s,
            "link_busy_s": self.link_busy_s,
            "overlap_tax_s": self.overlap_tax_s,
            "tp_comm_s": self.tp_comm_s,
            "cp_comm_s": self.cp_comm_s,
            "ep_comm_s": self.ep_comm_s,
            "pp_comm_s": self.pp_comm_s,
            "bubble_s": self.bubble_s,
            "dp_comm_exposed_s": self.dp_comm_exposed_s,
            "optimizer_s": self.optimizer_s,
        }


@dataclass(frozen=True, kw_only=True)
class _MicroBatch:
    """One micro-batch on the busiest stage [s]."""

    gemm: float
    dense_gemm: float
    """The part of ``gemm`` that TP collectives overlap (the layers' linear GEMMs)."""
    attention: float
    nonmatmul: float
    eta: float
    x: float

    @property
    def compute(self) -> float:
        return self.gemm + self.nonmatmul


@dataclass(frozen=True, kw_only=True)
class _Comm:
    """Communication of one micro-batch [s]: total, and how much of it is exposed."""

    total: float = 0.0
    exposed: float = 0.0
    tax: float = 0.0


def _overlapped(t_comm: float, window: float, sm_frac: float) -> _Comm:
    """Communication overlapped with ``window`` seconds of compute: the excess is exposed, the
    overlapped part takes ``sm_frac`` of the compute it runs beside."""
    hidden = min(t_comm, window)
    return _Comm(total=t_comm, exposed=t_comm - hidden, tax=sm_frac * hidden)


def _exposed(t_comm: float) -> _Comm:
    return _Comm(total=t_comm, exposed=t_comm)


def _sm_frac(link: Link, cal: Calibration) -> float:
    return cal.intra_sm_frac if link.name == "scale-up" else cal.inter_sm_frac


def _links(hw: HardwareSpec, cal: Calibration, lay: ParallelLayout) -> dict[str, Link]:
    """Links of each group, ranks ordered tp (innermost), cp, dp (ep inside it), pp."""
    links = {}
    if lay.tp > 1:
        links["tp"] = group_link(hw, cal, span=lay.tp, field="tp")
    if lay.cp > 1:
        links["cp"] = group_link(hw, cal, span=lay.tp * lay.cp, field="cp")
    if lay.dp > 1:
        links["dp"] = group_link(hw, cal, span=lay.tp * lay.cp * lay.dp, field="dp")
    if lay.pp > 1:
        links["pp"] = group_link(hw, cal, span=lay.n_devices, field="pp")
    return links


def _stage_share(n_layers: int, pp: int, layer_flops: float, logit_flops: float) -> tuple[float, float]:
    """(share of the layer FLOPs, share of the logit FLOPs) on the busiest stage.

    Layers go ceil(L/p) to a stage; the output layer fills the last stage's slack when the split
    is uneven, else it adds to the last stage: max(ceil(L/p)·layer, (L/p)·layer + logits).
    """
    if pp == 1:
        return 1.0, 1.0
    crowded = layers_per_stage(n_layers, pp) / n_layers
    if crowded * layer_flops >= layer_flops / pp + logit_flops:
        return crowded, 0.0
    return 1.0 / pp, 1.0


def _microbatch(m: ModelSpec, hw: HardwareSpec, cal: Calibration, lay: ParallelLayout, *, seq_len: int,
                precision: str, split: F.TrainFlopsSplit, imbalance: float) -> _MicroBatch:
    """Compute and memory-bound time of one micro-batch on the busiest stage [s]."""
    L = m.n_layers + m.n_encoder_layers
    tokens_mb = lay.micro_batch * seq_len / lay.cp
    tokens_dev = tokens_mb / lay.tp
    layer_share, logit_share = _stage_share(L, lay.pp, split.layers, split.logits)
    x = F.dense_gemm_flops(m, tokens_mb, lay.tp)
    x_e = F.expert_gemm_flops(m, tokens_dev, lay.ep, lay.etp) if m.moe is not None else x
    hi_prec = "bf16" if precision == "fp8" else precision
    eta_lo, eta_hi = train_eta(cal, x, precision), train_eta(cal, x, hi_prec)
    eta_e = train_eta(cal, x_e, precision)
    peak_lo, peak_hi = hw.peak(precision), hw.peak(hi_prec)
    dense = split.low_precision * tokens_dev * layer_share / (peak_lo * eta_lo)
    experts = split.experts * tokens_dev * layer_share * imbalance / (peak_lo * eta_e)
    attention = split.high_precision * tokens_dev * layer_share / (peak_hi * eta_hi)
    logits = split.logits * tokens_dev * logit_share / (peak_hi * eta_hi)
    layers = layers_per_stage(L, lay.pp)
    host = cal.train.t0_s + layers * cal.train.t0_per_layer_s
    nonmatmul = 0.0
    bw = hw.require("hbm_bytes_per_s")
    if cal.train.act_passes > 0:
        act = activation_traffic_bytes(m, seq_len / lay.cp, lay.micro_batch, layers=layers, precision=precision,
                                       tp=lay.tp, sequence_parallel=lay.sequence_parallel)
        nonmatmul += cal.train.act_passes * act / bw
    if lay.recompute == "selective":
        nonmatmul += selective_recompute_bytes(m, tokens_mb, lay.tp) * layers / bw
    if precision == "fp8":
        nonmatmul += _fp8_cast_bytes(m, tokens_dev, layers) / bw
    if m.moe is not None:
        moe_layers = layers * (m.n_layers - m.moe.first_dense_layers) / m.n_layers
        nonmatmul += PERMUTE_PASSES * PERMUTE_BYTES * m.moe.top_k * m.d_model * tokens_dev * moe_layers / bw
    gemm = dense + experts + attention + logits
    # host dispatch (t0 + layers x t0_per_layer) hides behind device work where the host runs
    # ahead (GPUs, host_overlap_frac > 0) and adds to it on a CPU (dcplan.model.launch)
    nonmatmul = with_host(gemm + nonmatmul, host, cal.train.host_overlap_frac) - gemm
    return _MicroBatch(gemm=gemm, dense_gemm=dense + experts, attention=attention,
                       nonmatmul=nonmatmul, eta=eta_lo, x=x)


def _fp8_cast_bytes(m: ModelSpec, tokens: float, layers: int) -> float:
    """Bytes FP8 casts move per micro-batch: every FP8 GEMM's activation input (forward) and
    output gradient (backward) is quantized once [bytes]."""
    f = m.moe.d_ff_expert * (m.moe.top_k + m.moe.n_shared_experts) if m.moe is not None else m.d_ff
    inputs_per_token = 3 * m.d_model + m.n_heads * m.d_head + f  # qkv in, proj in, fc1 in, fc2 in
    return 2 * FP8_CAST_BYTES * inputs_per_token * tokens * layers


def _tp_comm(m: ModelSpec, lay: ParallelLayout, links: dict[str, Link], mb: _MicroBatch, cal: Calibration,
             overlap: OverlapSpec, tokens_mb: float) -> _Comm:
    if "tp" not in links:
        return _Comm()
    link = links["tp"]
    n_coll = 4 + (2 if lay.recompute == "full" else 0)
    layers = layers_per_stage(m.n_layers + m.n_encoder_layers, lay.pp)
    t = layers * n_coll * collective_time("all_reduce", tokens_mb * m.d_model * 2.0, lay.tp, link)
    return _overlapped(t, mb.dense_gemm, _sm_frac(link, cal)) if overlap.tp_comm else _exposed(t)


def _cp_comm(m: ModelSpec, lay: ParallelLayout, links: dict[str, Link], mb: _MicroBatch, cal: Calibration,
             tokens_mb: float) -> _Comm:
    if "cp" not in links:
        return _Comm()
    link = links["cp"]
    kv = tokens_mb * 2 * m.kv_heads * m.d_head * 2.0 / lay.tp
    layers = layers_per_stage(m.n_layers + m.n_encoder_layers, lay.pp)
    t = layers * (collective_time("all_gather", kv, lay.cp, link) + collective_time("reduce_scatter", kv, lay.cp, link))
    return _overlapped(t, mb.attention, _sm_frac(link, cal))


def _ep_comm(m: ModelSpec, hw: HardwareSpec, lay: ParallelLayout, mb: _MicroBatch, cal: Calibration,
             routing: MoERouting, precision: str, tokens_mb: float) -> _Comm:
    if m.moe is None or lay.ep <= 1:
        return _Comm()
    layers = layers_per_stage(m.n_layers, lay.pp)
    moe_layers = layers * (m.n_layers - m.moe.first_dense_layers) / m.n_layers
    dispatch = routing.dispatch_bytes or (FP8_DISPATCH_BYTES if precision == "fp8" else 2.0)
    tokens = tokens_mb / lay.tp
    # consecutive accelerators the expert-parallel group covers: ep groups of etp x cp ranks
    # when experts are tensor-parallel like the rest, ep ranks in a row when EP spans TP
    span = lay.ep * lay.etp * lay.cp if lay.etp == lay.tp else lay.ep

    def a2a(elem: float) -> float:
        return expert_all_to_all_time(tokens, elem, m.d_model, m.moe.top_k, lay.ep, span, hw, cal,  # type: ignore[union-attr]
                                      node_limit=routing.node_limit)

    # forward dispatch and the backward's gradient dispatch at the dispatch precision; both
    # combines in BF16 (DeepSeek-V3 §3.3.2)
    t = moe_layers * 2 * (a2a(dispatch) + a2a(routing.combine_bytes))
    if lay.schedule == "1f1b":
        return _exposed(t)
    # overlapped with another micro-batch's compute (1F1B overlap) or the paired chunk (DualPipe);
    # the SMs reserved for it are taken from all compute, overlapped or not
    hidden = min(t, mb.compute)
    return _Comm(total=t, exposed=t - hidden, tax=cal.ep_sm_frac / (1 - cal.ep_sm_frac) * mb.compute)


def _pp_comm(m: ModelSpec, lay: ParallelLayout, links: dict[str, Link], mb: _MicroBatch, cal: Calibration,
             overlap: OverlapSpec, tokens_mb: float) -> _Comm:
    if "pp" not in links:
        return _Comm()
    link = links["pp"]
    msg = tokens_mb * m.d_model * 2.0 / (lay.tp if lay.sequence_parallel else 1)
    t = 2 * lay.vpp * collective_time("send_recv", msg, 2, link)
    return _overlapped(t, mb.compute, _sm_frac(link, cal)) if overlap.pp_comm else _exposed(t)


def _dp_comm(counts: ParamCounts, m: ModelSpec, lay: ParallelLayout, links: dict[str, Link], mb: _MicroBatch,
             cal: Calibration, overlap: OverlapSpec, precision: str, n_mb: int, sync: GradSync) -> _Comm:
    """Gradient reduce and parameter gather of one step: dense parameters over dp x cp (they
    are replicated over context-parallel ranks too), expert parameters over their
    expert-data-parallel group edp. Gradients are reduced at ``sync.grad_bytes`` per element
    (fp32 in Megatron-LM and torchtitan by default), weights gathered at their own bytes or
    ``sync.param_gather_bytes``."""
    if "dp" not in links:
        return _Comm()
    link = links["dp"]
    dense, expert = params_on_device(counts, m, lay)
    w_b = sync.param_gather_bytes or state_bytes_per_param(precision)[0]
    g_b = max(sync.grad_bytes, state_bytes_per_param(precision)[1])
    groups = ((dense, lay.dp * lay.cp), (expert, lay.edp))
    sm = _sm_frac(link, cal)
    if lay.zero == 3:
        # FSDP: gather weights for forward and backward, reduce-scatter gradients, every
        # micro-batch, prefetched under that micro-batch's compute
        per_mb = sum(2 * collective_time("all_gather", p * w_b, n, link) + collective_time("reduce_scatter", p * g_b, n, link)
                     for p, n in groups)
        one = _overlapped(per_mb, mb.compute, sm)
        return _Comm(total=n_mb * one.total, exposed=n_mb * one.exposed, tax=n_mb * one.tax)
    if lay.zero == 0:
        reduce = sum(collective_time("all_reduce", p * g_b, n, link) for p, n in groups)
        gather = 0.0
    else:
        # distributed optimizer: reduce-scatter gradients, all-gather updated bf16 parameters
        reduce = sum(collective_time("reduce_scatter", p * g_b, n, link) for p, n in groups)
        gather = sum(collective_time("all_gather", p * w_b, n, link) for p, n in groups)
    red = _overlapped(reduce, BACKWARD_SHARE * mb.compute, sm) if overlap.grad_reduce else _exposed(reduce)
    gat = _overlapped(gather, (1 - BACKWARD_SHARE) * mb.compute, sm) if overlap.param_gather else _exposed(gather)
    return _Comm(total=red.total + gat.total, exposed=red.exposed + gat.exposed, tax=red.tax + gat.tax)


def _optimizer_time(counts: ParamCounts, m: ModelSpec, hw: HardwareSpec, cal: Calibration, lay: ParallelLayout,
                    precision: str, n_mb: int) -> float:
    """Adam update of this device's shard at HBM bandwidth [+ dense embedding-gradient passes]."""
    dense, expert = params_on_device(counts, m, lay)
    shard = dense / (lay.dp * lay.cp if lay.zero >= 1 else 1) + expert / (lay.edp if lay.zero >= 1 else 1)
    bw = hw.require("hbm_bytes_per_s")
    t = shard * ADAM_UPDATE_BYTES_PER_PARAM * cal.optimizer_bytes_factor / (bw * cal.decode_bw_frac)
    if cal.embedding_grad_passes > 0:
        # the dense gradient of the token embedding (zeroed, scatter-added, accumulated with the
        # tied output layer's) is streamed every micro-batch, whatever the tokens
        _, g_b, _ = state_bytes_per_param(precision)
        t += n_mb * cal.embedding_grad_passes * counts.embedding / lay.tp * g_b / bw
    return t


def _link_busy_s(hw: HardwareSpec, lay: ParallelLayout, links: dict[str, Link], *, tp: _Comm, cp: _Comm, ep: _Comm,
                 pp: _Comm, dp_hidden_mb: float) -> float:
    """Seconds the busiest link carries per micro-batch [s].

    Overlapped collectives on the same link share its bandwidth: a micro-batch can take no less
    time than its busiest link needs, however well each collective alone hides under compute.
    """
    load: dict[str, float] = {}
    for name, c in (("tp", tp), ("cp", cp), ("pp", pp)):
        if name in links:
            load[links[name].name] = load.get(links[name].name, 0.0) + c.total
    if "dp" in links:
        load[links["dp"].name] = load.get(links["dp"].name, 0.0) + dp_hidden_mb
    if ep.total:
        span = lay.ep * lay.etp * lay.cp if lay.etp == lay.tp else lay.ep
        key = "scale-out" if span > node_size(hw) else "scale-up"
        load[key] = load.get(key, 0.0) + ep.total
    return max(load.values(), default=0.0)


def microbatch_compute_s(m: ModelSpec, hw: HardwareSpec, cal: Calibration, lay: ParallelLayout, *, seq_len: int,
                         precision: str, routing: MoERouting | None = None) -> float:
    """Compute time of one micro-batch on the busiest stage, no communication [s]: the floor
    a layout search bounds candidates with."""
    split = F.train_flops_split(m, seq_len, lay.recompute)
    return _microbatch(m, hw, cal, lay, seq_len=seq_len, precision=precision, split=split,
                       imbalance=moe_load_factor(cal, routing or MoERouting())).compute


def moe_load_factor(cal: Calibration, routing: MoERouting) -> float:
    """Most-loaded / mean expert work: 1 when balanced, the capacity factor when padded."""
    if routing.policy == "balanced":
        return 1.0
    if routing.policy == "capacity":
        return routing.capacity_factor
    return cal.moe_imbalance


def train_step_time(
    m: ModelSpec,
    counts: ParamCounts,
    hw: HardwareSpec,
    cal: Calibration,
    lay: ParallelLayout,
    *,
    seq_len: int,
    global_batch: int,
    precision: str,
    hfu_flops_per_token: float | None = None,
    overlap: OverlapSpec | None = None,
    routing: MoERouting | None = None,
    grad_sync: GradSync | None = None,
) -> StepTime:
    """Time of one optimizer step of ``global_batch`` sequences on layout ``lay`` [s].

    ``hfu_flops_per_token`` overrides the hardware FLOPs (all counted as FP8-able GEMMs; the
    profile calibration uses it for models the catalog split does not describe).
    ``grad_sync`` sets the bytes of the data-parallel reduce and gather (:class:`GradSync`:
    fp32 gradients by default, as Megatron-LM and torchtitan reduce them).
    """
    overlap = overlap or OverlapSpec()
    routing = routing or MoERouting()
    n_mb = max(1, global_batch // lay.dp // lay.micro_batch)
    if hfu_flops_per_token is None:
        split = F.train_flops_split(m, seq_len, lay.recompute)
    else:
        split = F.TrainFlopsSplit(low_precision=hfu_flops_per_token, experts=0.0, high_precision=0.0)
    mb = _microbatch(m, hw, cal, lay, seq_len=seq_len, precision=precision, split=split,
                     imbalance=moe_load_factor(cal, routing))
    tokens_mb = lay.micro_batch * seq_len / lay.cp
    links = _links(hw, cal, lay)
    tp = _tp_comm(m, lay, links, mb, cal, overlap, tokens_mb)
    cp = _cp_comm(m, lay, links, mb, cal, tokens_mb)
    ep = _ep_comm(m, hw, lay, mb, cal, routing, precision, tokens_mb)
    pp = _pp_comm(m, lay, links, mb, cal, overlap, tokens_mb)
    per_mb = (tp, cp, ep, pp)
    tax_mb = sum(c.tax for c in per_mb)
    stage_mb = mb.compute + tax_mb + sum(c.exposed for c in per_mb)
    bubble = bubble_microbatches(lay.pp, lay.vpp, lay.schedule) * stage_mb
    dp = _dp_comm(counts, m, lay, links, mb, cal, overlap, precision, n_mb, grad_sync or GradSync())
    busy = _link_busy_s(hw, lay, links, tp=tp, cp=cp, ep=ep, pp=pp, dp_hidden_mb=(dp.total - dp.exposed) / n_mb)
    return StepTime(
        compute_s=n_mb * mb.gemm,
        nonmatmul_s=n_mb * mb.nonmatmul,
        link_busy_s=n_mb * max(0.0, busy - stage_mb),
        overlap_tax_s=n_mb * tax_mb + dp.tax,
        tp_comm_s=n_mb * tp.exposed,
        cp_comm_s=n_mb * cp.exposed,
        ep_comm_s=n_mb * ep.exposed,
        pp_comm_s=n_mb * pp.exposed,
        bubble_s=bubble,
        dp_comm_exposed_s=dp.exposed,
        optimizer_s=_optimizer_time(counts, m, hw, cal, lay, precision, n_mb),
        hidden_comm_s=n_mb * sum(c.total - c.exposed for c in per_mb) + dp.total - dp.exposed,
        n_microbatches=n_mb,
        eta=mb.eta,
        gemm_flops=mb.x,
    )


__all__ = ["ADAM_UPDATE_BYTES_PER_PARAM", "BACKWARD_SHARE", "StepTime", "microbatch_compute_s", "moe_load_factor", "train_step_time"]
