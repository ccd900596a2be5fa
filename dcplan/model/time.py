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
  bytes(B) = weights (MoE: the experts B tokens touch) + B · KV bytes/token · context,
per accelerator of a serving layout (tp, pp, ep, attention data parallelism: model/serving.py),
plus TP all-reduces, EP all-to-alls (partly hidden by two-batch overlap) and pp sends. A serving
stack's fitted parameters (f_bw, the prefill efficiency, t0, the MoE, attention, precision and
chip efficiency factors) come in ``cal``.
"""

from __future__ import annotations

import math

from dcplan.model import serving as S
from dcplan.model.comm import collective_time, group_link
from dcplan.model.efficiency import compute_eta
from dcplan.model.launch import decode_overhead_s, with_host
from dcplan.model.memory import activation_traffic_bytes
from dcplan.model.params import ParamCounts
from dcplan.model.serving import ServingLayout
from dcplan.model.train_time import StepTime, train_step_time
from dcplan.specs import Calibration, HardwareSpec, ModelSpec

__all__ = ["StepTime", "compute_eta", "decode_step_time", "experts_touched_frac", "prefill_time", "train_step_time"]


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------


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
    attn_prec = S.attention_precision(hw.peak_flops_per_s, precision, kv_precision)
    attn_rate = hw.peak(attn_prec) * eta_dense * cal.attn_eta_frac
    if isinstance(work, S.PrefillWork) and work.routed_flops == 0 and attn_rate == peak * eta_dense:
        return work.all_flops / (peak * eta_dense)  # one rate for all: one division, as the dense formula
    t = work.dense_flops / (peak * eta_dense)
    if work.routed_flops > 0:
        eta_exp = compute_eta(cal, work.expert_gemm_flops, "prefill") * frac * cal.moe_eta_frac
        t += work.routed_flops / (peak * eta_exp) if eta_exp > 0 else math.inf
    return t + work.attn_flops / attn_rate


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
    t = busy
    if cal.prefill.act_passes > 0:
        act = activation_traffic_bytes(m, prompt_len, batch, layers=layers, precision=precision, tp=lay.tp, logit_positions=batch)
        t += cal.prefill.act_passes * act / hw.require("hbm_bytes_per_s")
    t = with_host(t, cal.prefill.t0_s + layers * cal.prefill.t0_per_layer_s, cal.prefill.host_overlap_frac)
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
    impl: str | None = None,
    layout: ServingLayout | None = None,
    kv_precision: str | None = None,
) -> tuple[float, str]:
    """(seconds, bound) for one decode step generating a token for each of ``batch`` sequences.

    ``impl`` (eager, cuda-graphs; default the calibration's) selects the host dispatch overhead
    (:func:`dcplan.model.launch.decode_overhead_s`). ``layout`` (default: ``tp`` accelerators
    sharding attention) says how weights, cache and work are spread (:mod:`dcplan.model.serving`);
    ``kv_precision`` is the cache's element type (default: ``precision``). With pp stages a step
    is pp micro-batch passes, each paying the per-step overhead.
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
    t_dev = max(t_mem, t_comp)
    t = t_dev + decode_overhead_s(m, cal, t_dev, impl=impl, cross_attention=m.architecture == "encoder-decoder")
    t += (lay.pp - 1) * cal.decode_t0_s
    t += _serving_comm_s(m, hw, cal, lay, tokens=batch, precision=precision, layers=m.n_layers, busy_s=t_dev)
    return t, bound
