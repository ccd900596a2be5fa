"""estimate_training / estimate_inference: results, layouts, search and bad input."""

import math

import pytest

from dcplan import default_calibration, estimate_inference, estimate_training, get_hardware, get_model
from dcplan.errors import InfeasibleError, InputError


@pytest.fixture(scope="module")
def h100():
    return get_hardware("h100")


def cal(hw):
    return default_calibration(hw.name)


def test_training_json_has_documented_keys(h100):
    e = estimate_training(get_model("llama-2-7b"), h100, tokens=2e12, n_accelerators=256, calibration=cal(h100))
    d = e.to_dict()
    for key in ("flops_total", "flops_per_token", "accelerator_hours", "wall_clock_days", "mfu_frac", "tokens_per_s",
                "memory_per_accelerator_bytes", "memory_breakdown_bytes", "energy_kwh", "facility_energy_kwh",
                "cost_usd", "parallelism", "assumptions"):
        assert key in d
    assert set(d["parallelism"]) >= {"tp", "pp", "dp", "ep", "cp", "zero", "recompute", "micro_batch"}
    assert all({"name", "value", "unit", "source"} <= set(a) for a in d["assumptions"])
    assert 0 < d["mfu_frac"] < 1
    assert d["memory_per_accelerator_bytes"] <= d["memory_capacity_bytes"]


def test_training_energy_from_published_server_power_pue_and_carbon(h100):
    """The energy of a run from figures published outside dcplan's code: a DGX H100 draws 10.2 kW for 8 GPUs
    (NVIDIA DGX H100/H200 User Guide); a training server averages 0.75 of its peak power (Epoch AI
    training-cost-trends energy.py); PUE 1.25 outside hyperscalers (same file); the world grid emits 475 gCO2e/kWh
    (CodeCarbon methodology). A change to the catalog's node power or to any default fails here."""
    e = estimate_training(get_model("llama-2-7b"), h100, tokens=2e12, n_accelerators=256, calibration=cal(h100))
    it_kwh = e.accelerator_hours * (10_200 / 8) * 0.75 / 1e3
    assert e.energy_kwh == pytest.approx(it_kwh, rel=1e-6)
    assert e.facility_energy_kwh == pytest.approx(it_kwh * 1.25, rel=1e-6)
    assert e.tco2e == pytest.approx(it_kwh * 1.25 * 475 / 1e6, rel=1e-6)


def test_accelerator_hours_near_the_published_llama2_7b_run():
    """Llama 2 7B took 184,320 A100-80GB GPU-hours for 2T tokens at 4k context (Touvron et al. 2023,
    arXiv:2307.09288, Table 2). Published hours include restarts and evaluation, so dcplan's steady-state
    estimate may sit below; it must stay within 35 % (dcplan validate reports the same row)."""
    a100 = get_hardware("a100-80gb")
    e = estimate_training(get_model("llama-2-7b"), a100, tokens=2e12, n_accelerators=2048, seq_len=4096, calibration=cal(a100))
    assert e.accelerator_hours == pytest.approx(184_320, rel=0.35)
    assert e.wall_clock_days * 24 * 2048 == pytest.approx(e.accelerator_hours, rel=1e-9)  # hours are the run's days on every accelerator


def test_training_time_matches_flops_over_throughput(h100):
    e = estimate_training(get_model("llama-2-7b"), h100, tokens=1e12, n_accelerators=64, calibration=cal(h100))
    achieved = e.mfu_frac * 64 * h100.peak("bf16")
    wall_s = e.flops_total / achieved / e.goodput_frac
    assert e.wall_clock_days * 86400 == pytest.approx(wall_s, rel=1e-9)


def test_fixed_layout_is_used(h100):
    lay = dict(tp=8, pp=2, dp=4, ep=1, cp=1, zero=1, recompute="selective", micro_batch=1)
    e = estimate_training(get_model("llama-2-70b"), h100, tokens=1e12, n_accelerators=64, layout=lay, calibration=cal(h100))
    assert not e.layout_searched
    assert (e.layout.tp, e.layout.pp, e.layout.dp) == (8, 2, 4)


def test_more_accelerators_finish_sooner(h100):
    m = get_model("llama-2-13b")
    a = estimate_training(m, h100, tokens=1e12, n_accelerators=64, calibration=cal(h100))
    b = estimate_training(m, h100, tokens=1e12, n_accelerators=256, calibration=cal(h100))
    assert b.wall_clock_days < a.wall_clock_days


