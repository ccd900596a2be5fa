"""Collectives against their published formula, so that breaking the all-reduce term fails a test named for it
(scripts/mutation_check.py breaks model terms one at a time; the bubble and tensor-parallel terms are checked by
tests/model/test_train_time.py).

- all-reduce: S bytes over n ranks at bus bandwidth B take S/B x 2(n - 1)/n; reduce-scatter and all-gather
  (n - 1)/n (NCCL-tests doc/PERFORMANCE.md).
"""

import pytest

from dcplan.model.comm import Link, collective_time


def test_all_reduce_time_is_nccl_tests_busbw():
    link = Link(bytes_per_s=100e9, alpha_s=0.0, bw_frac=1.0, name="test")
    # 1 GB over 8 ranks at 100 GB/s: 1e9 / 100e9 x 2 x 7 / 8 = 17.5 ms; reduce-scatter and all-gather move half of it
    assert collective_time("all_reduce", 1e9, 8, link) == pytest.approx(0.0175, rel=1e-12)
    assert collective_time("reduce_scatter", 1e9, 8, link) == pytest.approx(0.00875, rel=1e-12)
    assert collective_time("all_gather", 1e9, 8, link) == pytest.approx(0.00875, rel=1e-12)
    assert collective_time("all_reduce", 1e9, 1, link) == 0


def test_all_reduce_latency_is_two_n_minus_one_ring_steps():
    """Ring all-reduce: 2(n - 1) latency steps (Thakur, Rabenseifner & Gropp 2005)."""
    link = Link(bytes_per_s=100e9, alpha_s=5e-6, bw_frac=1.0, name="test")
    assert collective_time("all_reduce", 1.0, 8, link) == pytest.approx(14 * 5e-6 + 1.0 / 100e9 * 2 * 7 / 8, rel=1e-12)
