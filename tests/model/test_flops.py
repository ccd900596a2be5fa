"""FLOP counts against published formulas and numbers."""

import pytest

from dcplan.io.catalog import get_model
from dcplan.model import flops as F
from dcplan.model.params import count_params
from dcplan.specs import ModelSpec


def _gpt(L, h, a, V, s=2048):
    return ModelSpec(name="t", n_layers=L, d_model=h, n_heads=a, d_ff=4 * h, vocab_size=V, max_seq_len=s,
                     activation="gelu", position="learned", bias=True)


@pytest.mark.parametrize("recompute", [False, True])
def test_megatron_2021_iteration_formula_gpt3(recompute):
    # Narayanan et al. 2021 §5.1 for the GPT-3 175B shape, batch 1536, seq 2048 (non-causal attention)
    B, s, L, h, V = 1536, 2048, 96, 12288, 51200
    published = (96 if recompute else 72) * B * s * L * h * h * (1 + s / (6 * h) + V / ((16 if recompute else 12) * L * h))
    m = _gpt(L, h, 96, V)
    per_token = F.train_flops_per_token(m, s, causal=False)
    if recompute:
        per_token += F.recompute_flops_per_token(m, s, "full", causal=False)
    assert per_token * B * s == pytest.approx(published, rel=1e-12)


def test_six_nd_llama_405b_is_3_8e25():
    m = get_model("llama-3.1-405b")
    flops = F.six_nd(count_params(m).active, 15.6e12)
    assert flops == pytest.approx(3.8e25, rel=0.01)


def test_causal_discount_gpt2_small():
    # performance-methods.md §1.3: GPT-2 small at s=1024: 854 MFLOP/token full, 798 causal
    m = get_model("gpt-2-small")
    assert F.train_flops_per_token(m, 1024, causal=False) / 1e6 == pytest.approx(854, abs=1)
    assert F.train_flops_per_token(m, 1024, causal=True) / 1e6 == pytest.approx(798, abs=1)


def test_palm_attention_share_matches_the_paper():
    # Chowdhery et al. 2022 (arXiv:2204.02311) Appendix B / Table 3: PaLM 540B at sequence 2048
    # reaches 46.2% MFU counting attention FLOPs and 45.7% without, so (6N + 12LHQT) / 6N is
    # 46.2 / 45.7 (to the rounding of the two percentages)
    m = get_model("palm-540b")
    n = m.published_params
    assert F.palm_flops_per_token(m, n, 2048) / (6 * n) == pytest.approx(46.2 / 45.7, abs=0.003)


def test_decode_flops_are_about_two_n_per_token():
    m = get_model("llama-2-70b")
    n = count_params(m).total
    per_token = F.decode_flops_per_token(m, 1)
    assert per_token == pytest.approx(2 * (n - 32000 * 8192), rel=0.01)  # input embedding is a lookup


def test_moe_flops_follow_active_experts():
    m = get_model("mixtral-8x7b")
    c = count_params(m)
    fwd = F.forward_flops_per_token(m, 1, causal=False)
    assert fwd.mlp == pytest.approx(2 * (c.experts_active_routed), rel=1e-9)


def test_hfu_adds_recompute():
    m = get_model("llama-2-7b")
    base = F.train_flops_per_token(m, 4096)
    full = F.hardware_flops_per_token(m, 4096, "full")
    sel = F.hardware_flops_per_token(m, 4096, "selective")
    assert base < sel < full
    assert full / base == pytest.approx(4 / 3, rel=0.02)  # logits are not recomputed


def test_seq2seq_flops_positive_and_scale_with_length():
    m = get_model("t5-base")
    a = F.seq2seq_train_flops(m, 128, 128)
    b = F.seq2seq_train_flops(m, 256, 256)
    assert 2 * a < b < 2.5 * a
