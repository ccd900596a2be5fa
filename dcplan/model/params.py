"""Parameter counts of a Transformer from its architecture.

Counts follow the public configs matrix by matrix (embeddings, attention projections, MLP or
experts, norms, biases), so they can be checked against published totals. MoE "active"
parameters follow llm-analysis ``get_num_active_params_per_layer``: attention + router +
(top_k routed + shared) experts + norms per layer.

Encoder-only models (BERT, Devlin et al. 2019, arXiv:1810.04805, §3; RoBERTa; ModernBERT) are
counted as ``transformers`` builds their masked-LM model (``BertForMaskedLM``,
``RobertaForMaskedLM``, ``ModernBertForMaskedLM``): token, learned-position and token-type
embeddings with their norm, the layers, the masked-LM head (dense transform, norm, and the
output layer tied to the token embedding with its own bias over the vocabulary); a pooler only
where the spec asks for one (``BertModel``'s; the masked-LM model builds none). BERT-base counts
109.5M this way (the paper's "110M").
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.specs import ModelSpec


@dataclass(frozen=True, kw_only=True)
class ParamCounts:
    """Parameter counts by part [parameters]."""

    embedding: float
    """Token embedding (plus learned positions)."""
    lm_head: float
    """Output projection (0 when tied to the embedding), with an encoder's masked-LM transform,
    its norm and the output bias."""
    attention: float
    """All layers' attention projections (and MLA and QK norms, T5 position biases), biases included."""
    mlp_dense: float
    """Dense feed-forward layers."""
    experts_routed: float
    """All routed experts of all MoE layers."""
    experts_shared: float
    """Shared experts of all MoE layers."""
    router: float
    norms: float
    experts_active_routed: float
    """Routed expert parameters a token passes through (top_k of them)."""

    @property
    def total(self) -> float:
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.mlp_dense
            + self.experts_routed
            + self.experts_shared
            + self.router
            + self.norms
        )

    @property
    def active(self) -> float:
        """Parameters one token passes through (equals total for dense models)."""
        return self.total - self.experts_routed + self.experts_active_routed

    @property
    def non_embedding(self) -> float:
        return self.total - self.embedding - self.lm_head

    @property
    def expert_total(self) -> float:
        """Parameters that expert parallelism shards."""
        return self.experts_routed


def attention_params_per_layer(m: ModelSpec, *, cross: bool = False) -> float:
    """Attention projection parameters of one layer (Q, K, V, O, and MLA down/up projections)."""
    h, a = m.d_model, m.n_heads
    if m.mla is not None and not cross:
        mla = m.mla
        qk_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        if mla.q_lora_rank:
            q = h * mla.q_lora_rank + mla.q_lora_rank + mla.q_lora_rank * a * qk_dim  # down, norm, up
        else:
            q = h * a * qk_dim
        kv = h * (mla.kv_lora_rank + mla.qk_rope_head_dim) + mla.kv_lora_rank
        kv += mla.kv_lora_rank * a * (mla.qk_nope_head_dim + mla.v_head_dim)
        out = a * mla.v_head_dim * h
        return float(q + kv + out)
    q_dim = a * m.d_head
    kv_dim = m.kv_heads * m.d_head
    weights = h * q_dim + 2 * h * kv_dim + q_dim * h
    biases = (q_dim + 2 * kv_dim if m.has_qkv_bias else 0) + (h if m.bias else 0)
    qk_norm = 2 * m.d_head if (m.qk_norm and not cross) else 0
    return float(weights + biases + qk_norm)


def mlp_params(m: ModelSpec, d_ff: int) -> float:
    """One feed-forward block of hidden size ``d_ff`` (2 matrices, or 3 when gated)."""
    h = m.d_model
    mats = 3 if m.gated else 2
    biases = (d_ff * (2 if m.gated else 1) + h) if m.has_mlp_bias else 0
    return float(mats * h * d_ff + biases)


def _norm_params(m: ModelSpec) -> float:
    return float(2 * m.d_model if m.norm == "layernorm" else m.d_model)


def _norms_per_layer(m: ModelSpec, cross: bool) -> int:
    base = m.norms_per_layer if m.norms_per_layer is not None else 2
    return base + (1 if cross else 0)


def _encoder_head_params(m: ModelSpec) -> float:
    """Masked-LM transform (dense, norm), output bias and pooler of an encoder-only model."""
    h = m.d_model
    head = float(h * h + (h if m.mlm_head_bias else 0)) + _norm_params(m) if m.mlm_head else 0.0
    head += float(m.vocab_size) if m.output_bias else 0.0
    return head + (float(h * h + h) if m.pooler else 0.0)


def count_params(m: ModelSpec) -> ParamCounts:
    """Count parameters of ``m`` by part (see :class:`ParamCounts`)."""
    h = m.d_model
    embedding = float(m.vocab_size * h + m.type_vocab_size * h)
    if m.position == "learned":
        embedding += m.max_seq_len * h
    lm_head = (0.0 if m.tied_embeddings else float(m.vocab_size * h)) + _encoder_head_params(m)

    dec_layers = m.n_layers
    enc_layers = m.n_encoder_layers if m.architecture == "encoder-decoder" else 0
    attention = attention_params_per_layer(m) * (dec_layers + enc_layers)
    if enc_layers:
        attention += attention_params_per_layer(m, cross=True) * dec_layers
    # T5: one (buckets x heads) relative position-bias table in the first layer of each stack
    attention += float(m.relative_attention_buckets * m.n_heads * (2 if enc_layers else 1))
    # Two norms per decoder-only/encoder layer (norms_per_layer where a config says otherwise),
    # one more per decoder layer with cross-attention, one final norm per stack (BLOOM adds one
    # after the embedding: small, counted as final).
    per_dec = _norms_per_layer(m, cross=bool(enc_layers))
    per_enc = _norms_per_layer(m, cross=False)
    norms = _norm_params(m) * (per_dec * dec_layers + per_enc * enc_layers + (2 if enc_layers else 1))

    moe = m.moe
    if moe is None:
        mlp_dense = mlp_params(m, m.d_ff) * (dec_layers + enc_layers)
        routed = shared = router = active_routed = 0.0
    else:
        moe_layers = dec_layers - moe.first_dense_layers
        mlp_dense = mlp_params(m, m.d_ff) * (moe.first_dense_layers + enc_layers)
        one_expert = mlp_params(m, moe.d_ff_expert)
        routed = one_expert * moe.n_experts * moe_layers
        shared = one_expert * moe.n_shared_experts * moe_layers
        router = float(h * moe.n_experts * moe_layers)
        active_routed = one_expert * moe.top_k * moe_layers
    return ParamCounts(
        embedding=embedding,
        lm_head=lm_head,
        attention=attention,
        mlp_dense=mlp_dense,
        experts_routed=routed,
        experts_shared=shared,
        router=router,
        norms=norms,
        experts_active_routed=active_routed,
    )
