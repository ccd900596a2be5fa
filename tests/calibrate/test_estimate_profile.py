"""``dcplan estimate --profile`` moves predictions the way the calibrated efficiencies say."""

import json
from dataclasses import replace

import pytest

from dcplan.io.catalog import default_calibration, get_hardware
from dcplan.io.profile import write_profile
from dcplan.profile.result import DeviceInfo
from dcplan.specs import EfficiencyCurve
from tests.calibrate import synthetic as S

H100 = DeviceInfo(type="cuda", name="NVIDIA H100 80GB HBM3", precision="bf16", memory_bytes=80e9)


def _gpu_truth(scale: float):
    """Shipped H100 defaults with train/prefill efficiency scaled and the decode bandwidth too."""
    base = default_calibration("h100-sxm")
    return replace(base, gemm=EfficiencyCurve(eta_max=0.95, x_half=5e8, exponent=0.8, t0_s=1e-5),
                   train=EfficiencyCurve(eta_max=min(1.0, 0.6 * scale), x_half=1e9, t0_per_layer_s=5e-5, act_passes=2.0),
                   prefill=EfficiencyCurve(eta_max=min(1.0, 0.7 * scale), x_half=1e9, t0_per_layer_s=2e-5, act_passes=1.0),
                   decode_bw_frac=min(1.0, 0.5 * scale), decode_t0_s=1e-4, decode_t0_per_layer_s=2e-5,
                   memory_factor=1.0 + 0.3 * scale, memory_constant_bytes=2e9)


@pytest.fixture(scope="module")
def calibrations(tmp_path_factory, run_cli_module):
    d = tmp_path_factory.mktemp("gpu")
    out = {}
    for label, scale in (("slow", 0.5), ("fast", 1.6)):
        prof = S.profile(_gpu_truth(scale), noise=0.01, device=H100, hw=get_hardware("h100-sxm"), width=8, vocab=32000)
        path = write_profile(d / f"{label}.json", prof)
        cal = d / f"{label}.calibration.json"
        r = run_cli_module("calibrate", str(path), "--out", str(cal))
        assert r.returncode == 0, r.stderr
        out[label] = cal
    return out


def _train(run, *extra):
    r = run("estimate", "train", "--model", "llama-2-7b", "--tokens", "1T", "--gpus", "64", "--json", "--tp", "1", "--pp", "1",
            "--dp", "64", "--cp", "1", "--zero", "1", "--recompute", "selective", "--micro-batch", "1", "--seq-len", "2048", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _infer(run, *extra):
    r = run("estimate", "infer", "--model", "llama-2-7b", "--gpus", "1", "--input-len", "512", "--output-len", "256",
            "--batch", "16", "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_catalog_gpu_profile_calibrates_that_entry(calibrations):
    from dcplan.io.calibration import read_calibration

    cal = read_calibration(calibrations["slow"])
    assert cal.hardware == "h100-sxm" and cal.device is None


def test_slower_measured_hardware_predicts_longer_jobs(run_cli, calibrations):
    default = _train(run_cli, "--hardware", "h100")
    slow = _train(run_cli, "--profile", str(calibrations["slow"]))
    fast = _train(run_cli, "--profile", str(calibrations["fast"]), "--hardware", "h100")
    assert slow["hardware"] == fast["hardware"] == "h100-sxm"
    assert slow["wall_clock_days"] > fast["wall_clock_days"]
    assert slow["mfu_frac"] < fast["mfu_frac"]
    assert default["mfu_frac"] != slow["mfu_frac"]  # the profile, not the shipped defaults, was used
    assert slow["memory_per_accelerator_bytes"] < fast["memory_per_accelerator_bytes"]  # factor 1.15 vs 1.48


def test_decode_bandwidth_moves_tpot(run_cli, calibrations):
    slow = _infer(run_cli, "--profile", str(calibrations["slow"]))
    fast = _infer(run_cli, "--profile", str(calibrations["fast"]))
    assert slow["tpot_s"] > fast["tpot_s"]
    assert slow["tokens_per_s"] < fast["tokens_per_s"]


def test_profile_for_other_hardware_is_refused(run_cli, calibrations):
    r = run_cli("estimate", "train", "--model", "llama-2-7b", "--tokens", "1T", "--gpus", "8", "--hardware", "a100-80gb",
                "--profile", str(calibrations["slow"]))
    assert r.returncode == 2 and "calibrates h100-sxm" in r.stderr
