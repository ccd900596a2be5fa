"""A plausible architecture for a bare parameter count (``--params N [--active-params A]``).

The rule, documented in the README:
- a Llama-3-style decoder: SwiGLU FFN of 3.5 x d_model rounded up to a multiple of 256, RoPE,
  RMSNorm, untied embeddings, heads of 128 with 8 KV heads (Llama Team 2024, arXiv:2407.21783,
  Table 3: 8B and 70B have d_ff/d_model = 3.5), the 128,256-token Llama 3 vocabulary from 3B
  parameters up and Llama 2's 32,000 below (a large vocabulary would be most of a small model);
- aspect ratio d_model / n_layers = 128 (GPT-3 6.7B, 13B and 175B, Brown et al. 2020 Table 2.1;
  Llama 2 7B; Llama 3 405B: 16384/126 = 130): d_model = 128·L, then L is chosen so the total
  parameter count is closest to N;
- with ``active_params`` (an MoE): the dense shape is derived from the active count, every FFN
  becomes top-2 routing over experts of half the dense FFN width (so a token's FFN work equals
  the dense one's), and the expert count is what brings the total to N (Mixtral-style).
"""

from __future__ import annotations

import math

from dcplan.errors import InputError
from dcplan.model.params import count_params
from dcplan.specs import ModelSpec, MoESpec

ASPECT_RATIO = 128
VOCAB = 128256
SMALL_VOCAB = 32000
SMALL_MODEL_PARAMS = 3e9
HEAD_DIM = 128
KV_HEADS = 8
FFN_RATIO = 3.5
MIN_PARAMS = 1e6


def _dense(d_model: int, n_layers: int, max_seq_len: int, vocab: int = VOCAB) -> ModelSpec:
    heads = max(1, d_model // HEAD_DIM)
    kv = KV_HEADS if heads % KV_HEADS == 0 else heads
    d_ff = int(math.ceil(FFN_RATIO * d_model / 256) * 256)
    return ModelSpec(
        name="derived",
        display_name="derived",
        n_layers=n_layers,
        d_model=d_model,
        n_heads=heads,
        n_kv_heads=kv,
        head_dim=HEAD_DIM,
        d_ff=d_ff,
        vocab_size=vocab,
        max_seq_len=max_seq_len,
        activation="swiglu",
        position="rope",
        norm="rmsnorm",
        tied_embeddings=False,
        bias=False,
    )


def derive_dense(params: float, max_seq_len: int = 8192) -> ModelSpec:
    """The dense decoder of about ``params`` parameters under the rule above."""
    if not math.isfinite(params) or params < MIN_PARAMS:
        raise InputError("params", f"must be at least {MIN_PARAMS:.0e} to derive a Transformer shape, got {params:g}")
    vocab = VOCAB if params >= SMALL_MODEL_PARAMS else SMALL_VOCAB
    best: tuple[float, ModelSpec] | None = None
    for n_layers in range(1, 400):
        d_model = ASPECT_RATIO * n_layers
        spec = _dense(d_model, n_layers, max_seq_len, vocab)
        err = abs(count_params(spec).total - params)
        if best is None or err < best[0]:
            best = (err, spec)
        elif count_params(spec).total > 2 * params:
            break
    assert best is not None
    spec = best[1]
    # refine the depth at this width
    candidates = [_dense(spec.d_model, L, max_seq_len, vocab) for L in range(max(1, spec.n_layers // 2), spec.n_layers * 2 + 1)]
    spec = min(candidates, key=lambda s: abs(count_params(s).total - params))
    return _named(spec, params, None)


def derive_moe(params: float, active_params: float, max_seq_len: int = 8192) -> ModelSpec:
    """An MoE with about ``params`` total and ``active_params`` active parameters."""
    if not math.isfinite(active_params) or active_params <= 0:
        raise InputError("active_params", f"must be > 0, got {active_params:g}")
    if active_params > params:
        raise InputError("active_params", f"must not exceed --params ({params:g}), got {active_params:g}")
    dense = derive_dense(active_params, max_seq_len)
    d_ff_expert = dense.d_ff // 2
    probe = _with_experts(dense, 2, d_ff_expert)
    counts = count_params(probe)
    one_expert_all_layers = counts.experts_routed / 2
    non_expert = counts.total - counts.experts_routed
    n_experts = max(2, round((params - non_expert) / one_expert_all_layers))
    return _named(_with_experts(dense, n_experts, d_ff_expert), params, active_params)


def _with_experts(dense: ModelSpec, n_experts: int, d_ff_expert: int) -> ModelSpec:
    from dataclasses import replace

    return replace(dense, moe=MoESpec(n_experts=n_experts, top_k=2, d_ff_expert=d_ff_expert))


def _named(spec: ModelSpec, params: float, active: float | None) -> ModelSpec:
    from dataclasses import replace

    from dcplan.units import human_count

    label = f"derived-{human_count(params)}" + (f"-a{human_count(active)}" if active else "")
    return replace(
        spec,
        name=label,
        display_name=f"derived shape for {human_count(params)} parameters" + (f" ({human_count(active)} active)" if active else ""),
        source="dcplan.model.shapes rule (README: 'Models given by parameter count')",
        quality="derived",
    )
