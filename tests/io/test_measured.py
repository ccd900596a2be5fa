"""Shipped measured calibrations: which accelerator has one, the one choice, and the faces that show it."""

import json

from dcplan.io.catalog import default_calibration
from dcplan.io.measured import calibration_for, measured_calibrations


def test_the_h200_profile_is_shipped_with_its_calibration():
    m = measured_calibrations()["h200"]
    assert m.profile_path.exists() and m.path.exists()
    assert m.profile_name == "gpu-nvidia-h200-standard" and m.precision == "bf16" and m.created.startswith("2026-11-29")
    for fact in ("H200", "580.159.04", "CUDA 13.0", "2.11.0+cu130", "--sweep standard"):
        assert fact in m.notes, fact
    assert {"train", "prefill", "decode", "seq2seq", "memory"} <= set(m.heldout)


def test_measured_calibration_is_the_default_and_can_be_refused():
    used = calibration_for("h200")
    assert used.measured is not None and used.calibration.name == "gpu-nvidia-h200-standard"
    assert "measured profile gpu-nvidia-h200-standard" in used.reason
    refused = calibration_for("h200", measured=False)
    assert refused.measured is None and refused.calibration == default_calibration("h200") and "opted out" in refused.reason
    other = calibration_for("h100-sxm")
    assert other.measured is None and "no measured profile" in other.reason


def test_hardware_show_says_a_measured_profile_is_used(run_cli):
    r = run_cli("hardware", "show", "h200", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)["measured_profile"]
    assert m["profile"] == "gpu-nvidia-h200-standard" and m["used_by_default"]
    assert m["heldout"]["decode"]["median_ape_pct"] < 8.0
    assert json.loads(run_cli("hardware", "show", "h100-sxm", "--json").stdout)["measured_profile"] is None
    text = run_cli("hardware", "show", "h200").stdout
    assert "Measured profile (used by default" in text and "580.159.04" in text


def test_training_estimates_use_the_measured_profile_unless_told_not_to(run_cli):
    args = ["estimate", "train", "--model", "llama-3.1-8b", "--hardware", "h200", "--gpus", "8", "--tokens", "1B", "--json"]
    measured, defaults = run_cli(*args), run_cli(*args, "--no-measured")
    assert measured.returncode == 0 and defaults.returncode == 0, measured.stderr + defaults.stderr
    assert json.loads(measured.stdout) != json.loads(defaults.stdout)


def test_serving_estimates_take_their_stack_and_the_measured_profile_only_when_given(run_cli):
    """A serving estimate is keyed by (chip, stack): on H200 it takes TensorRT-LLM's fitted
    calibration, with or without --no-measured; the measured profile (dcplan's own PyTorch
    modules, another stack) enters only as --profile, and then replaces the stack."""
    args = ["estimate", "infer", "--model", "llama-3.1-8b", "--hardware", "h200", "--gpus", "8", "--input-len", "512",
            "--output-len", "256", "--json"]
    measured, defaults = run_cli(*args), run_cli(*args, "--no-measured")
    assert measured.returncode == 0 and defaults.returncode == 0, measured.stderr + defaults.stderr
    m, d = json.loads(measured.stdout), json.loads(defaults.stdout)
    assert m["stack"]["calibration"] == "stack:tensorrt-llm@h200" and m["tokens_per_s"] == d["tokens_per_s"]
    profiled = run_cli(*args, "--profile", "profiles/gpu-nvidia-h200-standard.calibration.json")
    assert profiled.returncode == 0, profiled.stderr
    p = json.loads(profiled.stdout)
    assert p["stack"] is None and p["tokens_per_s"] != m["tokens_per_s"]
