"""Memory model against published numbers: KV cache, ZeRO stages, Korthikanti activations."""

import pytest

from dcplan.io.catalog import default_calibration, get_model
from dcplan.model.memory import activation_bytes_per_layer, kv_bytes_per_token, model_state_bytes
from dcplan.model.params import ParamCounts
from dcplan.specs import ModelSpec, ParallelLayout


def test_kv_llama2_70b_bf16():
    assert kv_bytes_per_token(get_model("llama-2-70b"), "bf16") == 327_680


def test_kv_llama31_405b_bf16():
    # performance-methods.md §2.3: 516 KB/token, ~66 GB for 128K tokens
    kv = kv_bytes_per_token(get_model("llama-3.1-405b"), "bf16")
    assert kv == 516_096
    assert kv * 128_000 / 1e9 == pytest.approx(66, abs=0.1)


def test_kv_split_over_tp_keeps_one_head_per_rank():
    m = get_model("llama-2-70b")  # 8 kv heads
    assert kv_bytes_per_token(m, "bf16", tp=8) == 327_680 / 8
    assert kv_bytes_per_token(m, "bf16", tp=16) == 327_680 / 8


def test_kv_mla_caches_the_latent():
    m = get_model("deepseek-v3")
    assert kv_bytes_per_token(m, "bf16") == 61 * (512 + 64) * 2


def _flat(psi: float) -> ParamCounts:
    return ParamCounts(embedding=0, lm_head=0, attention=0, mlp_dense=psi, experts_routed=0, experts_shared=0,
                       router=0, norms=0, experts_active_routed=0)


