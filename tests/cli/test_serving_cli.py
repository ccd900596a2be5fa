"""The serving-stack CLI: estimate infer --stack/--ep/--dataset, dcplan stacks, validate --json."""

import json

import pytest


def one_line_exit_2(r, field: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and field in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not r.stdout


@pytest.mark.parametrize("args,field", [
    (["--model", "llama-2-70b", "--hardware", "mi300x", "--stack", "tensorrt-llm"], "stack"),
    (["--model", "llama-2-70b", "--hardware", "h100", "--stack", "no-such-engine"], "stack"),
    (["--model", "mixtral-8x7b", "--hardware", "h100", "--ep", "3"], "ep"),
    (["--model", "llama-2-70b", "--hardware", "h100", "--ep", "2"], "ep"),
    (["--model", "llama-2-70b", "--hardware", "mi300x", "--precision", "fp4"], "precision"),
    (["--model", "llama-2-70b", "--hardware", "h100", "--dataset", "no-such-set"], "dataset"),
])
def test_bad_serving_input_is_one_line_exit_2(run_cli, args, field):
    r = run_cli("estimate", "infer", "--gpus", "8", "--input-len", "1000", "--output-len", "200", *args)
    one_line_exit_2(r, field)


def test_infer_json_names_the_stack_and_the_moe_layout(run_cli):
    r = run_cli("estimate", "infer", "--model", "mixtral-8x7b", "--hardware", "h200", "--gpus", "8",
                "--dataset", "mlperf-mixtral-8x7b", "--precision", "fp8", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["stack"]["name"] == "tensorrt-llm" and d["stack"]["rows_on_chip"] > 0
    assert d["ep"] >= 1 and d["kv_precision"] == "fp8" and d["warnings"] == []
    assert {(s["tp"], s["ep"]) for s in d["search"]} >= {(1, 1), (2, 2), (8, 8)}


def test_a_chip_without_stack_data_warns_in_the_table_and_json(run_cli):
    args = ("estimate", "infer", "--model", "tinyllama-1.1b", "--hardware", "tpu-v3", "--gpus", "4", "--tp", "1",
            "--input-len", "1000", "--output-len", "200")
    r = run_cli(*args, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["stack"]["fallback"] and d["warnings"] and "pooled" in d["warnings"][0]
    t = run_cli(*args)
    assert t.returncode == 0 and "pooled" in t.stdout and "arning" in t.stdout


def test_disaggregated_infer_reports_two_pools(run_cli):
    r = run_cli("estimate", "infer", "--model", "deepseek-v3", "--hardware", "h200", "--gpus", "32", "--input-len", "2000",
                "--output-len", "1000", "--precision", "fp8", "--disaggregated", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["disaggregated"]
    assert d["prefill"]["accelerators"] + d["decode"]["accelerators"] <= 32
    assert d["prefill"]["instances"] >= 1 and d["decode"]["instances"] >= 1


def test_stacks_list_and_show(run_cli):
    r = run_cli("stacks", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = {s["name"] for s in json.loads(r.stdout)}
    assert {"tensorrt-llm", "vllm-cuda", "vllm-rocm", "sglang-cuda", "tgi-gaudi", "pooled"} <= names
    r = run_cli("stacks", "show", "vllm-rocm")
    assert r.returncode == 0 and "decode_bw_frac" in r.stdout and "mi325x" in r.stdout
    r = run_cli("stacks", "show", "nonesuch")
    one_line_exit_2(r, "stack")


def test_validate_json_has_held_out_errors_per_stack(run_cli):
    r = run_cli("validate", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    by_stack = d["summary"]["inference_by_stack"]
    assert {"tensorrt-llm", "vllm-rocm", "vllm-cuda", "tgi-gaudi"} <= set(by_stack)
    for s in by_stack.values():
        assert {"n", "median_ape_pct", "p90_ape_pct", "bias_pct", "held_out"} <= set(s)
    assert by_stack["tensorrt-llm"]["held_out"] == "10-fold" and by_stack["vllm-rocm"]["held_out"] == "leave-one-out"
    assert d["summary"]["inference_moe_held_out"]["n"] >= 10
    rows = {row["id"]: row for row in d["inference"]}
    assert not rows["v4.1/neuralmagic/l40sx8/llama-2-70b/offline"]["fit"]
    assert rows["v4.1/neuralmagic/l40sx8/llama-2-70b/offline"]["held_out_ratio"] is None
    assert d["disaggregated"]
