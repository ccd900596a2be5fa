"""FLOP counts of Transformer training and inference, matrix multiply by matrix multiply.

Convention (recorded in every report): one fused multiply-add is 2 FLOPs; only matrix
multiplies are counted (norms, softmax, activations are a few percent at most and are
bandwidth-bound); attention under a causal mask is halved, as in current Megatron-LM
``megatron/training/training.py::num_floating_point_operations`` ("q*s/2*2"). A training step
is 3 forwards (forward, data-gradient and weight-gradient GEMMs). Model FLOPs (MFU) count no
recomputation; hardware FLOPs (HFU) add the recomputed forward work (PaLM, Chowdhery et al.
2022, Appendix B).

With ``causal=False`` and no GQA the count equals Narayanan et al. 2021 §5.1:
72·B·s·L·h²·(1 + s/(6h) + V/(12·L·h)) per iteration, or 96·B·s·L·h²·(1 + s/(6h) + V/(16·L·h))
with full recomputation (tested in tests/model/test_flops.py).

Encoder-only models (BERT, Devlin et al. 2019, arXiv:1810.04805): attention is bidirectional, so
nothing is halved (the same count as Kaplan et al. 2020 Table 1's 2·n_layer·n_ctx·d_attn per
token and Narayanan et al. 2021's non-causal form above); layers that attend within a local
window (ModernBERT: ``sliding_window`` tokens in ``sliding_window_layers`` layers) see
min(s, window) keys. The "logits" of an encoder are its masked-LM head: the dense transform
(2·h² where the model has one) and the output layer (2·h·V) at the positions the objective
computes them: every position in ``transformers``' ``BertForMaskedLM`` (``mlm_head_frac`` 1,
the default), only the masked 15% where the training code gathers them first (Devlin et al.'s
reference ``run_pretraining.py``, ``gather_indexes``; dcplan's profiler). An embedding forward
(inference) runs the layers and no head.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.specs import ModelSpec

#: Forward, data-gradient and weight-gradient GEMMs: training is 3x the forward.
TRAIN_PASSES = 3.0
#: Share of input positions BERT masks and predicts (Devlin et al. 2019, §3.1 "Task #1: Masked LM").
MLM_MASK_FRAC = 0.15


@dataclass(frozen=True, kw_only=True)
class FlopsBreakdown:
    """Forward FLOPs per token by part, summed over layers [FLOP/token]."""

    attn_proj: float
    """Q/K/V/O projections (and MLA down/up projections)."""
    attn_core: float
    """QK^T and softmax(QK^T)V."""
    mlp: float
    """Dense FFN, routed (top_k) and shared experts."""
    router: float
    logits: float

    @property
    def layers(self) -> float:
        """Everything a layer recomputes (all but the logits)."""
        return self.attn_proj + self.attn_core + self.mlp + self.router

    @property
    def total(self) -> float:
        return self.layers + self.logits


def _attn_proj_weights(m: ModelSpec) -> float:
    """Matrix elements of one layer's attention projections (biases excluded)."""
    h, a = m.d_model, m.n_heads
    if m.mla is not None:
        mla = m.mla
        qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        q = (h * mla.q_lora_rank + mla.q_lora_rank * a * qk) if mla.q_lora_rank else h * a * qk
        kv = h * (mla.kv_lora_rank + mla.qk_rope_head_dim) + mla.kv_lora_rank * a * (mla.qk_nope_head_dim + mla.v_head_dim)
        return float(q + kv + a * mla.v_head_dim * h)
    q_dim, kv_dim = a * m.d_head, m.kv_heads * m.d_head
    return float(2 * h * q_dim + 2 * h * kv_dim)


def _head_dims(m: ModelSpec) -> tuple[int, int]:
    """(query/key head dim, value head dim)."""
    if m.mla is not None:
        return m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim, m.mla.v_head_dim
    return m.d_head, m.d_head


def attn_core_flops_per_token(m: ModelSpec, kv_len: float, *, causal: bool) -> float:
    """QK^T + AV FLOPs for one query token over ``kv_len`` keys in one layer [FLOP].

    2·a·kv_len·(d_qk + d_v); halved under a causal mask, where a query sees kv_len/2 keys on
    average (Megatron's explicit causal discount).
    """
    qk, v = _head_dims(m)
    flops = 2.0 * m.n_heads * kv_len * (qk + v)
    return flops / 2.0 if causal else flops


