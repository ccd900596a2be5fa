"""Interruptions of a whole run by job size (dcplan.model.whole_run)."""

import pytest

from dcplan.io.catalog import default_calibration
from dcplan.model.whole_run import goodput_at


def test_goodput_is_llama3_observation_at_and_below_its_size():
    # Llama 3 (arXiv:2407.21783 §3.3.4): >90 % effective training time on up to 16,384 GPUs
    cal = default_calibration()
    assert cal.goodput_frac == 0.9 and cal.goodput_ref_accelerators == 16384
    for n in (8, 2048, 16384):
        assert goodput_at(cal, n) == pytest.approx(0.9)


def test_interruptions_grow_with_the_accelerators_beyond_it():
    # failures in proportion to accelerators: twice the job, twice the lost time per useful hour
    cal = default_calibration()
    lost_ref = 1 / 0.9 - 1
    assert goodput_at(cal, 32768) == pytest.approx(1 / (1 + 2 * lost_ref))
    assert goodput_at(cal, 100_000) == pytest.approx(0.60, abs=0.01)
