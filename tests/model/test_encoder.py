"""Encoder-only models (BERT, Devlin et al. 2019): FLOPs, memory and time conventions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dcplan.io.catalog import model_catalog
from dcplan.model import flops as F
from dcplan.model.memory import infer_memory, kv_bytes_per_token
from dcplan.model.params import count_params
from dcplan.specs import ModelSpec

BERTISH = ModelSpec(name="enc", architecture="encoder", n_layers=4, d_model=256, n_heads=4, d_ff=1024, vocab_size=5000,
                    max_seq_len=512, position="sinusoidal", tied_embeddings=True)


def test_encoder_train_equals_narayanan_non_causal_closed_form():
    """No causal halving: with no MLM transform and the head on every position, a masked-LM step is
    Narayanan et al. 2021's non-causal 72·B·s·L·h²(1 + s/6h + V/12Lh)."""
    B, s = 8, 128
    m = BERTISH
    got = F.train_flops_per_token(m, s) * B * s
    assert got == pytest.approx(F.megatron_2021_flops_per_iteration(B, s, m.n_layers, m.d_model, m.vocab_size, recompute=False))


def test_encoder_attention_is_bidirectional():
    dec = replace(BERTISH, architecture="decoder")
    enc_core = F.forward_flops_per_token(BERTISH, 512).attn_core
    assert enc_core == pytest.approx(2 * F.forward_flops_per_token(dec, 512, causal=True).attn_core)
    assert F.forward_flops_per_token(BERTISH, 512, causal=True).attn_core == enc_core  # causal is ignored for encoders


def test_masked_lm_head_only_where_the_objective_computes_it():
    s = 128
    fwd = F.forward_flops_per_token(BERTISH, s)
    all_pos = F.train_flops_per_token(BERTISH, s)
    masked = F.train_flops_per_token(BERTISH, s, mlm_head_frac=F.MLM_MASK_FRAC)
    assert all_pos - masked == pytest.approx(3 * (1 - F.MLM_MASK_FRAC) * fwd.logits)
    with_transform = replace(BERTISH, mlm_head=True)
    assert F.forward_flops_per_token(with_transform, s).logits - fwd.logits == 2 * 256 * 256


def test_embedding_forward_has_no_head_and_prefill_is_the_embedding():
    b, s = 4, 64
    fwd = F.forward_flops_per_token(BERTISH, s)
    assert F.embed_flops(BERTISH, b, s) == pytest.approx(b * s * fwd.layers)
    assert F.prefill_flops(BERTISH, b, s) == F.embed_flops(BERTISH, b, s)
    pooled = replace(BERTISH, pooler=True)
    assert F.embed_flops(pooled, b, s) - F.embed_flops(BERTISH, b, s) == b * 2 * 256 * 256


def test_local_attention_layers_see_their_window():
    mb = model_catalog()["modernbert-base"]
    assert (mb.sliding_window, mb.sliding_window_layers, mb.n_layers) == (128, 14, 22)
    full = F.attn_core_flops_per_token(mb, 8192, causal=False)
    near = F.attn_core_flops_per_token(mb, 128, causal=False)
    assert F.encoder_attn_core_flops_per_token(mb, 8192) == pytest.approx(8 * full + 14 * near)
    assert F.encoder_attn_core_flops_per_token(mb, 100) == pytest.approx(22 * F.attn_core_flops_per_token(mb, 100, causal=False))


def test_bert_base_forward_is_about_twice_its_weights_per_token():
    """Kaplan et al. 2020 Table 1: C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn; BERT-base at 128 tokens."""
    m = model_catalog()["bert-base"]
    c = count_params(m)
    per_token = F.embed_flops(m, 1, 128) / 128
    kaplan = 2 * c.non_embedding + 2 * m.n_layers * 128 * m.d_model
    assert per_token == pytest.approx(kaplan, rel=0.05)


def test_encoders_cache_nothing():
    m = model_catalog()["bert-large"]
    assert kv_bytes_per_token(m, "bf16") == 0.0
    mem = infer_memory(count_params(m), m, tp=1, batch=8, context_len=512, prompt_len=8 * 512, precision="bf16", calibration=_cal(),
                       logit_positions=0)
    assert mem.kv_cache == 0.0


def _cal():
    from dcplan.io.measured import calibration_for

    return calibration_for("h100-sxm", measured=False).calibration


@pytest.mark.parametrize("name, published", [("bert-base", 110e6), ("bert-large", 340e6), ("roberta-base", 125e6),
                                             ("roberta-large", 355e6), ("modernbert-base", 149e6), ("modernbert-large", 395e6)])
def test_catalog_encoders_match_their_published_size(name, published):
    m = model_catalog()[name]
    assert m.architecture == "encoder"
    assert count_params(m).total == pytest.approx(published, rel=0.02)


def test_encoder_spec_refuses_encoder_layers():
    from dcplan.errors import InputError

    with pytest.raises(InputError, match="architecture"):
        replace(BERTISH, n_encoder_layers=2)
