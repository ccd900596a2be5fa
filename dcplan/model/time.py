"""Time of a training step and of inference phases on a given layout.

Training step (Narayanan et al. 2021 §5.1; NCCL-tests PERFORMANCE.md for the collectives):
  t_microbatch = FLOPs_dev / (peak · eta_gemm(x) · eta_train(x)) + t0 + TP/CP/EP/PP comm
                 [+ layers · t0_per_layer + act_passes · activation bytes / BW: calibrated
                  profiles only, both 0 in the shipped defaults; the overheads t0 + layers ·
                  t0_per_layer are host dispatch, hidden behind device work on a GPU
                  (host_overlap_frac, dcplan.model.launch.with_host)]
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
  t_decode(B) = t_dev ⊕ t_host + TP comm, t_dev = max(bytes(B)/(BW·f_bw), FLOPs(B)/(peak·eta)),
  t_host = t_step + layers · kernels/layer · t_kernel per implementation (eager, CUDA graphs),
  a ⊕ b = a + b − overlap·min(a, b) (dcplan.model.launch; overlap 1 on GPUs: the longer wins);
  without a fitted implementation t_host = t0 + layers · t0_per_layer, added,
  eta = eta_gemm(x) · eta_prefill(x) [or eta_decode(B), a calibrated curve in tokens per step],
  bytes(B) = weights (MoE: the experts B tokens touch) + B · KV bytes/token · context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dcplan.model import flops as F
from dcplan.model.comm import Link, collective_time, group_link
from dcplan.model.launch import decode_overhead_s, with_host
from dcplan.model.memory import activation_traffic_bytes, kv_bytes_per_token, params_on_device, state_bytes_per_param
from dcplan.model.params import ParamCounts
from dcplan.specs import BYTES_PER_ELEMENT, Calibration, HardwareSpec, ModelSpec, ParallelLayout

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
    t_dev_mb = flops_mb / (peak * eta)
    if cal.train.act_passes > 0:
        act = activation_traffic_bytes(m, seq_len / lay.cp, lay.micro_batch, layers=layers, precision=precision,
                                       tp=lay.tp, sequence_parallel=lay.sequence_parallel)
        t_dev_mb += cal.train.act_passes * act / hw.require("hbm_bytes_per_s")
    t_mb = with_host(t_dev_mb, overhead_mb, cal.train.host_overlap_frac)
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
            dp_exposed = max(0.0, t_dp - BACKWARD_SHARE * t_dev_mb)
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
) -> float:
    """Seconds to prefill ``batch`` prompts of ``prompt_len`` tokens on a tp-way replica [s]."""
    peak = hw.peak(precision)
    tokens = batch * prompt_len
    x = F.largest_layer_gemm_flops(m, tokens, tp)
    t_compute = F.prefill_flops(m, batch, prompt_len) / tp / (peak * compute_eta(cal, x, "prefill"))
    t_weights = counts.total * BYTES_PER_ELEMENT[precision] / tp / (hw.require("hbm_bytes_per_s") * cal.decode_bw_frac)
    layers = m.n_layers + m.n_encoder_layers
    t = max(t_compute, t_weights)
    if cal.prefill.act_passes > 0:
        act = activation_traffic_bytes(m, prompt_len, batch, layers=layers, precision=precision, tp=tp, logit_positions=batch)
        t += cal.prefill.act_passes * act / hw.require("hbm_bytes_per_s")
    t = with_host(t, cal.prefill.t0_s + layers * cal.prefill.t0_per_layer_s, cal.prefill.host_overlap_frac)
    link = _tp_link(hw, cal, tp)
    if link is not None:
        msg = tokens * m.d_model * 2.0
        t += (m.n_layers + m.n_encoder_layers) * 2 * collective_time("all_reduce", msg, tp, link)
    return t


def experts_touched_frac(m: ModelSpec, tokens: float) -> float:
    """Expected share of routed experts that ``tokens`` tokens activate (uniform routing)."""
    if m.moe is None:
        return 1.0
    k, e = m.moe.top_k, m.moe.n_experts
    return 1.0 - (1.0 - k / e) ** tokens


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
    impl: str | None = None,
) -> tuple[float, str]:
    """(seconds, bound) for one decode step generating a token for each of ``batch`` sequences.

    ``impl`` (eager, cuda-graphs; default the calibration's) selects the host dispatch overhead
    (:func:`dcplan.model.launch.decode_overhead_s`)."""
    bw = hw.require("hbm_bytes_per_s") * cal.decode_bw_frac
    w_elem = BYTES_PER_ELEMENT[precision]
    weights = (counts.total - counts.experts_routed * (1.0 - experts_touched_frac(m, batch))) * w_elem / tp
    kv = batch * kv_bytes_per_token(m, precision, tp) * context_len
    t_mem = (weights + kv) / bw
    x = F.largest_layer_gemm_flops(m, batch, tp)
    if cal.decode_compute is not None:
        eta = cal.decode_compute.eta(batch)
    else:
        eta = compute_eta(cal, x, "prefill")
    t_comp = batch * F.decode_flops_per_token(m, context_len) / tp / (hw.peak(precision) * eta) if eta > 0 else math.inf
    bound = "memory" if t_mem >= t_comp else "compute"
    t_dev = max(t_mem, t_comp)
    t = t_dev + decode_overhead_s(m, cal, t_dev, impl=impl, cross_attention=m.architecture == "encoder-decoder")
    link = _tp_link(hw, cal, tp)
    if link is not None:
        t += m.n_layers * 2 * collective_time("all_reduce", batch * m.d_model * 2.0, tp, link)
    return t, bound
