"""Encoder-decoder train steps, generation and memory from the decoder-only terms."""

from dataclasses import replace

import pytest

from dcplan.calibrate.predict import SPEED_OF_LIGHT
from dcplan.io.catalog import get_hardware
from dcplan.model import flops as F
from dcplan.model import seq2seq as S
from dcplan.model.params import count_params
from dcplan.model.time import decode_step_time
from dcplan.model.train_time import ADAM_UPDATE_BYTES_PER_PARAM
from dcplan.profile.config import TransformerConfig
from dcplan.specs import DispatchOverhead

T5 = TransformerConfig(d_model=768, n_layers=12, n_encoder_layers=12, n_heads=12, d_ff=3072, vocab_size=32128).model_spec()
HW = get_hardware("h200")


def test_stack_counts_split_the_weights():
    counts = count_params(T5)
    enc, dec = S.stack_counts(T5, counts)
    _, cross_kv = S._cross_proj_params(T5)
    # both stacks read the tied embedding; the cross-attention K/V projections run once, outside the steps
    assert enc.total + dec.total - counts.embedding + cross_kv * T5.n_layers == pytest.approx(counts.total)


def test_train_step_at_speed_of_light_is_three_passes_plus_the_optimizer():
    counts = count_params(T5)
    t = S.seq2seq_train_step_time(T5, counts, HW, SPEED_OF_LIGHT, batch=32, src_len=512, tgt_len=128, precision="bf16")
    flops = 32 * F.seq2seq_train_flops(T5, 512, 128)
    opt = counts.total * ADAM_UPDATE_BYTES_PER_PARAM / HW.hbm_bytes_per_s
    assert t == pytest.approx(flops / HW.peak("bf16") + opt, rel=1e-9)


def test_generation_is_an_encode_and_one_decode_step_per_token():
    counts = count_params(T5)
    cal = replace(SPEED_OF_LIGHT, decode_dispatch={"eager": DispatchOverhead(kernel_s=20e-6, host_overlap_frac=1.0)})
    t = S.generate_time(T5, counts, HW, cal, batch=16, src_len=128, new_tokens=64, precision="bf16", impl="eager")
    enc = S.encode_time(T5, counts, HW, cal, batch=16, src_len=128, precision="bf16")
    _, dec_counts = S.stack_counts(T5, counts)
    steps = [decode_step_time(T5, dec_counts, HW, cal, tp=1, batch=16, context_len=i + 128, precision="bf16", impl="eager")[0]
             for i in range(1, 65)]
    assert t == pytest.approx(enc + sum(steps), rel=1e-9)  # 64 steps sampled at 4 evenly spaced contexts: affine, exact
    short = S.generate_time(T5, counts, HW, cal, batch=16, src_len=128, new_tokens=3, precision="bf16", impl="eager")
    assert short == pytest.approx(enc + sum(steps[:3]), rel=1e-12)  # summed step by step
    # launch-bound: each step is 12 decoder layers x 20 kernels (cross-attention included) x 20 us
    assert steps[0] == pytest.approx(12 * 20 * 20e-6, rel=1e-9)


def test_train_memory_keeps_logits_of_the_target_tokens_only():
    counts = count_params(T5)
    m = S.seq2seq_train_memory(counts, T5, batch=32, src_len=512, tgt_len=128, precision="bf16", calibration=SPEED_OF_LIGHT)
    assert m.logits == 4.0 * 32 * 128 * T5.vocab_size
    assert m.weights + m.gradients + m.optimizer == pytest.approx(16 * counts.total)
    longer = S.seq2seq_train_memory(counts, T5, batch=32, src_len=1024, tgt_len=128, precision="bf16", calibration=SPEED_OF_LIGHT)
    assert longer.activations > m.activations and longer.logits == m.logits


def test_generation_memory_peaks_at_encoding_or_decoding():
    counts = count_params(T5)
    m = S.generate_memory(counts, T5, batch=64, src_len=128, new_tokens=64, precision="bf16", calibration=SPEED_OF_LIGHT, logit_bytes=2.0)
    weights = 2.0 * counts.total
    kv = T5.n_layers * 2 * 768 * 2 * 64 * (128 + 64)
    assert m.weights == weights and m.kv_cache == pytest.approx(kv, rel=1e-3)