def encoder_attn_core_flops_per_token(m: ModelSpec, seq_len: float) -> float:
    """QK^T + AV FLOPs per token summed over an encoder's layers, bidirectional [FLOP].

    Local-attention layers (``sliding_window_layers`` of them, all when None) see
    min(seq_len, ``sliding_window``) keys; the others all ``seq_len``.
    """
    if m.sliding_window is None:
        return attn_core_flops_per_token(m, seq_len, causal=False) * m.n_layers
    local = m.n_layers if m.sliding_window_layers is None else m.sliding_window_layers
    near = attn_core_flops_per_token(m, min(seq_len, m.sliding_window), causal=False)
    return near * local + attn_core_flops_per_token(m, seq_len, causal=False) * (m.n_layers - local)


def mlm_head_flops_per_token(m: ModelSpec) -> float:
    """Masked-LM head FLOPs at one position: transform (2·h² if any) and output layer (2·h·V) [FLOP]."""
    return 2.0 * m.d_model * m.vocab_size + (2.0 * m.d_model * m.d_model if m.mlm_head else 0.0)


def _mlp_matrix_flops(m: ModelSpec, d_ff: int) -> float:
    mats = 3 if m.gated else 2
    return 2.0 * mats * m.d_model * d_ff


def mlp_flops_per_token(m: ModelSpec) -> tuple[float, float]:
    """(FFN FLOPs, router FLOPs) per token summed over decoder layers [FLOP]."""
    moe = m.moe
    if moe is None:
        return _mlp_matrix_flops(m, m.d_ff) * m.n_layers, 0.0
    moe_layers = m.n_layers - moe.first_dense_layers
    dense = _mlp_matrix_flops(m, m.d_ff) * moe.first_dense_layers
    experts = _mlp_matrix_flops(m, moe.d_ff_expert) * (moe.top_k + moe.n_shared_experts) * moe_layers
    router = 2.0 * m.d_model * moe.n_experts * moe_layers
    return dense + experts, router


def forward_flops_per_token(m: ModelSpec, seq_len: float, *, causal: bool = True) -> FlopsBreakdown:
    """Forward FLOPs per token of a decoder stack at sequence length ``seq_len`` [FLOP/token].

    For decoding one token against a cache of c tokens use ``seq_len=c, causal=False``. For an
    encoder-only model ``causal`` is ignored (bidirectional, local windows counted) and the
    logits are its masked-LM head at every position.
    """
    L = m.n_layers
    mlp, router = mlp_flops_per_token(m)
    if m.is_encoder:
        return FlopsBreakdown(attn_proj=2.0 * _attn_proj_weights(m) * L, attn_core=encoder_attn_core_flops_per_token(m, seq_len),
                              mlp=mlp, router=router, logits=mlm_head_flops_per_token(m))
    return FlopsBreakdown(
        attn_proj=2.0 * _attn_proj_weights(m) * L,
        attn_core=attn_core_flops_per_token(m, seq_len, causal=causal) * L,
        mlp=mlp,
        router=router,
        logits=2.0 * m.d_model * m.vocab_size,
    )


def train_flops_per_token(m: ModelSpec, seq_len: float, *, causal: bool = True, mlm_head_frac: float = 1.0) -> float:
    """Model FLOPs per trained token (no recomputation; the MFU numerator) [FLOP/token].

    Encoder-only: a masked-LM step, the head at ``mlm_head_frac`` of the positions
    (:func:`mlm_train_flops_per_token`).
    """
    if m.is_encoder:
        return mlm_train_flops_per_token(m, seq_len, mlm_head_frac=mlm_head_frac)
    if m.architecture == "encoder-decoder":
        return seq2seq_train_flops(m, seq_len, seq_len) / seq_len
    return TRAIN_PASSES * forward_flops_per_token(m, seq_len, causal=causal).total


def mlm_train_flops_per_token(m: ModelSpec, seq_len: float, *, mlm_head_frac: float = 1.0) -> float:
    """Model FLOPs per token of an encoder's masked-LM train step [FLOP/token]:
    3 x (bidirectional layers + the head at ``mlm_head_frac`` of the positions)."""
    fwd = forward_flops_per_token(m, seq_len)
    return TRAIN_PASSES * (fwd.layers + mlm_head_frac * fwd.logits)


def embed_flops(m: ModelSpec, batch: float, seq_len: float) -> float:
    """Forward FLOPs of embedding ``batch`` inputs of ``seq_len`` tokens with an encoder [FLOP]:
    the bidirectional layers at every position, no head (and BERT's pooler on the first token
    where the spec has one)."""
    pooler = 2.0 * m.d_model * m.d_model if m.pooler else 0.0
    return batch * (seq_len * forward_flops_per_token(m, seq_len).layers + pooler)


def recompute_flops_per_token(m: ModelSpec, seq_len: float, recompute: str, *, causal: bool = True) -> float:
    """Extra forward FLOPs spent recomputing activations [FLOP/token].

    full: every layer's forward again (not the logits), Narayanan 2021 (4 passes instead of 3);
    selective: only the attention core (Korthikanti et al. 2022, §4); none: 0.
    """
    fwd = forward_flops_per_token(m, seq_len, causal=causal)
    if recompute == "full":
        return fwd.layers
    if recompute == "selective":
        return fwd.attn_core
    return 0.0