def test_moe_uses_expert_parallelism_when_useful(h100):
    e = estimate_training(get_model("mixtral-8x7b"), h100, tokens=1e12, n_accelerators=64, calibration=cal(h100))
    assert e.params_active < e.params_total
    assert e.flops_per_token < 6.5 * e.params_total
    assert e.layout.ep > 1  # the search shards experts rather than replicating them
    # and experts sync gradients over their own expert-data-parallel group
    assert e.layout.edp == e.layout.tp * e.layout.cp * e.layout.dp // (e.layout.etp * e.layout.ep)


def test_deepseek_v3_target_on_2048_h800():
    # DeepSeek-V3 (arXiv:2412.19437): 2.664M H800 GPU-hours for 14.8T tokens (a steady-state
    # figure); nothing given but the count, tokens, sequence and precision. The default search
    # runs Megatron-LM's schedule (expert all-to-all not overlapped): within 30 %, on the slow
    # side (issue 11's 25 % is missed by about 1.5 points, see README); with the schedule DeepSeek
    # published (DualPipe) given, within 25 %.
    hw = get_hardware("h800")
    m = get_model("deepseek-v3")
    e = estimate_training(m, hw, tokens=14.8e12, n_accelerators=2048, seq_len=4096, precision="fp8", calibration=cal(hw))
    assert e.layout_searched and e.layout.ep > 1
    assert 1.0 <= e.accelerator_hours_steady_state / 2.664e6 <= 1.3
    d = estimate_training(m, hw, tokens=14.8e12, n_accelerators=2048, seq_len=4096, precision="fp8",
                          layout={"schedule": "dualpipe"}, calibration=cal(hw))
    assert d.layout.ep > 1 and d.layout.pp >= 2
    assert d.accelerator_hours_steady_state == pytest.approx(2.664e6, rel=0.25)


def test_fp8_is_not_a_free_2x_for_70b_on_2048_h100(h100):
    m = get_model("llama-3.1-70b")
    bf16, fp8 = (estimate_training(m, h100, tokens=15e12, n_accelerators=2048, seq_len=8192, precision=p, calibration=cal(h100))
                 for p in ("bf16", "fp8"))
    assert 1.1 <= fp8.tokens_per_s / bf16.tokens_per_s <= 1.7


def test_a100_reaches_higher_mfu_than_h100_at_equal_model():
    # llm-foundry benchmarking README: MPT-7B, seq 2048, 8 GPUs, FSDP, no checkpointing: 64.23%
    # MFU on A100-80GB vs 46.44% on H100 (ratio 0.72): memory-bound work weighs more on the chip
    # with the higher FLOP:byte ratio
    lay = dict(tp=1, pp=1, cp=1, dp=8, ep=1, zero=3, recompute="none", micro_batch=6)
    mfu = {}
    for name in ("a100-80gb", "h100-sxm"):
        hw = get_hardware(name)
        mfu[name] = estimate_training(get_model("mpt-7b"), hw, tokens=1e9, n_accelerators=8, seq_len=2048, global_batch=48,
                                      layout=lay, calibration=cal(hw)).mfu_frac
    assert mfu["h100-sxm"] < mfu["a100-80gb"]
    assert 0.6 < mfu["h100-sxm"] / mfu["a100-80gb"] < 0.92


def test_system_fabric_changes_the_estimate():
    # the same A100-40GB on a DGX-style 8 x 200 Gb/s fabric and in AWS p4d (400 Gb/s per node)
    m = get_model("llama-2-70b")
    chip, p4d = get_hardware("a100-40gb"), get_hardware("aws-p4d")
    assert p4d.name == "a100-40gb" and p4d.system == "aws-p4d"
    assert p4d.inter_node_bytes_per_s == pytest.approx(chip.inter_node_bytes_per_s / 4)
    lay = dict(tp=8, pp=8, dp=8, ep=1, cp=1, zero=1, recompute="full", micro_batch=1)
    fast = estimate_training(m, chip, tokens=1e12, n_accelerators=512, seq_len=4096, global_batch=512, layout=lay, calibration=cal(chip))
    slow = estimate_training(m, p4d, tokens=1e12, n_accelerators=512, seq_len=4096, global_batch=512, layout=lay, calibration=cal(chip))
    assert slow.step_breakdown_s["dp_comm_exposed_s"] > fast.step_breakdown_s["dp_comm_exposed_s"]
    assert slow.tokens_per_s < fast.tokens_per_s
    assert slow.system == "aws-p4d" and slow.to_dict()["system"] == "aws-p4d"


