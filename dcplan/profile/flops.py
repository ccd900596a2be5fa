"""Analytical FLOPs of each measured operation, from dcplan's model (plain Python, no torch).

Every count comes from :mod:`dcplan.model.flops` applied to the :class:`ModelSpec` of the
torch module that ran (``TransformerConfig.model_spec``), so the profile's FLOPs are the ones
the model predicts with. Convention: matrix multiplies only, FMA = 2 FLOPs, causal attention
halved, training = 3 forwards, no recomputation (dcplan.model.flops docstring).

``torch.utils.flop_counter.FlopCounterMode`` counts attention without the causal mask (its
SDPA formulas say so; with the MATH backend attention is two plain matmuls, forward and
backward 3x forward). :func:`causal_excess` is what it counts on top of the causal-aware
figure, so ``counter - causal_excess`` must equal the analytical count.
"""

from __future__ import annotations

from dcplan.model import flops as F
from dcplan.specs import ModelSpec


def _core(m: ModelSpec, kv_len: float, causal: bool) -> float:
    return F.attn_core_flops_per_token(m, kv_len, causal=causal)


def train_flops(m: ModelSpec, batch: int, seq_len: int) -> float:
    """Model FLOPs of one decoder train step of ``batch`` sequences [FLOP]."""
    return F.train_flops_per_token(m, seq_len) * batch * seq_len


def prefill_flops(m: ModelSpec, batch: int, prompt_len: int) -> float:
    """Forward FLOPs of a prefill, logits of the last position only [FLOP]."""
    return F.prefill_flops(m, batch, prompt_len)


def decode_flops(m: ModelSpec, batch: int, context_len: int) -> float:
    """One decode step: ``batch`` new tokens each attending to ``context_len`` keys [FLOP]."""
    return batch * F.decode_flops_per_token(m, context_len)


def seq2seq_train_flops(m: ModelSpec, batch: int, src_len: int, tgt_len: int) -> float:
    """One encoder-decoder train step [FLOP]."""
    return batch * F.seq2seq_train_flops(m, src_len, tgt_len)


def seq2seq_generate_flops(m: ModelSpec, batch: int, src_len: int, new_tokens: int) -> float:
    """Encode ``src_len`` tokens, project cross K/V once, then decode ``new_tokens`` greedily [FLOP].

    The t-th generated token (t = 1..n) attends to t cached decoder tokens and to the
    ``src_len`` encoder outputs; logits for every generated token.
    """
    fb = F.forward_flops_per_token(m, src_len, causal=False)
    L = m.n_layers
    proj, mlp = fb.attn_proj / L, fb.mlp / L
    h, q_dim, kv_dim = m.d_model, m.n_heads * m.d_head, m.kv_heads * m.d_head
    enc = src_len * m.n_encoder_layers * (proj + _core(m, src_len, False) + mlp)
    cross_kv = L * src_len * 2.0 * (2 * h * kv_dim)
    dec = 0.0
    for t in range(1, new_tokens + 1):
        dec += L * (proj + _core(m, t, False) + 2.0 * (2 * h * q_dim) + _core(m, src_len, False) + mlp) + fb.logits
    return batch * (enc + cross_kv + dec)


def seq2seq_encoder_flops(m: ModelSpec, batch: int, src_len: int) -> float:
    """Forward FLOPs of the encoder stack alone [FLOP]."""
    fb = F.forward_flops_per_token(m, src_len, causal=False)
    L = m.n_layers
    return batch * src_len * m.n_encoder_layers * (fb.attn_proj / L + _core(m, src_len, False) + fb.mlp / L)


def mlm_train_flops(m: ModelSpec, batch: int, seq_len: int, masked: int | None = None) -> float:
    """One masked-LM train step of an encoder: the layers over every position, the head over
    ``masked`` positions per sequence (None: all, as transformers' ``*ForMaskedLM``) [FLOP]."""
    frac = 1.0 if masked is None else masked / seq_len
    return F.mlm_train_flops_per_token(m, seq_len, mlm_head_frac=frac) * batch * seq_len


def embed_flops(m: ModelSpec, batch: int, seq_len: int) -> float:
    """One embedding forward of an encoder: every position, no head [FLOP]."""
    return F.embed_flops(m, batch, seq_len)


def attention_flops(m: ModelSpec, batch: int, seq_len: int, *, causal: bool) -> float:
    """Forward QK^T + AV of one attention layer over ``seq_len`` tokens [FLOP]."""
    return batch * seq_len * _core(m, seq_len, causal)


def causal_excess(m: ModelSpec, batch: int, seq_len: int, *, passes: float, layers: int | None = None) -> float:
    """FLOPs FlopCounterMode counts on the masked half of causal attention [FLOP].

    ``passes`` is 3 for a train step (forward + 2 backward matmuls), 1 for a forward.
    """
    n_layers = m.n_layers if layers is None else layers
    per_token = _core(m, seq_len, False) - _core(m, seq_len, True)
    return passes * batch * seq_len * n_layers * per_token
