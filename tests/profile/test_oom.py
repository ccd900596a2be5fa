"""A configuration that does not fit is recorded as such and the sweep goes on (real allocations)."""

from dataclasses import replace

import torch

from dcplan.profile import grids
from dcplan.profile.config import TransformerConfig
from dcplan.profile.sweep import is_oom, run_sweep
from dcplan.profile.workloads import Ctx, GemmPoint, TrainPoint


def test_allocation_failure_is_recognised():
    try:
        torch.empty(2**44, dtype=torch.float32)  # 64 TiB: the allocator refuses it
    except Exception as exc:  # noqa: BLE001
        assert is_oom(exc)
    else:
        raise AssertionError("a 64 TiB allocation succeeded")
    assert not is_oom(ValueError("shape mismatch"))


def test_oversized_points_do_not_stop_the_sweep():
    g = replace(grids.grid("tiny", "cpu"), bandwidth=(), attention=(), prefill=(), decode=(), seq2seq=(),
                launch=(), encoder=(), gemm=((64, 64, 64),))
    huge_gemm = GemmPoint(2**21, 2**21, 1, "fp32")  # the 2^21 x 2^21 output is 16 TiB
    huge_model = TrainPoint(TransformerConfig(d_model=64, n_layers=1, n_heads=2, vocab_size=2**34), 1, 8, "fp32")  # 4 TiB embedding
    out = run_sweep(g, Ctx(torch.device("cpu"), "fp32"), extra_points=[huge_gemm, huge_model])
    by_fit = {m.fits for m in out.measurements}
    assert by_fit == {True, False}
    failed = [m for m in out.measurements if not m.fits]
    assert {m.kind for m in failed} == {"gemm", "train"}
    assert all("memory" in m.error and m.time_s is None for m in failed)
    ran = [m for m in out.measurements if m.fits]
    assert {m.kind for m in ran} == {"gemm", "train"}  # points before and after the failures were measured
    assert len(ran) == 1 + len(g.train)
    assert not out.partial