def test_global_batch_in_tokens_or_sequences(h100):
    from dcplan.specs import parse_global_batch

    m = get_model("llama-2-7b")
    by_seq = estimate_training(m, h100, tokens=1e12, n_accelerators=64, seq_len=4096, global_batch=parse_global_batch("1024"),
                               calibration=cal(h100))
    by_tok = estimate_training(m, h100, tokens=1e12, n_accelerators=64, seq_len=4096, global_batch=parse_global_batch("4M"),
                               calibration=cal(h100))
    assert by_seq.global_batch == 1024 and "given: 1024 sequences" in by_seq.global_batch_source
    assert by_tok.global_batch * 4096 == pytest.approx(4e6, rel=0.05) and "tokens" in by_tok.global_batch_source
    default = estimate_training(m, h100, tokens=1e12, n_accelerators=64, seq_len=4096, calibration=cal(h100))
    assert default.global_batch_source.startswith("default rule")


def test_batch_ramp_up_takes_longer_than_the_full_batch(h100):
    m = get_model("llama-2-7b")
    kw = dict(tokens=1e12, n_accelerators=256, seq_len=4096, global_batch=1024, calibration=cal(h100),
              layout=dict(tp=1, pp=4, dp=64, ep=1, cp=1, zero=1, recompute="none", micro_batch=1))
    flat = estimate_training(m, h100, **kw)
    ramp = estimate_training(m, h100, batch_ramp=[(200e9, 256)], **kw)
    assert [p.global_batch for p in ramp.batch_phases] == [256, 1024]
    assert sum(p.tokens for p in ramp.batch_phases) == pytest.approx(1e12)
    assert ramp.accelerator_hours > flat.accelerator_hours  # 4 micro-batches for 4 stages: a bigger bubble


def test_goodput_applies_to_whole_runs_only(h100):
    e = estimate_training(get_model("llama-2-7b"), h100, tokens=1e12, n_accelerators=64, calibration=cal(h100))
    assert e.accelerator_hours == pytest.approx(e.accelerator_hours_steady_state / e.goodput_frac)


@pytest.mark.parametrize("kwargs,field", [
    (dict(tokens=-1.0), "tokens"),
    (dict(tokens=0.0), "tokens"),
    (dict(tokens=math.nan), "tokens"),
    (dict(tokens=math.inf), "tokens"),
    (dict(n_accelerators=0), "gpus"),
    (dict(layout=dict(tp=3)), "tp"),
    (dict(layout=dict(tp=8, pp=2, dp=2, cp=1)), "gpus"),
    (dict(precision="fp4"), "precision"),
    (dict(layout=dict(ep=2)), "ep"),
    (dict(global_batch=100, layout=dict(tp=8, pp=1, dp=8, cp=1)), "global_batch"),
])
def test_bad_training_input_names_the_field(h100, kwargs, field):
    args = dict(tokens=1e12, n_accelerators=64, calibration=cal(h100))
    args.update(kwargs)
    with pytest.raises(InputError) as exc:
        estimate_training(get_model("llama-2-70b"), h100, **args)
    assert exc.value.field == field


def test_model_that_fits_no_layout(h100):
    with pytest.raises(InfeasibleError, match="fits no layout"):
        estimate_training(get_model("llama-3.1-405b"), h100, tokens=1e12, n_accelerators=8, calibration=cal(h100))


def test_unknown_names_list_close_matches():
    with pytest.raises(InputError, match="h100-sxm"):
        get_hardware("h100-sxx")
    with pytest.raises(InputError, match="llama-2-70b"):
        get_model("llama2-7Ob")


@pytest.mark.parametrize("alias,name", [("H100", "h100-sxm"), ("h100-80gb", "h100-sxm"), ("H200", "h200"), ("MI300X", "mi300x")])
def test_aliases_resolve(alias, name):
    assert get_hardware(alias).name == name


def test_inference_keys_and_bounds(h100):
    e = estimate_inference(get_model("llama-2-70b"), h100, n_accelerators=8, input_len=1000, output_len=1000,
                           calibration=cal(h100))
    d = e.to_dict()
    for key in ("tokens_per_s", "tokens_per_s_per_accelerator", "ttft_s", "tpot_s", "batch_size",
                "kv_bytes_per_token", "memory_per_accelerator_bytes", "bound", "assumptions"):
        assert key in d
    assert d["bound"] in ("compute", "memory")
    assert d["kv_bytes_per_token"] == 327_680
    assert d["memory_per_accelerator_bytes"] <= d["memory_capacity_bytes"]


