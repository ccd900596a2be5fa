"""Sweep grids: every point is valid, plans fit their budgets, thinning keeps the extremes."""

import pytest

from dcplan.profile import grids
from dcplan.profile.sweep import build_points, point_cost_s, thin_for_budget


@pytest.mark.parametrize("sweep", grids.SWEEPS)
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_grid_points_are_valid(sweep, device):
    g = grids.grid(sweep, device)
    pts = build_points(g, "fp32" if device == "cpu" else "bf16")
    kinds = {p.kind for p in pts}
    assert kinds == {"gemm", "bandwidth", "attention", "launch", "train", "prefill", "decode", "seq2seq", "encoder"}
    for p in pts:
        cfg = p.config()
        assert all(v is not None for v in cfg.values())
        if hasattr(p, "model"):
            p.model.model_spec()  # a valid ModelSpec (heads divide d_model, kv heads divide heads)


def test_quick_and_standard_cpu_plans_fit_their_targets():
    for sweep, limit in (("quick", 120), ("standard", 600)):
        g = grids.grid(sweep, "cpu")
        cost = sum(point_cost_s(p, g, g.timing, "cpu") for p in build_points(g, "fp32"))
        assert cost < 0.8 * limit, (sweep, cost)


def test_thinning_keeps_smallest_and_largest():
    g = grids.grid("standard", "cpu")
    pts = build_points(g, "fp32")
    kept, timing, dropped = thin_for_budget(pts, g, 60.0, "cpu")
    assert timing.sweeps == 2 and dropped
    for kind in ("train", "prefill", "decode"):
        group = sorted((p for p in pts if p.kind == kind), key=lambda p: point_cost_s(p, g, timing, "cpu"))
        kept_kind = [p for p in kept if p.kind == kind]
        assert group[0] in kept_kind and group[-1] in kept_kind
    assert len(kept) + len(dropped) == len(pts)
