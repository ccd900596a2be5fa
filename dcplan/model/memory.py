"""Bytes per accelerator: model states (ZeRO), activations (Korthikanti), KV cache, overhead.

Sources, convention by convention:
- Model states: mixed-precision Adam keeps 2 (bf16 weights) + 2 (grads) + 12 (fp32 master, m,
  v) = 16 bytes/param; ZeRO stages shard optimizer, gradients and weights over the
  data-parallel group (Rajbhandari et al. 2020, §3/§5, Fig. 1).
- Shards: the most-loaded pipeline stage holds layers/p plus an embedding, split over tp
  (Megatron-LM ``theoretical_memory_usage.py``); experts are split over ep·etp (expert tensor
  parallelism defaults to tp in Megatron-Core) and ZeRO-sharded over the expert data-parallel
  group edp.
- Activations: Korthikanti et al. 2022 Table 2, per layer s·b·h·(34 + 5·a·s/h) bytes with
  16-bit activations and dropout masks, generalised as in Megatron's code to any FFN width
  (18 + 4f/h) and here, term by term, to gated FFNs (+4f/h), GQA and MoE (derivation in
  :func:`activation_bytes_per_layer`). Fused (flash) attention stores no a·s² terms.
- KV cache: 2·L·n_kv·d_head·bytes per token (llm-analysis ``get_memory_kv_cache_per_layer``),
  heads split over tp with at least one per rank; MLA caches the compressed latent
  (kv_lora_rank + qk_rope_head_dim) per layer (DeepSeek-V2 §2.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dcplan.errors import InputError
from dcplan.model.params import ParamCounts
from dcplan.model.pipeline import activation_layer_microbatches
from dcplan.specs import BYTES_PER_ELEMENT, Calibration, ModelSpec, ParallelLayout

#: Adam optimizer state bytes per parameter: fp32 master copy + m + v (ZeRO paper's K = 12).
ADAM_MIXED_BYTES_PER_PARAM = 12.0
#: Adam in pure fp32 keeps m and v only (the weights are the master copy).
ADAM_FP32_BYTES_PER_PARAM = 8.0


@dataclass(frozen=True, kw_only=True)
class TrainMemory:
    """Peak bytes on the most-loaded accelerator of a training job [bytes]."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    logits: float
    """fp32 logits and loss of the last stage's micro-batch."""
    overhead: float
    """Calibrated allocator/context overhead on top of the analytical bytes."""

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.logits + self.overhead

    def as_dict(self) -> dict[str, float]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "logits": self.logits,
            "overhead": self.overhead,
        }


@dataclass(frozen=True, kw_only=True)
class InferMemory:
    """Bytes on one accelerator of a serving replica [bytes]."""

    weights: float
    kv_cache: float
    activations: float
    """Transient tensors of one layer at a time (residual, norm, projections, MLP), the
    attention kernel's workspace and the logits."""
    overhead: float

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.activations + self.overhead

    def as_dict(self) -> dict[str, float]:
        return {
            "weights": self.weights,
            "kv_cache": self.kv_cache,
            "activations": self.activations,
            "overhead": self.overhead,
        }


def _overhead(states: float, activations: float, logits: float, cal: Calibration) -> float:
    """Calibrated bytes on top of the analytical ones [bytes].

    total = memory_factor x (states + activation_factor x activations + logits_factor x logits)
            + memory_constant_bytes; with the shipped factors (1.0) this is
    analytical x (memory_factor − 1) + constant.
    """
    scaled = states + cal.memory_activation_factor * activations + cal.memory_logits_factor * logits
    return cal.memory_factor * scaled - (states + activations + logits) + cal.memory_constant_bytes


def state_bytes_per_param(precision: str) -> tuple[float, float, float]:
    """(weight, gradient, optimizer) bytes per parameter for Adam training in ``precision``.

    16-bit and fp8 training keep bf16 weights/grads and fp32 Adam state (16 B/param in all, the
    ZeRO paper's baseline); fp32 training keeps 4 + 4 + 8.
    """
    if precision in ("fp32", "tf32"):
        return 4.0, 4.0, ADAM_FP32_BYTES_PER_PARAM
    return 2.0, 2.0, ADAM_MIXED_BYTES_PER_PARAM


