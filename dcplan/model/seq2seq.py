"""Time of an encoder-decoder (T5-style) train step and generation, from the decoder-only terms.

No parameter of its own: the same efficiency curves, host dispatch and bandwidth fractions a
profile fits on decoder-only train, prefill and decode steps (Raffel et al. 2020 for the
architecture; the FLOP counts are :func:`dcplan.model.flops.seq2seq_forward_flops`'s).

- Train step on one device: the encoder's forward and backward over the source tokens and the
  decoder's (causal self-attention, cross-attention over the encoder output, FFN, logits) over
  the target tokens, each at the train curve's efficiency at its own per-layer GEMM size; the
  activation traffic of both stacks; the host dispatching every layer (a decoder layer with
  cross-attention launches more kernels than an encoder layer, :mod:`dcplan.model.launch`);
  one optimizer step over all weights.
- Train memory: model states of all weights; the encoder layers' activations at the source
  length and the decoder layers' at the target length (Korthikanti et al. 2022's count, as for
  decoder-only), plus what cross-attention keeps per decoder layer (its norm input, q, output
  and the encoder's K/V); fp32 logits of the target tokens only.
- Generation (greedy, ``new_tokens`` tokens): the encoder's forward over the source as a
  prefill without logits, the cross-attention keys and values of every decoder layer projected
  once from the encoder output, then one decode step per token: the decoder's weights (not the
  encoder's, not the cross-attention K/V projections) and both caches (self-attention over
  the tokens generated so far, cross-attention over the source) read per step.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from dcplan.model import flops as F
from dcplan.model.efficiency import compute_eta
from dcplan.model.launch import kernels_per_layer, with_host
from dcplan.model.memory import (
    InferMemory,
    TrainMemory,
    activation_bytes_per_layer,
    activation_traffic_bytes,
    calibrated_overhead,
    infer_memory,
    model_state_bytes,
    state_bytes_per_param,
)
from dcplan.model.params import ParamCounts, attention_params_per_layer, mlp_params
from dcplan.model.time import decode_step_time, prefill_time
from dcplan.model.train_time import ADAM_UPDATE_BYTES_PER_PARAM
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, ParallelLayout

#: Generations up to this many tokens are summed step by step; longer ones are sampled at this many steps.
EXACT_STEPS = 4


@functools.lru_cache(maxsize=256)
def _views(m: ModelSpec) -> tuple[ModelSpec, ModelSpec]:
    """(encoder as a decoder-only stack of its layers, the decoder-only stack of the decoder's layers)."""
    enc = replace(m, name=f"{m.name}:encoder", architecture="decoder", n_layers=m.n_encoder_layers, n_encoder_layers=0)
    dec = replace(m, name=f"{m.name}:decoder", architecture="decoder", n_encoder_layers=0)
    return enc, dec


def _cross_proj_params(m: ModelSpec) -> tuple[float, float]:
    """(Q and O, K and V) parameters of one decoder layer's cross-attention."""
    h, kv_dim = m.d_model, m.kv_heads * m.d_head
    kv = 2.0 * h * kv_dim + (2 * kv_dim if m.bias else 0)
    return attention_params_per_layer(m, cross=True) - kv, kv


@functools.lru_cache(maxsize=256)
def stack_counts(m: ModelSpec, counts: ParamCounts) -> tuple[ParamCounts, ParamCounts]:
    """(encoder, decoder) weights a forward of each stack reads; both hold the tied embedding.

    The decoder's leaves out the cross-attention K/V projections (run once on the encoder output).
    """
    per_layer_norm = counts.norms / (3 * m.n_layers + 2 * m.n_encoder_layers + 2)
    self_attn, ffn = attention_params_per_layer(m), mlp_params(m, m.d_ff)
    q_o, _ = _cross_proj_params(m)
    zero = {"experts_routed": 0.0, "experts_shared": 0.0, "router": 0.0, "experts_active_routed": 0.0}
    enc = ParamCounts(embedding=counts.embedding, lm_head=0.0, attention=self_attn * m.n_encoder_layers,
                      mlp_dense=ffn * m.n_encoder_layers, norms=per_layer_norm * (2 * m.n_encoder_layers + 1), **zero)
    dec = ParamCounts(embedding=counts.embedding, lm_head=counts.lm_head, attention=(self_attn + q_o) * m.n_layers,
                      mlp_dense=ffn * m.n_layers, norms=per_layer_norm * (3 * m.n_layers + 1), **zero)
    return enc, dec


def cross_layer_weight(m: ModelSpec) -> float:
    """Kernels of a decoder layer with cross-attention per kernel of a decoder-only layer."""
    return kernels_per_layer(m, cross_attention=True) / kernels_per_layer(m)


def _encoder_fwd_flops(m: ModelSpec, batch: float, src_len: float) -> float:
    enc, _ = _views(m)
    return batch * src_len * F.forward_flops_per_token(enc, src_len, causal=False).layers


def _cross_kv_flops(m: ModelSpec, batch: float, src_len: float) -> float:
    _, kv = _cross_proj_params(m)
    return 2.0 * kv * batch * src_len * m.n_layers


def seq2seq_train_step_time(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, *, batch: int,
                            src_len: int, tgt_len: int, precision: str) -> float:
    """Seconds of one train step of ``batch`` (source, target) pairs on one device, optimizer included [s]."""
    peak, bw = hw.peak(precision), hw.require("hbm_bytes_per_s")
    enc, dec = _views(m)
    fwd = F.seq2seq_forward_flops(m, src_len, tgt_len) * batch
    enc_fwd = _encoder_fwd_flops(m, batch, src_len)
    x_enc = F.largest_layer_gemm_flops(m, batch * src_len)
    x_dec = F.largest_layer_gemm_flops(m, batch * tgt_len)
    t_dev = F.TRAIN_PASSES * (enc_fwd / (peak * compute_eta(cal, x_enc, "train"))
                              + (fwd - enc_fwd) / (peak * compute_eta(cal, x_dec, "train")))
    if cal.train.act_passes > 0:
        act = (activation_traffic_bytes(enc, src_len, batch, layers=m.n_encoder_layers, precision=precision, logit_positions=0)
               + activation_traffic_bytes(dec, tgt_len, batch, layers=m.n_layers * cross_layer_weight(m), precision=precision))
        t_dev += cal.train.act_passes * act / bw
    layers = m.n_encoder_layers + m.n_layers * cross_layer_weight(m)
    t = with_host(t_dev, cal.train.t0_s + layers * cal.train.t0_per_layer_s, cal.train.host_overlap_frac)
    _, g_b, _ = state_bytes_per_param(precision)
    t += counts.total * ADAM_UPDATE_BYTES_PER_PARAM * cal.optimizer_bytes_factor / (bw * cal.decode_bw_frac)
    t += cal.embedding_grad_passes * counts.embedding * g_b / bw
    return t


def encode_time(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, *, batch: int, src_len: int,
                precision: str) -> float:
    """Seconds to encode ``batch`` sources and project every decoder layer's cross-attention K/V once [s]."""
    enc, _ = _views(m)
    enc_counts, _ = stack_counts(m, counts)
    t = prefill_time(enc, enc_counts, hw, cal, tp=1, batch=batch, prompt_len=src_len, precision=precision)
    x = F.largest_layer_gemm_flops(m, batch * src_len)
    return t + _cross_kv_flops(m, batch, src_len) / (hw.peak(precision) * compute_eta(cal, x, "prefill"))


def generate_time(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, *, batch: int, src_len: int,
                  new_tokens: int, precision: str, impl: str | None = None) -> float:
    """Seconds of a greedy generation of ``new_tokens`` tokens for ``batch`` sources [s].

    Step i (1-based) attends over i self-attention keys and ``src_len`` encoder keys: both
    caches have the same bytes per token per decoder layer, so a step is a decode step of
    the decoder at context i + src_len (``m`` itself: its architecture says its layers have
    cross-attention). Steps are summed one by one up to :data:`EXACT_STEPS` tokens; beyond, as
    ``new_tokens`` times the mean of that many evenly spaced steps, first and last included:
    exact while a step's time is affine in its context (one bound throughout; checked to 1e-15
    on every generation of the shipped profiles), close where it crosses from one to another.
    """
    _, dec_counts = stack_counts(m, counts)
    t = encode_time(m, counts, hw, cal, batch=batch, src_len=src_len, precision=precision)
    n = min(new_tokens, EXACT_STEPS)
    steps = [1 + (new_tokens - 1) * k / (n - 1) for k in range(n)] if n > 1 else [1.0]
    total = sum(decode_step_time(m, dec_counts, hw, cal, tp=1, batch=batch, context_len=i + src_len, precision=precision,
                                 impl=impl)[0] for i in steps)
    return t + total * new_tokens / n


def cross_attention_activation_bytes(m: ModelSpec, batch: float, src_len: float, tgt_len: float, *, act_bytes: float = 2.0) -> float:
    """Activations one decoder layer's cross-attention keeps for backward [bytes]: its norm input
    and the projection input (2·d per target token), q and the attention output (2·d_q per target
    token), the encoder's K and V (2·d_kv per source token)."""
    d_q, d_kv = m.n_heads * m.d_head, m.kv_heads * m.d_head
    return batch * act_bytes * (tgt_len * (2 * m.d_model + 2 * d_q) + src_len * 2 * d_kv)


def seq2seq_train_memory(counts: ParamCounts, m: ModelSpec, *, batch: int, src_len: int, tgt_len: int, precision: str,
                         calibration: Calibration) -> TrainMemory:
    """Peak bytes of an encoder-decoder train step on one device (no recomputation, fused attention)."""
    lay = ParallelLayout(micro_batch=batch, recompute="none", zero=1, sequence_parallel=False)
    weights, grads, optim = model_state_bytes(counts, m, lay, precision)
    act_b = 4.0 if precision in ("fp32", "tf32") else 2.0
    enc, dec = _views(m)
    acts = (m.n_encoder_layers * activation_bytes_per_layer(enc, src_len, batch, recompute="none", act_bytes=act_b)
            + m.n_layers * (activation_bytes_per_layer(dec, tgt_len, batch, recompute="none", act_bytes=act_b)
                            + cross_attention_activation_bytes(m, batch, src_len, tgt_len, act_bytes=act_b)))
    logits = 4.0 * batch * tgt_len * m.vocab_size
    overhead = calibrated_overhead(weights + grads + optim, acts, logits, calibration)
    return TrainMemory(weights=weights, gradients=grads, optimizer=optim, activations=acts, logits=logits, overhead=overhead)


def generate_memory(counts: ParamCounts, m: ModelSpec, *, batch: int, src_len: int, new_tokens: int, precision: str,
                    calibration: Calibration, logit_bytes: float = 4.0) -> InferMemory:
    """Peak bytes of a generation: the larger of encoding (all weights and one encoder layer's
    transient tensors for ``batch x src_len`` tokens; no cache yet) and decoding (all weights,
    the cross-attention K/V of the source and the self-attention cache of every new token, one
    token per sequence in flight, its logits) [bytes]."""
    opts = {"tp": 1, "batch": batch, "precision": precision, "calibration": calibration, "logit_positions": batch,
            "logit_bytes": logit_bytes}
    encode = infer_memory(counts, m, context_len=0, prompt_len=batch * src_len, **opts)
    decode = infer_memory(counts, m, context_len=src_len + new_tokens, prompt_len=batch, **opts)
    return max(encode, decode, key=lambda x: x.total)
