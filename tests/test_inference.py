"""estimate_inference with serving stacks: stack choice, MoE layout search, disaggregation, bad input."""

import pytest

from dcplan import default_calibration, get_hardware, get_model
from dcplan.calibrate.stacks import select_stack
from dcplan.errors import InfeasibleError, InputError
from dcplan.inference import estimate_inference
from dcplan.io.catalog import stack_catalog


def choose(hw_name: str, precision: str = "fp8", stack: str | None = None):
    hw = get_hardware(hw_name)
    return hw, select_stack(hw, precision=precision, requested=stack, stacks=stack_catalog(), base=default_calibration(hw.name))


@pytest.mark.parametrize("chip,stack", [("h100", "tensorrt-llm"), ("b200", "tensorrt-llm"), ("mi300x", "vllm-rocm"),
                                        ("mi325x", "vllm-rocm"), ("gaudi2", "tgi-gaudi")])
def test_each_vendor_gets_its_default_stack(chip, stack):
    _, choice = choose(chip)
    assert choice.stack == stack and not choice.fallback
    assert choice.calibration.stack == stack
    assert choice.calibration.name.startswith(f"stack:{stack}")


def test_a_chip_with_rows_in_its_stack_gets_its_own_term():
    """The (chip, stack) part of the calibration: MI300X and MI325X share vLLM ROCm's fit but
    each has its sustained-compute term; a chip with no rows in the stack keeps 1."""
    _, mi300x = choose("mi300x")
    _, mi325x = choose("mi325x")
    assert mi300x.calibration.name == "stack:vllm-rocm@mi300x"
    assert mi300x.calibration.chip_eta_frac != 1.0 and mi325x.calibration.chip_eta_frac != 1.0
    assert mi300x.calibration.decode_bw_frac == mi325x.calibration.decode_bw_frac
    _, h800 = choose("h800")
    assert h800.calibration.chip_eta_frac == 1.0 and h800.rows_on_chip == 0
    assert "no published" in h800.warning


def test_a_stacks_chip_block_takes_only_calibration_fields():
    from dcplan.specs import StackSpec

    with pytest.raises(InputError) as exc:
        StackSpec(name="x", display_name="x", engine="e", platform="p", vendors=("nvidia",), chips={"h100-sxm": {"speed": 2}})
    assert exc.value.field == "chips.h100-sxm.speed"


def test_a_chip_no_stack_runs_on_falls_back_with_a_warning():
    _, choice = choose("tpu-v5p", precision="bf16")
    assert choice.fallback and choice.stack is None
    assert "tpu-v5p" in choice.warning and "pooled" in choice.warning


def test_a_stack_that_does_not_run_on_the_chip_is_an_input_error():
    with pytest.raises(InputError) as exc:
        choose("mi300x", stack="tensorrt-llm")
    assert exc.value.field == "stack"
    assert "mi300x" in exc.value.message and "vllm-rocm" in exc.value.message
    with pytest.raises(InputError) as exc:
        choose("h100", stack="no-such-engine")
    assert exc.value.field == "stack"


def test_the_result_names_its_stack_and_data():
    hw, choice = choose("mi300x")
    e = estimate_inference(get_model("llama-2-70b"), hw, n_accelerators=8, input_len=1000, output_len=300, precision="fp8",
                           calibration=choice.calibration, stack=choice)
    d = e.to_dict()
    assert d["stack"]["name"] == "vllm-rocm" and d["stack"]["chip"] == "mi300x"
    assert d["stack"]["calibration"] == "stack:vllm-rocm@mi300x"
    assert d["kv_precision"] == "fp8"  # FP8 cache with FP8 weights
    assert any(a["name"] == "stack" and a["value"] == "vllm-rocm" for a in d["assumptions"])
    assert d["search"] and all("tp" in s for s in d["search"])


def test_moe_search_covers_tp_and_ep_and_reports_both():
    hw, choice = choose("h200")
    e = estimate_inference(get_model("deepseek-v3"), hw, n_accelerators=8, input_len=2000, output_len=1000, precision="fp8",
                           calibration=choice.calibration, stack=choice)
    tried = {(s["tp"], s["ep"], s["attention_dp"]) for s in e.search}
    assert (8, 8, True) in tried and (8, 1, False) in tried and (8, 4, False) in tried
    assert e.ep >= 1 and e.to_dict()["ep"] == e.ep and e.to_dict()["attention_dp"] == e.attention_dp
    best = max((s for s in e.search if s["tokens_per_s_per_accelerator"]), key=lambda s: s["tokens_per_s_per_accelerator"])
    assert (best["tp"], best["ep"]) == (e.tp, e.ep)


