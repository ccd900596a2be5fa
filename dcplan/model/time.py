"""Time of a training step and of inference phases on a given layout.

Training step (per performance-methods.md §3.2-3.4):
  t_microbatch = FLOPs_dev / (peak · eta_gemm(x) · eta_train(x)) + t0 + TP/CP/EP/PP comm
                 [+ layers · t0_per_layer + act_passes · activation bytes / BW: calibrated
                  profiles only, both 0 in the shipped defaults]
  t_step       = (m + (p − 1)/v) · t_microbatch        (1F1B bubble with v interleaved chunks,
                                                          Narayanan et al. 2021 §2.2)
               + max(0, t_dp − ⅔ · t_compute_mb)        (gradient sync overlapped with the last
                                                          micro-batch's backward, DDP buckets)
               + t_optimizer                            (bandwidth-bound Adam update [+ dense
                                                          embedding-gradient passes, calibrated])
Inference (scaling-book "inference"; llm-analysis): prefill is compute-bound,
  t_prefill = max(FLOPs/(peak·eta), weight bytes/BW) + t0 [+ layers · t0_per_layer
              + act_passes · activation bytes / BW] + TP comm;
decode is bandwidth-bound,
  t_decode(B) = max(bytes(B)/(BW·f_bw), FLOPs(B)/(peak·eta)) + t0 [+ layers · t0_per_layer]
                + TP all-reduce + EP all-to-all [+ pp sends],
  eta = eta_gemm(x) · eta_prefill(x) [or eta_decode(B), a calibrated curve in tokens per step],
  bytes(B) = weights (MoE: the experts B tokens touch) + B · KV bytes/token · context,
per accelerator of a serving layout (tp, pp, ep, attention data parallelism: model/serving.py).
A serving stack's fitted parameters (f_bw, the prefill efficiency, t0) come in ``cal``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dcplan.model import flops as F
from dcplan.model import serving as S
from dcplan.model.comm import Link, collective_time, group_link
from dcplan.model.memory import activation_traffic_bytes, params_on_device, state_bytes_per_param
from dcplan.model.params import ParamCounts
from dcplan.model.serving import ServingLayout
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, ParallelLayout

#: Bytes an Adam update moves per parameter: reads fp32 master, m, v (12 B) and the bf16
#: gradient (2 B), writes master, m, v (12 B) and the bf16 weight (2 B). Derived here.
ADAM_UPDATE_BYTES_PER_PARAM = 28.0
#: Share of a micro-batch's compute that is backward, which gradient sync can hide behind
#: (backward = 2 of the 3 GEMM passes).
BACKWARD_SHARE = 2.0 / 3.0


@dataclass(frozen=True, kw_only=True)
class StepTime:
    """One training step on one replica, by part [s]."""

    compute_s: float
    """Compute of all micro-batches on one device (no bubble)."""
    tp_comm_s: float
    cp_comm_s: float
    ep_comm_s: float
    pp_comm_s: float
    bubble_s: float
    dp_comm_exposed_s: float
    optimizer_s: float
    n_microbatches: int
    eta: float
    """Compute efficiency used: eta_gemm(x) · eta_train(x)."""
    gemm_flops: float
    """x: FLOPs of the largest per-layer GEMM per micro-batch per device."""

    @property
    def total_s(self) -> float:
        return (
            self.compute_s
            + self.tp_comm_s
            + self.cp_comm_s
            + self.ep_comm_s
            + self.pp_comm_s
            + self.bubble_s
            + self.dp_comm_exposed_s
            + self.optimizer_s
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "compute_s": self.compute_s,
            "tp_comm_s": self.tp_comm_s,
            "cp_comm_s": self.cp_comm_s,
            "ep_comm_s": self.ep_comm_s,
            "pp_comm_s": self.pp_comm_s,
            "bubble_s": self.bubble_s,
            "dp_comm_exposed_s": self.dp_comm_exposed_s,
            "optimizer_s": self.optimizer_s,
        }


def compute_eta(cal: Calibration, x: float, phase: str) -> float:
    """Efficiency relative to dense peak at per-layer GEMM size ``x``: eta_gemm · eta_phase."""
    rel = cal.train if phase == "train" else cal.prefill
    return cal.gemm.eta(x) * rel.eta(x)


def _links(hw: HardwareSpec, cal: Calibration, lay: ParallelLayout) -> dict[str, Link]:
    """Links of each group, ranks ordered tp (innermost), cp, dp (ep inside it), pp."""
    links = {}
    if lay.tp > 1:
        links["tp"] = group_link(hw, cal, span=lay.tp, field="tp")
    if lay.cp > 1:
        links["cp"] = group_link(hw, cal, span=lay.tp * lay.cp, field="cp")
    if lay.ep > 1:
        links["ep"] = group_link(hw, cal, span=lay.tp * lay.cp * lay.ep, field="ep")
    if lay.dp > 1:
        links["dp"] = group_link(hw, cal, span=lay.tp * lay.cp * lay.dp, field="dp")
    if lay.pp > 1:
        links["pp"] = group_link(hw, cal, span=lay.n_devices, field="pp")
    return links


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
    hfu_flops_per_token: float,
) -> StepTime:
    """Time of one optimizer step of ``global_batch`` sequences on layout ``lay``."""
    per_replica = global_batch // lay.dp
    n_mb = max(1, per_replica // lay.micro_batch)
    peak = hw.peak(precision)
    act_b = 4.0 if precision in ("fp32", "tf32") else 2.0
    tokens_mb = lay.micro_batch * seq_len / lay.cp
    x = F.largest_layer_gemm_flops(m, tokens_mb, lay.tp)
    eta = compute_eta(cal, x, "train")
    flops_mb = hfu_flops_per_token * lay.micro_batch * seq_len / (lay.tp * lay.pp * lay.cp)
    links = _links(hw, cal, lay)
    layers = math.ceil((m.n_layers + m.n_encoder_layers) / lay.pp)
    overhead_mb = cal.train.t0_s + layers * cal.train.t0_per_layer_s
    t_mb = flops_mb / (peak * eta) + overhead_mb
    if cal.train.act_passes > 0:
        act = activation_traffic_bytes(m, seq_len / lay.cp, lay.micro_batch, layers=layers, precision=precision,
                                       tp=lay.tp, sequence_parallel=lay.sequence_parallel)
        t_mb += cal.train.act_passes * act / hw.require("hbm_bytes_per_s")
    msg = tokens_mb * m.d_model * act_b

    tp_mb = 0.0
    if "tp" in links:
        n_ar = 4 + (2 if lay.recompute == "full" else 0)
        tp_mb = layers * n_ar * collective_time("all_reduce", msg, lay.tp, links["tp"])
    cp_mb = 0.0
    if "cp" in links:
        kv = tokens_mb * 2 * m.kv_heads * m.d_head * act_b / lay.tp
        cp_mb = layers * (
            collective_time("all_gather", kv, lay.cp, links["cp"])
            + collective_time("reduce_scatter", kv, lay.cp, links["cp"])
        )
    ep_mb = 0.0
    if "ep" in links and m.moe is not None:
        moe_layers = math.ceil((m.n_layers - m.moe.first_dense_layers) / lay.pp)
        a2a = msg * m.moe.top_k / lay.tp
        ep_mb = moe_layers * 4 * collective_time("all_to_all", a2a, lay.ep, links["ep"])
    pp_mb = 0.0
    if "pp" in links:
        pp_mb = 2 * lay.vpp * collective_time("send_recv", msg / (lay.tp if lay.sequence_parallel else 1), 2, links["pp"])

    stage_mb = t_mb + tp_mb + cp_mb + ep_mb + pp_mb
    bubble = (lay.pp - 1) / lay.vpp * stage_mb

    dense, expert = params_on_device(counts, m, lay)
    _, g_b, _ = state_bytes_per_param(precision)
    dp_exposed = 0.0
    if "dp" in links:
        link = links["dp"]
        groups = ((dense, lay.dp), (expert, lay.dp // lay.ep))
        if lay.zero == 3:
            per_mb = sum(
                2 * collective_time("all_gather", p * g_b, n, link) + collective_time("reduce_scatter", p * g_b, n, link)
                for p, n in groups
            )
            dp_exposed = n_mb * max(0.0, per_mb - t_mb)
        else:
            t_dp = sum(collective_time("all_reduce", p * g_b, n, link) for p, n in groups)
            dp_exposed = max(0.0, t_dp - BACKWARD_SHARE * (t_mb - overhead_mb))
    shard = (dense / (lay.dp if lay.zero >= 1 else 1)) + (expert / max(1, lay.dp // lay.ep if lay.zero >= 1 else 1))
    t_opt = shard * ADAM_UPDATE_BYTES_PER_PARAM * cal.optimizer_bytes_factor / (hw.require("hbm_bytes_per_s") * cal.decode_bw_frac)
    if cal.embedding_grad_passes > 0:
        # the dense gradient of the token embedding (zeroed, scatter-added, accumulated with the
        # tied output layer's) is streamed every micro-batch, whatever the tokens
        embed = counts.embedding / lay.tp
        t_mb_embed = cal.embedding_grad_passes * embed * g_b / hw.require("hbm_bytes_per_s")
        t_opt += n_mb * t_mb_embed

    return StepTime(
        compute_s=n_mb * t_mb,
        tp_comm_s=n_mb * tp_mb,
        cp_comm_s=n_mb * cp_mb,
        ep_comm_s=n_mb * ep_mb,
        pp_comm_s=n_mb * pp_mb,
        bubble_s=bubble,
        dp_comm_exposed_s=dp_exposed,
        optimizer_s=t_opt,
        n_microbatches=n_mb,
        eta=eta,
        gemm_flops=x,
    )


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------


def _tp_link(hw: HardwareSpec, cal: Calibration, tp: int) -> Link | None:
    return group_link(hw, cal, span=tp, field="tp") if tp > 1 else None


def _serving_comm_s(m: ModelSpec, hw: HardwareSpec, cal: Calibration, lay: ServingLayout, *, tokens: float,
                    precision: str, layers: int, busy_s: float) -> float:
    """Communication of one pass of ``tokens`` replica tokens through every layer [s].

    Tensor parallelism: 2 all-reduces per layer of the tokens' activations (Megatron-LM); under
    attention data parallelism none. Expert parallelism: a dispatch and a combine all-to-all per
    MoE layer (:func:`~dcplan.model.serving.ep_all_to_all_s`, DeepEP), of which
    ``cal.ep_overlap_frac`` hides behind the pass's ``busy_s`` of compute or memory time (two
    micro-batches alternating: DeepSeek-V3/R1 inference system overview; SGLang two-batch
    overlap). Pipeline: one send per stage boundary. TP and PP traffic is not overlapped.
    """
    t = 0.0
    if lay.attn_shards > 1:
        link = group_link(hw, cal, span=lay.tp, field="tp")
        t += layers * 2 * collective_time("all_reduce", tokens / lay.pp * m.d_model * 2.0, lay.tp, link) * lay.pp
    dispatch, combine = S.ep_messages(m, lay, tokens / lay.pp, precision)
    if dispatch > 0:
        link = group_link(hw, cal, span=lay.tp, field="ep")
        per_layer = S.ep_all_to_all_s(dispatch, lay.ep, link) + S.ep_all_to_all_s(combine, lay.ep, link)
        ep_s = S.moe_layers(m) * per_layer * lay.pp
        t += ep_s - cal.ep_overlap_frac * min(ep_s, busy_s)
    if lay.pp > 1:
        link = group_link(hw, cal, span=lay.devices, field="pp")
        t += lay.pp * collective_time("send_recv", tokens / lay.pp / lay.attn_groups * m.d_model * 2.0, 2, link)
    return t


def _compute_s(hw: HardwareSpec, cal: Calibration, work: S.DecodeWork | S.PrefillWork, precision: str, kv_precision: str) -> float:
    """Compute time of a serving pass [s]: dense GEMMs at eta(x_dense), routed experts at
    eta(x_expert) · moe_eta_frac, the attention core in its own precision at eta(x_dense) ·
    attn_eta_frac; all scaled by the stack's efficiency in ``precision`` (``precision_eta_frac``)
    and the chip's sustained share of its datasheet compute in the stack (``chip_eta_frac``)."""
    frac = cal.precision_eta_frac.get(precision, 1.0) * cal.chip_eta_frac
    eta_dense = compute_eta(cal, work.gemm_flops, "prefill") * frac
    if eta_dense <= 0:
        return math.inf
    peak = hw.peak(precision)
    t = work.dense_flops / (peak * eta_dense)
    if work.routed_flops > 0:
        eta_exp = compute_eta(cal, work.expert_gemm_flops, "prefill") * frac * cal.moe_eta_frac
        t += work.routed_flops / (peak * eta_exp) if eta_exp > 0 else math.inf
    attn_prec = S.attention_precision(hw.peak_flops_per_s, precision, kv_precision)
    return t + work.attn_flops / (hw.peak(attn_prec) * eta_dense * cal.attn_eta_frac)