def hardware_flops_per_token(m: ModelSpec, seq_len: float, recompute: str, *, causal: bool = True) -> float:
    """FLOPs the hardware executes per trained token, recomputation included (HFU numerator)."""
    return train_flops_per_token(m, seq_len, causal=causal) + recompute_flops_per_token(
        m, seq_len, recompute, causal=causal
    )


@dataclass(frozen=True, kw_only=True)
class TrainFlopsSplit:
    """Hardware FLOPs per trained token by the units that run them [FLOP/token].

    ``low_precision`` are the linear layers an FP8 run executes in FP8 (attention projections,
    dense and shared-expert FFNs); ``experts`` the routed-expert GEMMs (FP8 too, and scaled by
    load imbalance); ``high_precision`` what stays in BF16 even in FP8 runs: the attention core
    (flash attention), the router and the output layer (DeepSeek-V3 §3.3.1 keeps embedding,
    output head, gating and attention in BF16/FP32; Transformer Engine recipes keep the first
    and last layers in BF16). Recomputed forward work is included, so the three sum to
    :func:`hardware_flops_per_token`.
    """

    low_precision: float
    experts: float
    high_precision: float
    """Attention core and router, summed over layers."""
    logits: float = 0.0
    """The output layer (BF16), on the last pipeline stage only."""

    @property
    def layers(self) -> float:
        """Everything the Transformer layers run (split over pipeline stages)."""
        return self.low_precision + self.experts + self.high_precision

    @property
    def total(self) -> float:
        return self.layers + self.logits


def _routed_share(m: ModelSpec) -> float:
    """Share of the MoE FFN FLOPs that are routed experts (the rest: dense layers, shared experts)."""
    moe = m.moe
    if moe is None:
        return 0.0
    moe_layers = m.n_layers - moe.first_dense_layers
    routed = _mlp_matrix_flops(m, moe.d_ff_expert) * moe.top_k * moe_layers
    mlp, _ = mlp_flops_per_token(m)
    return routed / mlp if mlp else 0.0


def train_flops_split(m: ModelSpec, seq_len: float, recompute: str, *, causal: bool = True) -> TrainFlopsSplit:
    """Split :func:`hardware_flops_per_token` into FP8-able, routed-expert and BF16 parts."""
    fwd = forward_flops_per_token(m, seq_len, causal=causal)
    passes_layer = TRAIN_PASSES + (1.0 if recompute == "full" else 0.0)
    passes_core = TRAIN_PASSES + (1.0 if recompute in ("full", "selective") else 0.0)
    routed = fwd.mlp * _routed_share(m)
    if m.architecture == "encoder-decoder":
        total = hardware_flops_per_token(m, seq_len, recompute, causal=causal)
        return TrainFlopsSplit(low_precision=total, experts=0.0, high_precision=0.0)
    return TrainFlopsSplit(
        low_precision=passes_layer * (fwd.attn_proj + fwd.mlp - routed),
        experts=passes_layer * routed,
        high_precision=passes_core * fwd.attn_core + passes_layer * fwd.router,
        logits=TRAIN_PASSES * fwd.logits,
    )


def six_nd(active_params: float, tokens: float) -> float:
    """Kaplan et al. 2020's C = 6·N·D training FLOPs [FLOP]."""
    return 6.0 * active_params * tokens


def palm_flops_per_token(m: ModelSpec, active_params: float, seq_len: float) -> float:
    """PaLM Appendix B: 6N + 12·L·H·Q·T per token (attention non-causal) [FLOP/token]."""
    qk, _ = _head_dims(m)
    return 6.0 * active_params + 12.0 * m.n_layers * m.n_heads * qk * seq_len


def megatron_2021_flops_per_iteration(
    batch: int, seq_len: int, n_layers: int, d_model: int, vocab: int, *, recompute: bool
) -> float:
    """Narayanan et al. 2021 §5.1 closed form (MHA, f = 4h, non-causal) [FLOP/iteration]."""
    B, s, L, h, V = batch, seq_len, n_layers, d_model, vocab
    if recompute:
        return 96.0 * B * s * L * h * h * (1 + s / (6 * h) + V / (16 * L * h))
    return 72.0 * B * s * L * h * h * (1 + s / (6 * h) + V / (12 * L * h))


def prefill_flops(m: ModelSpec, batch: float, prompt_len: float) -> float:
    """Forward FLOPs to process ``batch`` prompts of ``prompt_len`` tokens [FLOP].

    Causal attention over the prompt; logits only for the last position of each prompt (what
    serving engines compute to sample the first token). An encoder-only model's "prefill" is
    its embedding forward (:func:`embed_flops`).
    """
    if m.is_encoder:
        return embed_flops(m, batch, prompt_len)
    fwd = forward_flops_per_token(m, prompt_len, causal=True)
    return batch * (prompt_len * fwd.layers + fwd.logits)