def test_ep_that_does_not_divide_the_experts_is_an_input_error():
    hw, choice = choose("h200")
    with pytest.raises(InputError) as exc:
        estimate_inference(get_model("mixtral-8x7b"), hw, n_accelerators=6, input_len=500, output_len=100, precision="fp8",
                           tp=6, ep=3, calibration=choice.calibration, stack=choice)
    assert exc.value.field == "ep"
    with pytest.raises(InputError) as exc:
        estimate_inference(get_model("llama-2-70b"), hw, n_accelerators=8, input_len=500, output_len=100, precision="fp8",
                           ep=2, calibration=choice.calibration, stack=choice)
    assert exc.value.field == "ep"


def test_a_precision_the_chip_lacks_says_so():
    with pytest.raises(InputError) as exc:
        get_hardware("a100-80gb").peak("fp8")
    assert "no fp8 matrix units" in exc.value.message
    assert get_hardware("gaudi2").peak("fp8") == pytest.approx(865e12)


def test_disaggregated_serving_sizes_two_pools():
    hw, choice = choose("h200")
    e = estimate_inference(get_model("deepseek-v3"), hw, n_accelerators=64, input_len=2000, output_len=500, precision="fp8",
                           tp=8, ep=8, attention_dp=True, tpot_slo_s=0.1, disaggregated=True,
                           calibration=choice.calibration, stack=choice)
    d = e.disaggregated
    assert d["prefill"]["accelerators"] + d["decode"]["accelerators"] == d["accelerators_used"] <= 64
    assert d["prefill_to_decode_accelerators"] > 0
    assert e.tpot_s <= 0.1
    assert e.tokens_per_s == pytest.approx(d["requests_per_s"] * 500)


def test_stack_memory_share_changes_capacity():
    hw, choice = choose("h100")
    m = get_model("llama-2-70b")
    e = estimate_inference(m, hw, n_accelerators=2, tp=2, input_len=1000, output_len=1000, precision="fp8",
                           calibration=choice.calibration, stack=choice)
    assert e.memory_per_accelerator_bytes <= e.memory_capacity_bytes
    with pytest.raises(InfeasibleError):
        estimate_inference(m, hw, n_accelerators=1, tp=1, input_len=1000, output_len=1000, precision="bf16",
                           calibration=choice.calibration, stack=choice)


@pytest.mark.parametrize("chip", ["tpu-v5p", "trainium2"])
def test_serving_without_published_power_estimates_throughput_and_leaves_energy_unknown(chip):
    """Neither TDP nor node power is published for these chips: energy per token is unknown (None, with
    why), never 0 or a guess; throughput, latency, memory and (given a price) cost are estimated."""
    hw, choice = choose(chip, precision="bf16")
    e = estimate_inference(get_model("llama-3.1-8b"), hw, n_accelerators=1, input_len=1000, output_len=200,
                           calibration=choice.calibration, stack=choice)
    assert e.tokens_per_s > 0 and e.ttft_s > 0 and e.tpot_s > 0
    assert e.it_power_per_accelerator_w is None and e.energy_kwh_per_mtok is None
    assert "tdp_w" in e.power_unknown_reason and f"dcplan hardware show {chip}" in e.power_unknown_reason
    d = e.to_dict()
    assert d["energy_kwh_per_mtok"] is None and d["power_unknown_reason"] == e.power_unknown_reason
    (power,) = [a for a in d["assumptions"] if a["name"] == "server_power_per_accelerator_w"]
    assert power["value"] is None and "no published tdp_w" in power["source"]


def test_serving_energy_on_a_chip_with_published_node_power():
    """H100 SXM: DGX H100 10.2 kW / 8 GPUs (NVIDIA DGX H100/H200 User Guide) x inference load factor."""
    hw, choice = choose("h100", precision="bf16")
    c = choice.calibration
    e = estimate_inference(get_model("llama-3.1-8b"), hw, n_accelerators=1, input_len=1000, output_len=200, calibration=c, stack=choice)
    w = 10_200 / 8 * c.infer_load_frac
    assert e.power_unknown_reason is None and e.it_power_per_accelerator_w == pytest.approx(w)
    assert e.energy_kwh_per_mtok == pytest.approx(w / e.tokens_per_s * 1e6 / 3600 / 1e3, rel=1e-9)