@pytest.mark.parametrize("zero,expected_gb", [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_paper_figure1(zero, expected_gb):
    # Rajbhandari et al. 2020, Fig. 1: 7.5B parameters, 64 GPUs, K = 12
    m = get_model("llama-2-7b")
    lay = ParallelLayout(dp=64, zero=zero)
    total = sum(model_state_bytes(_flat(7.5e9), m, lay, "bf16"))
    assert total / 1e9 == pytest.approx(expected_gb, abs=0.06)


def _std(h=12288, a=96, L=96):
    return ModelSpec(name="t", n_layers=L, d_model=h, n_heads=a, d_ff=4 * h, vocab_size=51200, activation="gelu")


S, B = 2048, 1


def test_korthikanti_no_parallelism():
    m = _std()
    h, a = m.d_model, m.n_heads
    got = activation_bytes_per_layer(m, S, B, flash_attention=False)
    assert got == pytest.approx(S * B * h * (34 + 5 * a * S / h))


def test_korthikanti_tensor_parallel():
    m, t = _std(), 8
    h, a = m.d_model, m.n_heads
    got = activation_bytes_per_layer(m, S, B, tp=t, flash_attention=False)
    assert got == pytest.approx(S * B * h * (10 + 24 / t + 5 * a * S / (h * t)))


def test_korthikanti_tp_sequence_parallel():
    m, t = _std(), 8
    h, a = m.d_model, m.n_heads
    got = activation_bytes_per_layer(m, S, B, tp=t, sequence_parallel=True, flash_attention=False)
    assert got == pytest.approx(S * B * h * (34 / t + 5 * a * S / (h * t)))


def test_selective_and_full_recompute():
    # Korthikanti et al. 2022 Table 2 with selective recompute drops the 5as/h terms: 10 + 24/t
    # without SP, 34/t with it. dcplan's selective also recomputes the two norms and the GeLU
    # (Megatron-Core --recompute-modules layernorm mlp): it stores neither the norm outputs (the
    # QKV and MLP inputs, 2 + 2 of the replicated 10) nor the GeLU output (8 of the 24).
    m, t = _std(), 8
    h = m.d_model
    assert activation_bytes_per_layer(m, S, B, tp=t, recompute="selective", flash_attention=False) == pytest.approx(S * B * h * (6 + 16 / t))
    assert activation_bytes_per_layer(m, S, B, tp=t, sequence_parallel=True, recompute="selective") == pytest.approx(S * B * h * 22 / t)
    assert activation_bytes_per_layer(m, S, B, recompute="full") == pytest.approx(2 * S * B * h)


def test_no_dropout_masks_for_rope_models():
    # RoPE models train with dropout 0 (Llama 2, arXiv:2307.09288): the two 1-byte masks go
    from dataclasses import replace

    m = replace(_std(), position="rope")
    assert activation_bytes_per_layer(m, S, B) == pytest.approx(S * B * m.d_model * 32)


def test_megatron_generalised_ffn_width():
    # Megatron-LM theoretical_memory_usage.py: 18 + 4 f/h for non-gated FFNs of any width
    m = ModelSpec(name="t", n_layers=2, d_model=1024, n_heads=16, d_ff=2816, vocab_size=1000, activation="gelu")
    assert activation_bytes_per_layer(m, S, B) == pytest.approx(S * B * 1024 * (18 + 4 * 2816 / 1024))


def test_calibrated_overhead_is_added():
    from dataclasses import replace

    from dcplan.model.memory import train_memory
    from dcplan.model.params import count_params

    m = get_model("gpt-2-small")
    cal = default_calibration()
    base = train_memory(count_params(m), m, ParallelLayout(), seq_len=1024, precision="bf16", n_microbatches=1,
                        calibration=replace(cal, memory_factor=1.0, memory_constant_bytes=0.0))
    more = train_memory(count_params(m), m, ParallelLayout(), seq_len=1024, precision="bf16", n_microbatches=1,
                        calibration=replace(cal, memory_factor=1.5, memory_constant_bytes=1e9))
    assert more.total == pytest.approx(base.total * 1.5 + 1e9)


# --- inference memory: what torch allocates -------------------------------------------------


def _infer(**kw):
    from dcplan.calibrate.predict import SPEED_OF_LIGHT
    from dcplan.model.memory import infer_memory
    from dcplan.model.params import count_params
    from dcplan.profile.config import TransformerConfig

    m = TransformerConfig(d_model=1024, n_layers=4, n_heads=8, vocab_size=32000).model_spec()
    args = {"tp": 1, "batch": 64, "context_len": 2048, "prompt_len": 64, "precision": "bf16", "calibration": SPEED_OF_LIGHT}
    return m, count_params(m), infer_memory(count_params(m), m, **{**args, **kw})


def test_allocator_rounds_to_512_bytes():
    from dcplan.model.memory import allocated_bytes

    assert allocated_bytes(1) == 512 and allocated_bytes(512) == 512 and allocated_bytes(513) == 1024
    assert allocated_bytes(100, tensors=3) == 1536


def test_static_kv_cache_is_one_tensor_per_layer_for_k_and_for_v():
    m, counts, mem = _infer()
    # 4 layers x K and V x 64 sequences x 8 heads x 2048 tokens x 128 x 2 bytes: what the H200 profile measured (2.15 GB)
    assert mem.kv_cache == 4 * 2 * 64 * 8 * 2048 * 128 * 2
    _, _, grown = _infer(kv_layout="dynamic")  # torch.cat copies one layer's K and V while the cache grows
    assert grown.kv_cache == mem.kv_cache * 5 / 4


def test_logits_of_the_sampled_positions_at_their_dtype():
    _, _, fp32 = _infer()
    _, _, bf16 = _infer(logit_bytes=2.0)
    _, _, every = _infer(logit_positions=64 * 64, logit_bytes=2.0)
    assert fp32.activations - bf16.activations == pytest.approx(64 * 32000 * 2, abs=512)
    assert every.activations - bf16.activations == pytest.approx(63 * 64 * 32000 * 2, abs=512)


def test_unknown_kv_layout_is_an_input_error():
    from dcplan.errors import InputError

    with pytest.raises(InputError, match="kv_layout"):
        _infer(kv_layout="paged-ish")


def test_layer_transients_follow_the_larger_stage():
    from dcplan.model.memory import layer_transient_bytes

    m, _, _ = _infer()
    # attention stage 3d + 3 d_q + 2 d_kv = 8 d; MLP stage 3d + 2 f = 11 d: the MLP's sets the peak
    assert layer_transient_bytes(m, 1000) == 1000 * 2 * 11 * 1024
def _megatron_estimator_activations(s, b, h, f, L, p, v, t, m_batches, vocab):
    """Megatron-LM megatron/training/theoretical_memory_usage.py compute_activation_memory (SP
    with selective recompute), transcribed: per layer s·b·h·(18 + 4f/h), L layers on the first
    stage, embedding inputs for p in-flight micro-batches, the interleaving penalty or the
    m/p discount, all over tp."""
    act = s * b * h * (18 + 4 * f / h) * L
    act += 8 * s * b * p + s * b * h * p
    if v > 1:
        act *= 1 + (p - 1) / (p * v)
    elif p > 1:
        act *= min(1, m_batches / p)
    if p == 1:
        act += s * b * h * 4 * (1 + vocab / h)
    return act / t


@pytest.mark.parametrize("p,v,m_batches", [(8, 1, 64), (8, 2, 64), (8, 4, 64), (8, 1, 4)])
def test_activations_match_megatron_memory_estimator(p, v, m_batches):
    # GPT-3 175B at TP8 with sequence parallelism and fused attention (the estimator's
    # "selective" count): interleaved 1F1B in-flight micro-batches as Megatron counts them
    from dcplan.model.memory import train_memory
    from dcplan.model.params import count_params

    m = _std()
    lay = ParallelLayout(tp=8, pp=p, vpp=v, dp=1, recompute="none")
    got = train_memory(count_params(m), m, lay, seq_len=S, precision="bf16", n_microbatches=m_batches,
                       calibration=default_calibration())
    want = _megatron_estimator_activations(S, B, m.d_model, m.d_ff, m.n_layers, p, v, 8, m_batches, m.vocab_size)
    assert got.activations == pytest.approx(want, rel=1e-9)


def test_llama3_405b_tp8_pp16_fits_80gb_without_full_recompute():
    # arXiv:2407.21783 §3.3.2: 8K pretraining at TP8 PP16 without activation checkpointing, with
    # FSDP sharding optimizer states and gradients (ZeRO-2)
    from dcplan.model.memory import train_memory
    from dcplan.model.params import count_params

    m = get_model("llama-3.1-405b")
    lay = ParallelLayout(tp=8, pp=16, dp=128, zero=2, recompute="none")
    mem = train_memory(count_params(m), m, lay, seq_len=8192, precision="bf16", n_microbatches=16,
                       calibration=default_calibration())
    assert mem.total < 80e9
    assert mem.activations > 40e9  # it is the activations that fill the card, not the states


def test_fsdp_holds_two_units_of_weights_and_one_of_gradients_unsharded():
    # PyTorch FSDP(limit_all_gathers=True): "GPU memory usage from only two consecutive FSDP
    # instances"; the unit being reduced holds its gradients unsharded
    from dcplan.model.memory import FSDP_UNITS_IN_FLIGHT, fsdp_buffer_bytes, fsdp_unit_params, train_memory
    from dcplan.model.params import count_params

    m = get_model("llama-2-7b")
    counts = count_params(m)
    lay = ParallelLayout(dp=64, zero=3, recompute="none")
    unit = fsdp_unit_params(counts, m, lay)
    per_layer = (counts.total - counts.embedding - counts.lm_head) / m.n_layers
    assert unit == pytest.approx(per_layer)
    w, g = fsdp_buffer_bytes(counts, m, lay, "bf16", grad_bytes=4.0)
    assert w == pytest.approx(FSDP_UNITS_IN_FLIGHT * unit * 2.0) and g == pytest.approx(unit * 4.0)
    mem = train_memory(counts, m, lay, seq_len=4096, precision="bf16", n_microbatches=1,
                       calibration=default_calibration(), grad_bytes=4.0)
    states = model_state_bytes(counts, m, lay, "bf16", grad_bytes=4.0)
    assert mem.weights == pytest.approx(states[0] + w) and mem.gradients == pytest.approx(states[1] + g)
    # no buffers under the distributed optimizer
    assert fsdp_buffer_bytes(counts, m, ParallelLayout(dp=64, zero=1), "bf16") == (0.0, 0.0)


def test_fsdp_shards_keep_the_zero_paper_16_bytes_even_with_fp32_gradient_buffers():
    lay = ParallelLayout(dp=64, zero=3)
    total = sum(model_state_bytes(_flat(7.5e9), get_model("llama-2-7b"), lay, "bf16", grad_bytes=4.0))
    assert total == pytest.approx(16 * 7.5e9 / 64)


def test_fsdp_unit_of_an_moe_layer_is_its_experts_over_ep_times_etp():
    from dcplan.model.memory import fsdp_unit_params
    from dcplan.model.params import count_params

    m = get_model("qwen3-235b-a22b")
    counts = count_params(m)
    lay = ParallelLayout(tp=2, dp=128, ep=4, zero=3)
    dense = (counts.total - counts.embedding - counts.lm_head - counts.expert_total) / m.n_layers / 2
    experts = counts.expert_total / m.n_layers / (4 * lay.etp)
    assert fsdp_unit_params(counts, m, lay) == pytest.approx(dense + experts)
