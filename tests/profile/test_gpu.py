"""GPU-only checks (skipped without CUDA): GEMM timing vs a bare loop, MFU of the largest config."""

import time

import pytest

pytestmark = pytest.mark.gpu


def _bare_matmul_flops_per_s(m, n, k, dtype, iters=50):
    import torch

    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype)
    for _ in range(10):
        torch.matmul(a, b)
    best = 0.0
    for _ in range(5):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            torch.matmul(a, b)
        torch.cuda.synchronize()
        best = max(best, 2.0 * m * n * k * iters / (time.perf_counter() - t0))
    return best


def test_best_gemm_within_5pct_of_bare_loop():
    import torch

    from dcplan.profile import grids
    from dcplan.profile.run import ProfileRequest, profile_device

    prof = profile_device(ProfileRequest(device="cuda", sweep="quick", precision="bf16", count_flops=False,
                                         time_budget_s=300))
    gemms = [m for m in prof.of_kind("gemm") if m.config["precision"] == "bf16"]
    best = max(gemms, key=lambda m: m.flops_per_s)
    c = best.config
    bare = _bare_matmul_flops_per_s(c["m"], c["n"], c["k"], torch.bfloat16)
    assert best.flops_per_s >= 0.95 * bare, (best.flops_per_s, bare)
    assert grids.grid("quick", "cuda").train  # the grid the MFU test below relies on


def test_largest_train_config_mfu_on_h100_class():
    import torch

    from dcplan.io.profile import catalog_match
    from dcplan.profile.grids import grid
    from dcplan.profile.sweep import run_sweep
    from dcplan.profile.workloads import Ctx

    name = torch.cuda.get_device_name(0)
    match = catalog_match(name)
    if match not in ("h100-sxm", "h100-pcie", "h200", "h800"):
        pytest.skip(f"MFU target is for H100/H200-class GPUs, this is {name}")
    from dataclasses import replace

    g = grid("quick", "cuda")
    largest = max(g.train, key=lambda t: t[0].d * t[0].d * t[0].L * t[1] * t[2])
    g = replace(g, gemm=(), bandwidth=(), attention=(), prefill=(), decode=(), seq2seq=(), train=(largest,))
    out = run_sweep(g, Ctx(torch.device("cuda:0"), "bf16"), count_flops=False)
    m = out.measurements[0]
    from dcplan.io.catalog import hardware_catalog

    peak = hardware_catalog()[match].peak("bf16")
    assert m.flops_per_s / peak >= 0.40, m.flops_per_s / peak