def test_decode_at_batch_one_is_bandwidth_bound(h100):
    e = estimate_inference(get_model("llama-2-70b"), h100, n_accelerators=8, input_len=128, output_len=128, batch=1, tp=8,
                           calibration=cal(h100))
    assert e.bound == "memory"
    # scaling-book: 141 GB over 8 x 3.35 TB/s >= 5.3 ms per token before KV reads
    floor = 2 * 68.98e9 / (8 * 3.35e12)
    assert e.decode_step_s >= floor


def test_slo_limits_batch_and_impossible_slo_says_which(h100):
    m = get_model("llama-2-70b")
    free = estimate_inference(m, h100, n_accelerators=8, input_len=1000, output_len=500, calibration=cal(h100))
    tight = estimate_inference(m, h100, n_accelerators=8, input_len=1000, output_len=500, tpot_slo_s=free.tpot_s / 2,
                               calibration=cal(h100))
    assert tight.batch_size < free.batch_size
    assert tight.tpot_s <= free.tpot_s / 2
    with pytest.raises(InfeasibleError) as exc:
        estimate_inference(m, h100, n_accelerators=8, input_len=1000, output_len=500, tpot_slo_s=1e-5, calibration=cal(h100))
    assert exc.value.field == "tpot_slo"


def test_more_bandwidth_serves_faster():
    m = get_model("llama-2-70b")
    h100, h200 = get_hardware("h100"), get_hardware("h200")
    a = estimate_inference(m, h100, n_accelerators=8, input_len=512, output_len=512, batch=16, tp=8, calibration=cal(h100))
    b = estimate_inference(m, h200, n_accelerators=8, input_len=512, output_len=512, batch=16, tp=8, calibration=cal(h200))
    assert b.tpot_s < a.tpot_s


@pytest.mark.parametrize("layout,field,text", [
    (dict(ep=3), "ep", "divide the 8 experts"),
    (dict(ep=16), "ep", "at most the 8 experts"),
    (dict(tp=1, pp=1, cp=1, dp=64, ep=128), "ep", "at most the 8 experts"),
    (dict(tp=1, pp=1, cp=1, dp=64, ep=1, zero=1, recompute="none", micro_batch=3), "global_batch", "dp x micro_batch"),
])
def test_bad_moe_and_batch_layouts_name_the_field(h100, layout, field, text):
    with pytest.raises(InputError) as exc:
        estimate_training(get_model("mixtral-8x7b"), h100, tokens=1e12, n_accelerators=64, global_batch=256, layout=layout,
                          calibration=cal(h100))
    assert exc.value.field == field and text in str(exc.value)


def test_fp8_over_bf16_for_8b_fsdp_like_torchtitan():
    # torchtitan benchmarks/llama3_h100_202412_torchtitan.md Table 1: Llama 3.1 8B on 8 GPUs,
    # FSDP, torch.compile: 6,667 tokens/s in BF16, 8,532 with Float8 (1.28x)
    from dcplan.specs import OverlapSpec

    hw = get_hardware("h200")
    lay = dict(tp=1, pp=1, cp=1, dp=8, ep=1, zero=3, recompute="selective", micro_batch=2)
    tps = {p: estimate_training(get_model("llama-3.1-8b"), hw, tokens=1e12, n_accelerators=8, seq_len=8192, global_batch=16,
                                precision=p, layout=lay, overlap=OverlapSpec(tp_comm=False), calibration=cal(hw)).tokens_per_s
           for p in ("bf16", "fp8")}
    assert 1.1 < tps["fp8"] / tps["bf16"] < 1.6


