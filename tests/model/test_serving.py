"""Serving layouts, request-length mixes and MoE decode work (dcplan.model.serving, replica, time)."""

import math

import pytest

from dcplan import default_calibration, get_hardware, get_model
from dcplan.errors import InputError
from dcplan.model import replica as R
from dcplan.model import serving as S
from dcplan.model.memory import kv_bytes_per_token
from dcplan.model.params import count_params
from dcplan.model.time import decode_step_time, prefill_time


def test_fixed_mix_context_is_input_plus_half_output():
    mix = S.LengthMix.fixed(1000, 200)
    assert mix.mean_input == 1000 and mix.mean_output == 200
    assert mix.decode_context == pytest.approx(1100)
    assert mix.reserved_context == pytest.approx(1200)


def test_mix_weights_slots_by_residence():
    # a long-output request holds its slot 9x longer than a short one: its context dominates
    mix = S.LengthMix(((0.5, 100.0, 100.0), (0.5, 1000.0, 900.0)))
    expected = (100 * (100 + 50) + 900 * (1000 + 450)) / (100 + 900)
    assert mix.decode_context == pytest.approx(expected)
    scaled = mix.rescaled(800.0, max_output=1000.0)
    assert scaled.mean_output == pytest.approx(800.0)
    assert max(o for _, _, o in scaled.cells) <= 1000.0


def test_bad_mix_and_layout_are_input_errors():
    with pytest.raises(InputError):
        S.LengthMix(())
    with pytest.raises(InputError):
        S.LengthMix(((1.0, -5.0, 10.0),))
    with pytest.raises(InputError) as exc:
        S.ServingLayout(tp=8, ep=3)
    assert exc.value.field == "ep"


def test_ep_must_divide_experts_and_needs_an_moe():
    mixtral = get_model("mixtral-8x7b")
    with pytest.raises(InputError) as exc:
        S.check_layout(mixtral, S.ServingLayout(tp=6, ep=3, attention_dp=True))
    assert exc.value.field == "ep" and "8 routed experts" in exc.value.message
    with pytest.raises(InputError) as exc:
        S.check_layout(get_model("llama-2-70b"), S.ServingLayout(tp=8, ep=2))
    assert exc.value.field == "ep"


def test_experts_touched_grows_to_all():
    ds = get_model("deepseek-v3")
    fracs = [S.experts_touched_frac(ds, t) for t in (1, 8, 64, 512, 4096)]
    assert fracs[0] == pytest.approx(8 / 256)
    assert all(a < b for a, b in zip(fracs[:-1], fracs[1:], strict=True))
    assert fracs[-1] == pytest.approx(1.0, abs=1e-6)
    assert S.experts_touched_frac(get_model("llama-2-70b"), 1) == 1.0


def test_dense_weights_split_over_tp_and_attention_dp_replicates():
    m = get_model("llama-2-70b")
    c = count_params(m)
    assert S.weights_per_device(c, S.ServingLayout(tp=4), "fp8") == pytest.approx(c.total / 4)
    ds = get_model("deepseek-v3")
    cd = count_params(ds)
    sharded = S.weights_per_device(cd, S.ServingLayout(tp=8, ep=8), "fp8")
    dp = S.weights_per_device(cd, S.ServingLayout(tp=8, ep=8, attention_dp=True), "fp8")
    dense = cd.total - cd.experts_routed
    assert dp - sharded == pytest.approx(dense * (1 - 1 / 8))
    assert dp == pytest.approx(dense + cd.experts_routed / 8)


def test_moe_decode_reads_more_experts_as_the_batch_grows():
    ds = get_model("deepseek-v3")
    c = count_params(ds)
    lay = S.ServingLayout(tp=8, ep=8, attention_dp=True)
    small = S.decode_work(ds, c, lay, batch=1, context_len=1000, precision="fp8", kv_precision="fp8")
    large = S.decode_work(ds, c, lay, batch=2048, context_len=1000, precision="fp8", kv_precision="fp8")
    assert large.experts_touched_frac > 0.99 > 0.1 > small.experts_touched_frac
    assert large.weight_bytes > 3 * small.weight_bytes


def test_mla_decode_attention_runs_in_the_latent_space():
    ds = get_model("deepseek-v3")
    mla = S.decode_attention_flops_per_token(ds, 4096)
    a, r, kv = ds.n_heads, ds.mla.qk_rope_head_dim, ds.mla.kv_lora_rank
    assert mla == pytest.approx(2 * a * 4096 * (2 * kv + r) * ds.n_layers)
    # the absorbed form costs ~3.4x the up-projected (MHA-style) count for DeepSeek-V3
    mha = 2 * a * 4096 * (ds.mla.qk_nope_head_dim + r + ds.mla.v_head_dim) * ds.n_layers
    assert 3.0 < mla / mha < 3.6
    # MLA caches the latent once per token, whatever the layout (replicated over tp)
    assert S.kv_bytes_per_token_device(ds, "fp8", S.ServingLayout(tp=8, ep=8)) == kv_bytes_per_token(ds, "fp8", 1)