def prefill_time(
    m: ModelSpec,
    counts: ParamCounts,
    hw: HardwareSpec,
    cal: Calibration,
    *,
    tp: int,
    batch: int,
    prompt_len: int,
    precision: str,
    layout: ServingLayout | None = None,
    kv_precision: str | None = None,
) -> float:
    """Seconds to prefill ``batch`` prompts of ``prompt_len`` tokens on a replica [s].

    ``layout`` (default: ``tp`` accelerators sharding attention) spreads the work over the
    replica; every accelerator reads its weights once for the chunk. The attention core runs in
    :func:`~dcplan.model.serving.attention_precision` of ``kv_precision`` (default
    ``precision``).
    """
    lay = layout or ServingLayout(tp=tp)
    work = S.prefill_work(m, counts, lay, batch=batch, prompt_len=prompt_len, precision=precision)
    t_compute = _compute_s(hw, cal, work, precision, kv_precision or precision)
    t_weights = work.weight_bytes / (hw.require("hbm_bytes_per_s") * cal.decode_bw_frac)
    layers = m.n_layers + m.n_encoder_layers
    busy = max(t_compute, t_weights)
    t = busy + cal.prefill.t0_s + layers * cal.prefill.t0_per_layer_s
    if cal.prefill.act_passes > 0:
        act = activation_traffic_bytes(m, prompt_len, batch, layers=layers, precision=precision, tp=lay.tp, logit_positions=batch)
        t += cal.prefill.act_passes * act / hw.require("hbm_bytes_per_s")
    return t + _serving_comm_s(m, hw, cal, lay, tokens=work.tokens, precision=precision, layers=layers, busy_s=busy)


