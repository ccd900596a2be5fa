"""Time of inference phases on a given layout (training steps: :mod:`dcplan.model.train_time`).

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

from dcplan.model import flops as F
from dcplan.model.comm import Link, collective_time, group_link
from dcplan.model.efficiency import compute_eta
from dcplan.model.launch import decode_overhead_s, with_host
from dcplan.model.memory import activation_traffic_bytes, kv_bytes_per_token
from dcplan.model.params import ParamCounts
from dcplan.model.train_time import StepTime, train_step_time
from dcplan.specs import BYTES_PER_ELEMENT, Calibration, HardwareSpec, ModelSpec

__all__ = ["StepTime", "compute_eta", "decode_step_time", "experts_touched_frac", "prefill_time", "train_step_time"]


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