def params_on_device(counts: ParamCounts, m: ModelSpec, layout: ParallelLayout) -> tuple[float, float]:
    """(non-expert, expert) parameters held by the most-loaded accelerator.

    Layers are split evenly over pp stages and within a stage over tp (Megatron). The first
    stage also holds the token embedding and the last the output layer; with p = 1 one device
    holds both.
    """
    tp, pp = layout.tp, layout.pp
    embed = counts.embedding
    head = counts.lm_head if counts.lm_head else (counts.embedding if pp > 1 else 0.0)
    layer_params = counts.total - counts.embedding - counts.lm_head - counts.expert_total
    on_stage = layer_params / pp + (embed + head if pp == 1 else max(embed, head))
    experts = counts.expert_total / (pp * layout.ep * layout.etp)
    if layout.schedule == "dualpipe":
        # each device holds a stage of both directions (DualPipe README: parameters 2x)
        on_stage += layer_params / pp
        experts *= 2
    return on_stage / tp, experts


#: Megatron-LM accumulates bf16 gradients in fp32 "main_grad" buffers (4 bytes per parameter,
#: unsharded under the distributed optimizer): ``theoretical_memory_usage.py`` counts 6 + 12/dp
#: bytes per parameter (2 weights + 4 gradients + 12 sharded optimizer bytes).
MEGATRON_GRAD_BYTES = 4.0


