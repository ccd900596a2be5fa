"""The shipped at-scale efficiencies are what the fits over published runs give; rows are sourced."""

import pytest

from dcplan.calibrate.at_scale import fit_decode_bw, summary
from dcplan.io.catalog import default_calibration, get_hardware, get_model
from dcplan.io.validation import read_inference_benchmarks, read_training_runs


@pytest.mark.slow
def test_shipped_decode_bw_is_the_fit():
    fit = fit_decode_bw(read_inference_benchmarks(), get_model, get_hardware, default_calibration)
    assert default_calibration().decode_bw_frac == pytest.approx(fit.value, abs=0.005)


def test_summary_statistics():
    s = summary([1.1, 0.9, 1.0, None])
    assert s["n"] == 3
    assert s["median_ape_pct"] == pytest.approx(10.0)
    assert s["max_ape_pct"] == pytest.approx(10.0)


def test_every_validation_row_has_a_public_source():
    for row in read_training_runs():
        assert row.source and row.quality in ("A", "B", "C")
        assert "shared/" not in row.source and "/work/" not in row.source
    for row in read_inference_benchmarks():
        assert row.source and row.quality


def test_training_rows_cover_what_the_issue_asks():
    rows = read_training_runs()
    assert len(rows) >= 25
    moe = [r for r in rows if get_model(r.model).moe is not None]
    assert len(moe) >= 3
    assert {r.role for r in rows} == {"calibrate", "heldout"}
    # every model and hardware (chip or system) resolves
    for r in rows:
        get_model(r.model)
        get_hardware(r.hardware)
