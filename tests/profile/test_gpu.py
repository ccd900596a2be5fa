"""GPU-only checks (skipped without CUDA), on one quick profile of the GPU.

The profile is the one ``DCPLAN_GPU_PROFILE`` names (scripts/gpu_check.sh measures it first and
passes it on) or, without it, a fresh quick sweep measured here. The checks: the best profiled
GEMM against a bare matmul loop; MFU of the largest train configuration on an H100/H200-class
device; decode replayed from CUDA graphs against eager decode; the held-out targets of issue 13
after calibrating the profile. They need torch with CUDA and pytest only (no dashboard extras).
"""

import os
import time

import pytest

pytestmark = pytest.mark.gpu

#: H100/H200-class catalog entries the MFU target applies to.
HOPPER = ("h100-sxm", "h100-pcie", "h200", "h800")


@pytest.fixture(scope="module")
def quick():
    from dcplan.io.profile import read_profile
    from dcplan.profile.run import ProfileRequest, profile_device

    path = os.environ.get("DCPLAN_GPU_PROFILE")
    if path:
        return read_profile(path)
    return profile_device(ProfileRequest(device="cuda", sweep="quick", count_flops=False, time_budget_s=200, name="gpu-test"))


@pytest.fixture(scope="module")
def calibrated(quick):
    from dcplan.calibrate.profile_fit import calibrate_profile

    return calibrate_profile(quick, "gpu-test")


def _bare_matmul_flops_per_s(m, n, k, dtype, iters=20):
    """Best of 5 blocks of ``iters`` back-to-back matmuls timed with CUDA events, after 3 warm-ups."""
    import torch

    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype)
    for _ in range(3):
        torch.matmul(a, b)
    best = 0.0
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            torch.matmul(a, b)
        end.record()
        torch.cuda.synchronize()
        best = max(best, 2.0 * m * n * k * iters / (start.elapsed_time(end) / 1e3))
    return best


def test_best_gemm_within_5pct_of_bare_loop(quick):
    import torch

    gemms = [m for m in quick.of_kind("gemm") if m.config["precision"] == "bf16"]
    best = max(gemms, key=lambda m: m.flops_per_s)
    c = best.config
    bare = _bare_matmul_flops_per_s(c["m"], c["n"], c["k"], torch.bfloat16)
    assert best.flops_per_s >= 0.95 * bare, (best.id, best.flops_per_s, bare)


def test_largest_train_config_mfu_on_h100_class(quick):
    from dcplan.io.catalog import hardware_catalog

    match = quick.device.catalog_match
    if match not in HOPPER:
        pytest.skip(f"the MFU target is for H100/H200-class GPUs, this is {quick.device.name}")
    largest = max(quick.of_kind("train"), key=lambda m: m.flops)
    mfu = largest.flops_per_s / hardware_catalog()[match].peak("bf16")
    assert mfu >= 0.40, (largest.id, largest.config, mfu)


def test_decode_from_cuda_graphs_is_faster_than_eager(quick):
    def key(m):
        return tuple(sorted((k, v) for k, v in m.config.items() if k != "impl"))

    eager = {key(m): m for m in quick.of_kind("decode") if m.config.get("impl", "eager") == "eager"}
    graphs = {key(m): m for m in quick.of_kind("decode") if m.config.get("impl") == "cuda-graphs"}
    pairs = [(eager[k], graphs[k]) for k in eager if k in graphs]
    assert pairs, "the quick GPU sweep measures decode eager and from CUDA graphs"
    for e, g in pairs:  # never slower beyond noise (bandwidth-bound steps take the same device time)
        assert g.time <= 1.05 * e.time, (e.config, e.time, g.time)
    e, g = min(pairs, key=lambda p: p[0].time)  # the most launch-bound step
    assert e.time / g.time >= 2.0, (e.config, e.time, g.time)


def test_cuda_graph_replay_computes_what_eager_computes():
    import torch

    from dcplan.profile.config import TransformerConfig
    from dcplan.profile.transformer import build
    from dcplan.profile.workloads import capture_graph

    cfg = TransformerConfig(d_model=256, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=1024, max_seq_len=64)
    model = build(cfg, device="cuda", dtype=torch.bfloat16).eval()
    cache = model.new_cache(4, 64)
    for k, v in zip(cache.k, cache.v, strict=True):
        k.normal_()
        v.normal_()
    token = torch.randint(0, 1024, (4, 1), device="cuda")
    out = {}

    @torch.inference_mode()
    def step():
        cache.length = 63
        out["logits"] = model.decode_step(token, cache)
        return out["logits"]

    expected = step().clone()
    with torch.inference_mode():
        replay = capture_graph(step, torch.device("cuda"))
    replay()
    torch.cuda.synchronize()
    assert torch.allclose(out["logits"].float(), expected.float(), atol=1e-2, rtol=1e-2)
    t0 = time.perf_counter()
    for _ in range(10):
        replay()
    torch.cuda.synchronize()
    assert time.perf_counter() - t0 > 0


def test_calibration_fits_each_decode_implementation(calibrated):
    table = calibrated.calibration.decode_dispatch
    assert {"eager", "cuda-graphs"} <= set(table)
    assert table["cuda-graphs"].host_overlap_frac == 0.0 and table["eager"].host_overlap_frac == 1.0
    assert table["cuda-graphs"].kernel_s < table["eager"].kernel_s


@pytest.mark.parametrize("kind", ["train", "prefill", "decode", "memory",
                                  pytest.param("seq2seq", marks=pytest.mark.xfail(
                                      reason="missed on the shipped H200 profile too (12.2 % median): generate points are "
                                             "launch-bound and the host's speed moved between sweeps", strict=False))])
def test_heldout_targets_on_a_fresh_quick_profile(calibrated, kind):
    from dcplan.cli.calibrate_cmd import GPU_TARGETS

    median, p90 = GPU_TARGETS[kind]
    stats = calibrated.heldout[kind].loo
    assert stats["n"] > 0, kind
    assert stats["median_ape_pct"] <= median and stats["p90_ape_pct"] <= p90, (kind, stats)