def model_state_bytes(
    counts: ParamCounts, m: ModelSpec, layout: ParallelLayout, precision: str, *, grad_bytes: float | None = None
) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes on the most-loaded device under ZeRO.

    Stage 1 shards optimizer states, 2 adds gradients, 3 adds weights, each over the
    data-parallel group (dp x cp for dense parameters, the expert data-parallel group edp for
    experts). Rajbhandari et al. 2020. ``grad_bytes`` overrides the gradient bytes per
    parameter (:data:`MEGATRON_GRAD_BYTES` for Megatron's fp32 gradient buffers).

    Stage 3 (FSDP) keeps the ZeRO paper's 2 + 2 + K = 16 bytes per parameter sharded (PyTorch
    FSDP's fp32 shard, fp32 gradient shard and Adam m, v weigh the same), the fp32 gradient
    accumulation living only in the unsharded unit being reduced; on top, the units in flight
    are unsharded (:func:`fsdp_buffer_bytes`, counted by :func:`train_memory`).
    """
    w_b, g_b, o_b = state_bytes_per_param(precision)
    if grad_bytes is not None:
        g_b = grad_bytes
    dense, expert = params_on_device(counts, m, layout)
    out = [0.0, 0.0, 0.0]
    # dense parameters are replicated over dp and cp: Megatron shards their optimizer over the
    # data-parallel-with-context-parallel group
    for n_params, group in ((dense, layout.dp * layout.cp), (expert, layout.edp)):
        group = max(group, 1)
        w = n_params * w_b
        g = n_params * (w_b if layout.zero >= 3 else g_b)
        o = n_params * o_b
        if layout.zero >= 1:
            o /= group
        if layout.zero >= 2:
            g /= group
        if layout.zero >= 3:
            w /= group
        out[0] += w
        out[1] += g
        out[2] += o
    return out[0], out[1], out[2]


def fsdp_buffer_bytes(counts: ParamCounts, m: ModelSpec, layout: ParallelLayout, precision: str,
                      *, grad_bytes: float | None = None) -> tuple[float, float]:
    """(weights, gradients) FSDP holds unsharded on top of its shards under ZeRO-3 [bytes]:
    :data:`FSDP_UNITS_IN_FLIGHT` units' weights and the gradients of the unit being reduced."""
    if layout.zero < 3:
        return 0.0, 0.0
    w_b, g_b, _ = state_bytes_per_param(precision)
    unit = fsdp_unit_params(counts, m, layout)
    return FSDP_UNITS_IN_FLIGHT * unit * w_b, unit * (grad_bytes if grad_bytes is not None else g_b)


#: FSDP units whose weights are unsharded at once: the one computing and the next, whose
#: all-gather is prefetched (PyTorch ``FullyShardedDataParallel(limit_all_gathers=True)``: "GPU
#: memory usage from only two consecutive FSDP instances"; Megatron-FSDP prefetches the same way).
FSDP_UNITS_IN_FLIGHT = 2


def fsdp_unit_params(counts: ParamCounts, m: ModelSpec, layout: ParallelLayout) -> float:
    """Parameters one FSDP unit (a Transformer layer, as torchtitan and Megatron-FSDP wrap it)
    holds unsharded on one device under ZeRO-3: the layer's dense part split over tp, its
    experts over ep x etp [parameters]."""
    layers = m.n_layers + m.n_encoder_layers
    layer_params = counts.total - counts.embedding - counts.lm_head - counts.expert_total
    dense = layer_params / layers / layout.tp
    if m.moe is None or counts.expert_total <= 0:
        return dense
    moe_layers = max(1, m.n_layers - m.moe.first_dense_layers)
    return dense + counts.expert_total / moe_layers / (layout.ep * layout.etp)


def ffn_width(m: ModelSpec) -> float:
    """Hidden width of the FFN work one token does: d_ff, or the routed and shared experts' sum."""
    if m.moe is not None:
        return float(m.moe.d_ff_expert * (m.moe.top_k + m.moe.n_shared_experts))
    return float(m.d_ff)


def selective_recompute_bytes(m: ModelSpec, tokens: float, tp: int = 1) -> float:
    """Bytes the memory-bound recomputation of selective recompute moves per layer [bytes]:
    both norms (read and write h) and the FFN activation (read 2f, write f gated; read f, write
    f otherwise), 2-byte values."""
    f = ffn_width(m)
    per_token = 2.0 * 2 * 2 * m.d_model + 2.0 * ((3.0 if m.gated else 2.0) * f)
    return per_token * tokens / tp


def uses_dropout(m: ModelSpec) -> bool:
    """Whether training stores dropout masks: GPT-2/3-era models with learned or sinusoidal
    positions trained with dropout 0.1 (GPT-3, OPT, Megatron's GPT runs); RoPE/ALiBi models
    publish dropout 0 in pretraining (Llama, Mistral, DeepSeek, Qwen, MPT, BLOOM) and store no
    masks. A convention of dcplan's, not a field of the public configs."""
    return m.position in ("learned", "sinusoidal")


def activation_bytes_per_layer(
    m: ModelSpec,
    seq_len: float,
    micro_batch: float,
    *,
    tp: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    flash_attention: bool = True,
    act_bytes: float = 2.0,
) -> float:
    """Activation bytes one layer stores for the backward pass [bytes].

    Korthikanti et al. 2022 count, per s·b·h element with 2-byte activations and 1-byte
    dropout masks: attention 11 (LN output 2, Q 2, K 2, V 2, projection input 2, mask 1) plus
    5·a·s/h for scores, softmax and dropout; MLP 19 (input 2, up 8, activation 8, mask 1 when
    f = 4h); two LayerNorm inputs 4: 34 in all, 18 + 4f/h for any FFN width (Megatron-LM
    ``theoretical_memory_usage.py``). Generalised term by term: K and V scale with
    n_kv/n_heads (GQA); a gated FFN stores its fc1 output (gate and up, 4f/h) and the fc2 input
    (2f/h), the activation being recomputed inside the fused SwiGLU backward (Transformer
    Engine), so 6f/h; an MoE token stores the tensors of its top_k (and shared) experts. Tensor
    parallelism splits all but the 10 LN/input/mask terms (all of them with sequence
    parallelism). Fused attention drops the a·s² terms. Selective recompute re-runs the
    attention core (Korthikanti §5) and the memory-bound ops whose inputs are kept anyway: both
    norms and the FFN activation (Megatron-Core ``--recompute-modules layernorm mlp/moe_act``;
    DeepSeek-V3 §3.2.3 recomputes RMSNorm), so it stores neither the two norm outputs (4) nor
    the activation output (2f/h). Full recompute keeps only the layer input (2·s·b·h).
    """
    s, b, h = seq_len, micro_batch, m.d_model
    scale = act_bytes / 2.0
    masks = 1.0 if uses_dropout(m) else 0.0
    selective = recompute == "selective"
    ln_outs = 0.0 if selective else 4.0
    unsplit = 4.0 + ln_outs + 2.0 * masks  # LN inputs 4, their outputs (QKV, MLP inputs) 4, dropout masks
    replicated = unsplit if not (sequence_parallel and tp > 1) else 0.0
    if recompute == "full":
        return s * b * h * 2.0 * scale / (tp if sequence_parallel else 1)
    r = m.kv_heads / m.n_heads
    attention = 4.0 + ln_outs / 2 + masks + 4.0 * r
    f_over_h = ffn_width(m) / h
    act_out = 0.0 if selective else 2.0
    mlp = ln_outs / 2 + masks + (4.0 + act_out if m.gated else 2.0 + act_out) * f_over_h
    norms = 4.0
    per_elem = attention + mlp + norms
    sharded = per_elem - unsplit + (unsplit - replicated)
    scores = 0.0 if (flash_attention or recompute == "selective") else 5.0 * m.n_heads * s / h
    linear = s * b * h * (replicated + sharded / tp) * scale
    return linear + s * b * h * scores / tp * scale


def train_memory(
    counts: ParamCounts,
    m: ModelSpec,
    layout: ParallelLayout,
    *,
    seq_len: int,
    precision: str,
    n_microbatches: int,
    calibration: Calibration,
    flash_attention: bool = True,
    grad_bytes: float | None = None,
    mlm_head_frac: float = 1.0,
) -> TrainMemory:
    """Peak bytes on the most-loaded accelerator of a training job.

    ``mlm_head_frac``: share of positions whose logits an encoder's masked-LM step computes (1: all,
    as ``transformers``' ``BertForMaskedLM``; 0.15: the masked ones gathered first).

    In-flight micro-batches follow the schedule (:mod:`dcplan.model.pipeline`: 1F1B keeps
    min(p, m) on the first stage, about all L layers' worth, Narayanan et al. 2021 §2.2,
    Korthikanti §4.2; interleaving adds 1 + (p−1)/(p·v); DualPipe p + 1). Sequences are split
    over cp. The last stage also holds one micro-batch of fp32 logits (split over tp). Under
    ZeRO-3 the unsharded units in flight add to the weights and gradients (:func:`fsdp_buffer_bytes`).
    """
    weights, grads, optim = model_state_bytes(counts, m, layout, precision, grad_bytes=grad_bytes)
    gathered_w, gathered_g = fsdp_buffer_bytes(counts, m, layout, precision, grad_bytes=grad_bytes)
    weights, grads = weights + gathered_w, grads + gathered_g
    act_bytes = 4.0 if precision in ("fp32", "tf32") else 2.0
    s_local = seq_len / layout.cp
    per_layer = activation_bytes_per_layer(
        m,
        s_local,
        layout.micro_batch,
        tp=layout.tp,
        sequence_parallel=layout.sequence_parallel,
        recompute=layout.recompute,
        flash_attention=flash_attention,
        act_bytes=act_bytes,
    )
    layer_mbs = activation_layer_microbatches(m.n_layers + m.n_encoder_layers, layout.pp, layout.vpp,
                                              n_microbatches, layout.schedule)
    activations = per_layer * layer_mbs
    # inputs of every in-flight micro-batch on the first stage (Megatron-LM
    # theoretical_memory_usage.py: 8·s·b·p bytes of token ids and the s·b·h·p embedding
    # dropout mask, with the interleaving penalty, divided by tp with the rest)
    in_flight = layout.pp if layout.vpp > 1 else min(layout.pp, n_microbatches)
    masks = m.d_model if uses_dropout(m) else 0.0
    penalty = 1 + (layout.pp - 1) / (layout.pp * layout.vpp) if layout.vpp > 1 else 1.0
    activations += (8.0 + masks) * s_local * layout.micro_batch * in_flight * penalty / layout.tp
    if layout.recompute == "full":
        # the layer being recomputed holds its full activations during its backward
        activations += activation_bytes_per_layer(
            m, s_local, layout.micro_batch, tp=layout.tp, sequence_parallel=layout.sequence_parallel,
            recompute="none", flash_attention=flash_attention, act_bytes=act_bytes,
        )
    logits = 4.0 * s_local * layout.micro_batch * m.vocab_size / layout.tp * mlm_head_frac
    overhead = _overhead(weights + grads + optim, activations, logits, calibration)
    return TrainMemory(
        weights=weights,
        gradients=grads,
        optimizer=optim,
        activations=activations,
        logits=logits,
        overhead=overhead,
    )


def activation_traffic_bytes(
    m: ModelSpec,
    seq_len: float,
    micro_batch: float,
    *,
    layers: float,
    precision: str,
    tp: int = 1,
    sequence_parallel: bool = False,
    logit_positions: float | None = None,
) -> float:
    """Activation bytes one pass of ``micro_batch`` sequences writes through ``layers`` layers [bytes].

    The Korthikanti et al. 2022 per-layer count (no recompute, fused attention; see
    :func:`activation_bytes_per_layer`) times the layers, plus fp32 logits for
    ``logit_positions`` tokens (default every token). It is the volume the bandwidth-bound
    elementwise kernels of a step stream (norms, activations, softmax, loss), used by the
    time model's ``act_passes`` term; 2-byte activations, 4 for fp32/tf32.
    """
    act_bytes = 4.0 if precision in ("fp32", "tf32") else 2.0
    per_layer = activation_bytes_per_layer(
        m, seq_len, micro_batch, tp=tp, sequence_parallel=sequence_parallel, recompute="none",
        flash_attention=True, act_bytes=act_bytes,
    )
    positions = seq_len * micro_batch if logit_positions is None else logit_positions
    return per_layer * layers + 4.0 * positions * m.vocab_size / tp


def kv_bytes_per_token(m: ModelSpec, precision: str, tp: int = 1) -> float:
    """KV-cache bytes per token on one accelerator of a tp-way replica [bytes/token].

    2·L·n_kv·d_head·bytes, with kv heads split over tp but at least one per rank; MLA caches
    L·(kv_lora_rank + qk_rope_head_dim) values, replicated over tp. Encoder-only models cache nothing (0).
    """
    if m.is_encoder:
        return 0.0  # encoder-only: one bidirectional pass, nothing cached
    elem = BYTES_PER_ELEMENT[precision] if precision != "fp4" else 1.0  # KV caches stay >= 8-bit
    layers = m.n_layers
    if m.mla is not None:
        return layers * (m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) * elem
    heads_per_rank = math.ceil(m.kv_heads / tp)
    return 2.0 * layers * heads_per_rank * m.d_head * elem


def weight_bytes(counts: ParamCounts, precision: str) -> float:
    """Bytes of all weights stored in ``precision`` [bytes]."""
    return counts.total * BYTES_PER_ELEMENT[precision]


#: The CUDA caching allocator rounds every allocation up to a multiple of 512 bytes
#: (``kMinBlockSize``, c10/cuda/CUDACachingAllocator.cpp: "all sizes are rounded to at least
#: 512 bytes"); ``max_memory_allocated`` counts the rounded sizes.
ALLOC_ROUND_BYTES = 512
#: KV-cache layouts: ``static`` allocates the whole context up front (dcplan's profiler, vLLM's
#: and TensorRT-LLM's pre-allocated pools, Hugging Face's StaticCache); ``dynamic`` appends
#: with torch.cat (Hugging Face's DynamicCache), so a layer's K and V briefly exist twice.
KV_CACHE_LAYOUTS = ("static", "dynamic")


def allocated_bytes(nbytes: float, tensors: float = 1.0) -> float:
    """What the caching allocator counts for ``tensors`` tensors of ``nbytes`` each [bytes]."""
    return tensors * math.ceil(nbytes / ALLOC_ROUND_BYTES) * ALLOC_ROUND_BYTES


def layer_transient_bytes(m: ModelSpec, tokens: float, *, tp: int = 1, act_bytes: float = 2.0) -> float:
    """Largest set of tensors one layer's forward keeps alive at once in eager inference [bytes].

    Counted on the profiler's Transformer (dcplan.profile.transformer), per token, in units of
    activation elements: attention stage: the residual input and its norm (2·d), q, the
    attention output and its contiguous copy (3·d_q), k and v (2·d_kv), the output projection
    (d); MLP stage: residual, norm and output (3·d), the up projection and its activation
    (2·f; gated MLPs keep gate, up and their product: 3·f). Heads and the FFN split over tp.
    """
    d_q, d_kv = m.n_heads * m.d_head / tp, 2 * m.kv_heads * m.d_head / tp
    f = (m.moe.d_ff_expert * (m.moe.top_k + m.moe.n_shared_experts) if m.moe is not None else m.d_ff) / tp
    attention = 3 * m.d_model + 3 * d_q + d_kv
    mlp = 3 * m.d_model + (3 if m.gated else 2) * f
    return allocated_bytes(tokens * act_bytes * max(attention, mlp))


def attention_workspace_bytes(m: ModelSpec, batch: float, query_len: float, *, tp: int = 1) -> float:
    """Fused (flash) attention's extra output: the fp32 log-sum-exp per query and head [bytes]
    (FlashAttention-2, Dao 2023, Algorithm 1: L = m + log(l) is written out per row)."""
    return allocated_bytes(batch * math.ceil(m.n_heads / tp) * query_len * 4.0)


def infer_memory(
    counts: ParamCounts,
    m: ModelSpec,
    *,
    tp: int,
    batch: int,
    context_len: float,
    prompt_len: float,
    precision: str,
    calibration: Calibration,
    logit_positions: float | None = None,
    logit_bytes: float = 4.0,
    kv_layout: str = "static",
) -> InferMemory:
    """Bytes per accelerator of a tp-way serving replica holding ``batch`` sequences.

    Weights split over tp; KV cache for ``batch`` x ``context_len`` tokens, one tensor per
    layer for K and for V, rounded as the caching allocator does (a ``dynamic`` cache adds one
    layer's K and V again, the copy torch.cat makes as it grows); the transient tensors of one
    layer for ``prompt_len`` tokens in flight (llm-analysis ``inference()``: peak = one layer's
    activations plus the cache; :func:`layer_transient_bytes`) with the attention kernel's
    workspace; logits of ``logit_positions`` positions (default one per sequence, the sampled
    position; all positions for a forward that returns every logit) at ``logit_bytes`` per
    value (4: fp32 for sampling; the profiler's model returns bf16).
    """
    if kv_layout not in KV_CACHE_LAYOUTS:
        raise InputError("kv_layout", f"must be one of {', '.join(KV_CACHE_LAYOUTS)}, got {kv_layout!r}")
    weights = weight_bytes(counts, precision) / tp
    layers = m.n_layers
    per_layer_kv = kv_bytes_per_token(m, precision, tp) * batch * context_len / layers
    tensors = 1 if m.mla is not None else 2  # MLA caches one latent tensor per layer
    kv = layers * allocated_bytes(per_layer_kv / tensors, tensors)
    if kv_layout == "dynamic":
        kv += allocated_bytes(per_layer_kv / tensors, tensors)
    act_b = 4.0 if precision in ("fp32", "tf32") else 2.0
    positions = batch if logit_positions is None else logit_positions
    acts = layer_transient_bytes(m, prompt_len, tp=tp, act_bytes=act_b)
    acts += attention_workspace_bytes(m, 1, prompt_len, tp=tp)
    acts += allocated_bytes(positions * m.vocab_size / tp * logit_bytes)
    overhead = _overhead(weights + kv, acts, 0.0, calibration)
    return InferMemory(weights=weights, kv_cache=kv, activations=acts, overhead=overhead)


def calibrated_overhead(states: float, activations: float, logits: float, cal: Calibration) -> float:
    """The calibrated bytes on top of analytical ones, for the memory counts of other modules (seq2seq) [bytes]."""
    return _overhead(states, activations, logits, cal)