def decode_flops_per_token(m: ModelSpec, context_len: float) -> float:
    """Forward FLOPs to generate one token with ``context_len`` tokens cached [FLOP]."""
    return forward_flops_per_token(m, context_len, causal=False).total


def seq2seq_forward_flops(m: ModelSpec, enc_len: float, dec_len: float) -> float:
    """Forward FLOPs of one encoder-decoder example (T5-style) [FLOP/sequence].

    Encoder: bidirectional self-attention over enc_len. Decoder: causal self-attention over
    dec_len, cross-attention from dec_len queries to enc_len keys (K/V projected once per
    encoder token per decoder layer), FFN and logits per decoder token.
    """
    h, a = m.d_model, m.n_heads
    q_dim, kv_dim = a * m.d_head, m.kv_heads * m.d_head
    self_proj = 2.0 * _attn_proj_weights(m)
    ffn = _mlp_matrix_flops(m, m.d_ff)
    enc = enc_len * m.n_encoder_layers * (self_proj + attn_core_flops_per_token(m, enc_len, causal=False) + ffn)
    cross_q_o = 2.0 * (2 * h * q_dim)
    cross_kv = 2.0 * (2 * h * kv_dim)
    per_dec_token = (
        self_proj
        + attn_core_flops_per_token(m, dec_len, causal=True)
        + cross_q_o
        + attn_core_flops_per_token(m, enc_len, causal=False)
        + ffn
    )
    dec = m.n_layers * (dec_len * per_dec_token + enc_len * cross_kv) + dec_len * 2.0 * h * m.vocab_size
    return enc + dec


def seq2seq_train_flops(m: ModelSpec, enc_len: float, dec_len: float) -> float:
    """Model FLOPs of one encoder-decoder training example [FLOP/sequence]."""
    return TRAIN_PASSES * seq2seq_forward_flops(m, enc_len, dec_len)


def largest_layer_gemm_flops(m: ModelSpec, tokens: float, tp: int = 1) -> float:
    """FLOPs of the largest GEMM one layer runs on one device: the FFN up-projection [FLOP].

    This is the work size ``x`` the efficiency curves are functions of (Vidur profiles sharded
    shapes on one GPU: microsoft/vidur docs/profiling.md).
    """
    d_ff = m.moe.d_ff_expert if m.moe is not None else m.d_ff
    if m.moe is not None:
        # tokens routed to one expert: top_k of n_experts share the batch
        tokens = tokens * m.moe.top_k / m.moe.n_experts
    return 2.0 * tokens * m.d_model * d_ff / tp


def dense_gemm_flops(m: ModelSpec, tokens: float, tp: int = 1) -> float:
    """FLOPs of the largest non-expert GEMM of one layer on one device [FLOP]: the FFN
    up-projection of a dense model, the fused QKV projection of an MoE one."""
    if m.moe is None:
        return 2.0 * tokens * m.d_model * m.d_ff / tp
    return 2.0 * tokens * m.d_model * (m.n_heads + 2 * m.kv_heads) * m.d_head / tp


def expert_gemm_flops(m: ModelSpec, tokens: float, ep: int = 1, etp: int = 1) -> float:
    """FLOPs of one routed expert's up-projection on one expert-parallel rank [FLOP].

    Each rank holds E/ep experts and receives top_k copies of its ``tokens`` from every rank of
    the group (balanced routing), so an expert sees tokens·top_k·ep/E of them.
    """
    if m.moe is None:
        return dense_gemm_flops(m, tokens, etp)
    per_expert = tokens * m.moe.top_k * ep / m.moe.n_experts
    return 2.0 * per_expert * m.d_model * m.moe.d_ff_expert / etp


__all__ = [
    "FlopsBreakdown",
    "TRAIN_PASSES",
    "TrainFlopsSplit",
    "attn_core_flops_per_token",
    "decode_flops_per_token",
    "dense_gemm_flops",
    "embed_flops",
    "encoder_attn_core_flops_per_token",
    "mlm_head_flops_per_token",
    "mlm_train_flops_per_token",
    "expert_gemm_flops",
    "forward_flops_per_token",
    "hardware_flops_per_token",
    "largest_layer_gemm_flops",
    "megatron_2021_flops_per_iteration",
    "palm_flops_per_token",
    "prefill_flops",
    "recompute_flops_per_token",
    "seq2seq_forward_flops",
    "seq2seq_train_flops",
    "six_nd",
    "train_flops_per_token",
    "train_flops_split",
]