def experts_touched_frac(m: ModelSpec, tokens: float) -> float:
    """Expected share of routed experts that ``tokens`` tokens activate (uniform routing)."""
    return S.experts_touched_frac(m, tokens)


def decode_step_time(
    m: ModelSpec,
    counts: ParamCounts,
    hw: HardwareSpec,
    cal: Calibration,
    *,
    tp: int,
    batch: int,
    context_len: float,
    precision: str,
    layout: ServingLayout | None = None,
    kv_precision: str | None = None,
) -> tuple[float, str]:
    """(seconds, bound) for one decode step generating a token for each of ``batch`` sequences.

    ``layout`` (default: ``tp`` accelerators sharding attention) says how weights, cache and
    work are spread (:mod:`dcplan.model.serving`); ``kv_precision`` is the cache's element type
    (default: ``precision``). With pp stages a step is pp micro-batch passes, each paying the
    per-step overhead.
    """
    lay = layout or ServingLayout(tp=tp)
    work = S.decode_work(m, counts, lay, batch=batch, context_len=context_len, precision=precision,
                         kv_precision=kv_precision or precision)
    bw = hw.require("hbm_bytes_per_s") * cal.decode_bw_frac
    t_mem = (work.weight_bytes + work.kv_bytes) / bw
    if cal.decode_compute is not None:
        eta = cal.decode_compute.eta(batch)
        t_comp = (work.flops + work.attn_flops) / (hw.peak(precision) * eta) if eta > 0 else math.inf
    else:
        t_comp = _compute_s(hw, cal, work, precision, kv_precision or precision)
    bound = "memory" if t_mem >= t_comp else "compute"
    t = max(t_mem, t_comp) + cal.decode_t0_s + m.n_layers * cal.decode_t0_per_layer_s
    t += (lay.pp - 1) * cal.decode_t0_s
    t += _serving_comm_s(m, hw, cal, lay, tokens=batch, precision=precision, layers=m.n_layers, busy_s=max(t_mem, t_comp))
    return t, bound