def test_default_layout_keeps_the_tp_decode_formula():
    m, hw = get_model("llama-2-70b"), get_hardware("h100")
    cal = default_calibration("h100-sxm")
    t, bound = decode_step_time(m, count_params(m), hw, cal, tp=1, batch=1, context_len=100, precision="bf16")
    weights = count_params(m).total * 2
    kv = kv_bytes_per_token(m, "bf16") * 100
    assert bound == "memory"
    assert t == pytest.approx((weights + kv) / (hw.hbm_bytes_per_s * cal.decode_bw_frac) + cal.decode_t0_s, rel=1e-9)


def test_fp8_cache_halves_the_cache_read():
    m, hw = get_model("llama-2-70b"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    w16 = S.decode_work(m, c, S.ServingLayout(tp=1), batch=256, context_len=2000, precision="fp8", kv_precision="bf16")
    w8 = S.decode_work(m, c, S.ServingLayout(tp=1), batch=256, context_len=2000, precision="fp8", kv_precision="fp8")
    assert w8.kv_bytes == pytest.approx(w16.kv_bytes / 2)
    t16, _ = decode_step_time(m, c, hw, cal, tp=1, batch=256, context_len=2000, precision="fp8", kv_precision="bf16")
    t8, _ = decode_step_time(m, c, hw, cal, tp=1, batch=256, context_len=2000, precision="fp8", kv_precision="fp8")
    assert t8 < t16


def test_ep_adds_all_to_all_time():
    ds, hw = get_model("deepseek-v3"), get_hardware("h200")
    c, cal = count_params(ds), default_calibration("h200")
    args = dict(tp=8, batch=512, context_len=2000, precision="fp8", kv_precision="fp8")
    with_ep, _ = decode_step_time(ds, c, hw, cal, layout=S.ServingLayout(tp=8, ep=8, attention_dp=True), **args)
    dispatch, combine = S.ep_messages(ds, S.ServingLayout(tp=8, ep=8, attention_dp=True), 512, "fp8")
    assert dispatch == pytest.approx(512 / 8 * 8 * ds.d_model * 1.0)
    assert combine == pytest.approx(2 * dispatch)
    assert with_ep > 0 and math.isfinite(with_ep)


def test_prefill_chunk_reads_weights_once():
    m, hw = get_model("llama-2-70b"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    one = prefill_time(m, c, hw, cal, tp=1, batch=1, prompt_len=64, precision="fp8")
    sixteen = prefill_time(m, c, hw, cal, tp=1, batch=16, prompt_len=64, precision="fp8")
    assert sixteen < 16 * one  # short prompts share the weight read


def test_replica_point_respects_memory_cap_and_slo():
    m, hw = get_model("llama-2-70b"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    setup = R.EngineSetup(memory_frac=0.9)
    mix = S.LengthMix.fixed(1000, 500)
    free, why = R.replica_point(m, c, hw, cal, setup, S.ServingLayout(tp=1), mix, precision="fp8", kv_precision="fp8")
    assert free is not None and why in ("memory", "max_batch")
    assert free.memory.total <= free.capacity_bytes
    tight, why = R.replica_point(m, c, hw, cal, setup, S.ServingLayout(tp=1), mix, precision="fp8", kv_precision="fp8",
                                 tpot_slo_s=free.tpot_s / 2)
    assert why == "tpot_slo" and tight.tpot_s <= free.tpot_s / 2 and tight.batch < free.batch
    peak = R.replica_point(m, c, hw, cal, R.EngineSetup(memory_frac=0.9, kv_reserve="peak"), S.ServingLayout(tp=1), mix,
                           precision="fp8", kv_precision="fp8")[0]
    assert peak.batch < free.batch  # reserving each request's full length fits fewer


def test_split_pools_balances_request_rates():
    m, hw = get_model("deepseek-v3"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    setup, mix = R.EngineSetup(memory_frac=0.9), S.LengthMix.fixed(2000, 500)
    lay = S.ServingLayout(tp=8, ep=8, attention_dp=True)
    pre, _ = R.prefill_instance(m, c, hw, cal, setup, lay, mix, precision="fp8", kv_precision="fp8")
    dec, _ = R.decode_instance(m, c, hw, cal, setup, lay, mix, precision="fp8", kv_precision="fp8", tpot_slo_s=0.1)
    plan = R.disaggregate(64, pre, dec, 0.01, mix.mean_output)
    assert plan is not None
    assert plan.prefill_accelerators + plan.decode_accelerators <= 64
    assert plan.requests_per_s == pytest.approx(min(plan.prefill_instances * pre.requests_per_s, plan.decode_instances * dec.requests_per_s))
    assert plan.tpot_s <= 0.1


def test_ep_all_to_all_pays_latency_once_and_matches_deepep_within_15_percent():
    """DeepEP README (H800, 400 Gb/s CX7, 128 tokens, hidden 7168, top-8), EP 128: dispatch FP8
    192 us, combine BF16 369 us."""
    from dcplan.model.comm import group_link

    hw, cal = get_hardware("h800"), default_calibration("h800")
    link = group_link(hw, cal, span=128, field="ep")
    msg = 128 * 8 * 7168
    dispatch, combine = S.ep_all_to_all_s(msg, 128, link), S.ep_all_to_all_s(2 * msg, 128, link)
    assert dispatch == pytest.approx(192e-6, rel=0.15) and dispatch < 192e-6
    assert combine == pytest.approx(369e-6, rel=0.15)
    assert S.ep_all_to_all_s(msg, 1, link) == 0.0


def test_two_batch_overlap_hides_the_expert_all_to_all():
    import dataclasses

    ds, hw = get_model("deepseek-v3"), get_hardware("h100-sxm")
    c, cal = count_params(ds), default_calibration("h100-sxm")
    lay = S.ServingLayout(tp=32, ep=32, attention_dp=True, redundant_experts=32)
    args = dict(tp=32, batch=4, prompt_len=2000, precision="fp8", layout=lay)
    serial = prefill_time(ds, c, hw, cal, **args)
    hidden = prefill_time(ds, c, hw, dataclasses.replace(cal, ep_overlap_frac=1.0), **args)
    no_ep = prefill_time(ds, c, hw, cal, **{**args, "layout": S.ServingLayout(tp=32, attention_dp=True)})
    assert hidden < serial
    assert hidden >= no_ep * 0.99  # hiding never makes the pass faster than without the traffic


def test_redundant_experts_let_ep_divide_the_expert_slots_and_cost_memory():
    ds = get_model("deepseek-v3")
    c = count_params(ds)
    with pytest.raises(InputError) as e:
        S.check_layout(ds, S.ServingLayout(tp=144, ep=144, attention_dp=True))
    assert e.value.field == "ep" and "256 routed experts" in e.value.message
    lay = S.ServingLayout(tp=144, ep=144, attention_dp=True, redundant_experts=32)
    S.check_layout(ds, lay)  # 288 slots, 2 per GPU (DeepSeek's decode deployment)
    plain = S.weights_per_device(c, S.ServingLayout(tp=128, ep=128, attention_dp=True), "fp8", 256)
    extra = S.weights_per_device(c, S.ServingLayout(tp=128, ep=128, attention_dp=True, redundant_experts=32), "fp8", 256)
    assert extra > plain
    with pytest.raises(InputError) as e:
        S.ServingLayout(tp=8, redundant_experts=8)
    assert e.value.field == "redundant_experts"


def test_an_engines_own_cap_applies_per_attention_rank():
    m, hw = get_model("deepseek-v3"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    lay = S.ServingLayout(tp=8, ep=8, attention_dp=True)
    mix = S.LengthMix.fixed(100, 100)
    per_rank = R.EngineSetup(memory_frac=0.9, max_batch=16, max_batch_per_rank=True)
    total = R.EngineSetup(memory_frac=0.9, max_batch=16)
    a, _ = R.replica_point(m, c, hw, cal, per_rank, lay, mix, precision="fp8", kv_precision="fp8")
    b, _ = R.replica_point(m, c, hw, cal, total, lay, mix, precision="fp8", kv_precision="fp8")
    assert (a.batch, b.batch) == (128, 16) and a.binding_limit == b.binding_limit == "max_batch"


def test_a_latency_limit_between_batches_interpolates_the_rate():
    m, hw = get_model("llama-2-70b"), get_hardware("h200")
    c, cal = count_params(m), default_calibration("h200")
    setup = R.EngineSetup(memory_frac=0.9)
    mix = S.LengthMix.fixed(1000, 300)
    lay = S.ServingLayout(tp=2)
    rates = []
    for slo in (0.030, 0.0302, 0.0304):
        p, why = R.replica_point(m, c, hw, cal, setup, lay, mix, precision="fp8", kv_precision="fp8", tpot_slo_s=slo)
        assert why == "tpot_slo" and 0 <= p.frac < 1
        rates.append(p.tokens_per_s)
    assert rates[0] < rates[1] < rates[2]  # continuous in the limit, not stepped by whole batches
