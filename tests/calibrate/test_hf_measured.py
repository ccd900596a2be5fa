"""Issue 12's CPU targets on a real measurement: transformers points (smollm2-135m, gpt-2-small,
pythia-160m, t5-small built from their config.json with random weights) predicted by the fit on
dcplan's own Transformer, which never saw them.

The profile is `dcplan profile --sweep quick --impl native,hf` on the 2-vCPU development VM
(1 thread, fp32, 2026-11-30), kept here so the transfer is checked on measured points.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcplan.calibrate.profile_fit import calibrate_profile
from dcplan.io.profile import read_profile

PROFILE = Path(__file__).parent / "data" / "cpu-hf-quick.json"


@pytest.fixture(scope="module")
def heldout_hf():
    pc = calibrate_profile(read_profile(PROFILE), str(PROFILE))
    assert pc.calibration.implementation == "native" and "hf eager" in pc.implementations
    return pc.heldout_hf


def test_profile_holds_both_implementations():
    prof = read_profile(PROFILE)
    impls = [m.config.get("impl") == "hf" for m in prof.measurements if m.kind in ("train", "prefill", "decode", "seq2seq")]
    assert sum(impls) == 20 and len(impls) - sum(impls) >= 40  # transformers points beside dcplan's own


@pytest.mark.parametrize("kind", ["train", "prefill", "memory"])
def test_transformers_points_within_15_percent_of_the_native_fit(heldout_hf, kind):
    k = heldout_hf["kinds"][kind]
    assert k["n"] >= 6
    assert k["median_ape_pct"] <= 15.0, k


def test_the_operation_cost_is_measured(heldout_hf):
    assert heldout_hf["op_s_source"].startswith("measured")
    assert 1e-7 < heldout_hf["op_s"] < 1e-4