def test_whole_run_hours_by_part(h100):
    # steady state + long-context stage + interruptions = the whole run; the stage is part of
    # the tokens and runs on its own layout at its own sequence
    m = get_model("llama-3.1-8b")
    base = estimate_training(m, h100, tokens=15e12, n_accelerators=2048, seq_len=8192, calibration=cal(h100))
    e = estimate_training(m, h100, tokens=15e12, n_accelerators=2048, seq_len=8192, long_context=(800e9, 131072),
                          calibration=cal(h100))
    parts = e.accelerator_hours_breakdown
    assert sum(parts.values()) == pytest.approx(e.accelerator_hours)
    assert parts["steady_state"] + parts["long_context"] == pytest.approx(e.accelerator_hours_steady_state)
    assert parts["interruptions"] == pytest.approx(e.accelerator_hours * (1 - e.goodput_frac))
    lc = e.long_context
    assert lc is not None and lc.seq_len == 131072 and lc.layout.cp > 1
    # the same tokens per step as the main batch (Llama 3 Table 4: 16M tokens at 131,072)
    assert lc.global_batch * lc.seq_len == pytest.approx(e.global_batch * e.seq_len, rel=0.01)
    # 800B tokens at 128K cost more than the same tokens at 8K
    assert parts["long_context"] > 800e9 / 15e12 * base.accelerator_hours_breakdown["steady_state"]
    assert base.accelerator_hours_breakdown["long_context"] == 0 and base.long_context is None


@pytest.mark.parametrize("given,field", [((20e12, 131072), "long_context_tokens"), ((800e9, 4096), "long_context_seq_len")])
def test_long_context_stage_bad_input(h100, given, field):
    with pytest.raises(InputError) as err:
        estimate_training(get_model("llama-3.1-8b"), h100, tokens=15e12, n_accelerators=64, seq_len=8192,
                          long_context=given, calibration=cal(h100))
    assert err.value.field == field


# --- a chip whose power is not published (TPU, Trainium2, Ascend): power and energy unknown, never guessed


@pytest.mark.parametrize("chip", ["tpu-v5p", "trainium2"])
def test_training_without_published_power_estimates_time_and_leaves_energy_unknown(chip):
    hw = get_hardware(chip)
    assert hw.tdp_w is None and hw.node_power_w is None  # the premise: neither figure is published
    e = estimate_training(get_model("llama-3.1-8b"), hw, tokens=1e12, n_accelerators=64, calibration=cal(hw))
    assert e.tokens_per_s > 0 and 0 < e.mfu_frac < 1 and e.wall_clock_days > 0
    assert 0 < e.memory_per_accelerator_bytes <= e.memory_capacity_bytes
    assert (e.it_power_per_accelerator_w, e.energy_kwh, e.facility_energy_kwh, e.tco2e) == (None, None, None, None)
    why = e.power_unknown_reason
    assert "tdp_w" in why and "node_power_w" in why and f"dcplan hardware show {chip}" in why
    d = e.to_dict()
    assert d["energy_kwh"] is None and d["facility_energy_kwh"] is None and d["tco2e"] is None and d["power_unknown_reason"] == why
    (power,) = [a for a in d["assumptions"] if a["name"] == "server_power_per_accelerator_w"]
    assert power["value"] is None and power["source"] == why


def test_training_time_does_not_depend_on_power_and_a_published_tdp_gives_energy():
    """Power only enters energy: the same chip with a TDP (a hypothetical 500 W, for the test) trains at
    the same speed, and its energy is TDP x server/accelerator ratio 1.82 x train load 0.75 (Epoch AI
    training-cost-trends energy.py) x accelerator-hours."""
    from dataclasses import replace

    hw = get_hardware("tpu-v5p")
    unknown = estimate_training(get_model("llama-3.1-8b"), hw, tokens=1e12, n_accelerators=64, calibration=cal(hw))
    known = estimate_training(get_model("llama-3.1-8b"), replace(hw, tdp_w=500.0), tokens=1e12, n_accelerators=64, calibration=cal(hw))
    assert known.tokens_per_s == unknown.tokens_per_s and known.accelerator_hours == unknown.accelerator_hours
    assert known.power_unknown_reason is None
    assert known.energy_kwh == pytest.approx(known.accelerator_hours * 500 * 1.82 * 0.75 / 1e3, rel=1e-9)


def test_chip_with_a_tdp_and_no_node_power_keeps_tdp_times_ratio():
    """MI300X (750 W TDP, no node power in the catalog): 750 x 1.82 x 0.75 W per accelerator, as before."""
    hw = get_hardware("mi300x")
    assert hw.tdp_w == 750 and not hw.node_power_w
    e = estimate_training(get_model("llama-3.1-8b"), hw, tokens=1e12, n_accelerators=64, calibration=cal(hw))
    assert e.it_power_per_accelerator_w == pytest.approx(750 * 1.82 * 0.75) and e.power_unknown_reason is None
    assert e.energy_kwh == pytest.approx(e.accelerator_hours * 750 * 1.82 * 0.75 / 1e3, rel=1e-9)
