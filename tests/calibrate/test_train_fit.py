"""The shared training efficiencies: shipped values are the fit, held-out scoring is real."""

import pytest

from dcplan.calibrate import train_fit as T
from dcplan.calibrate.at_scale import predict_run
from dcplan.io.catalog import default_calibration, get_hardware, get_model
from dcplan.io.validation import read_training_runs


@pytest.mark.slow
def test_shipped_training_efficiencies_are_the_fit():
    fit = T.fit_training(read_training_runs(), get_model, get_hardware, default_calibration)
    shipped = T.params_of(default_calibration())
    assert shipped[0] == pytest.approx(fit.values[0], abs=0.01)
    assert shipped[1] == pytest.approx(fit.values[1], abs=0.01)
    assert shipped[2] == pytest.approx(fit.values[2], rel=0.1)
    assert fit.after["median_ape_pct"] < fit.before["median_ape_pct"] or fit.before["median_ape_pct"] < 10


def test_fit_rows_are_calibration_rows_with_a_throughput():
    rows = read_training_runs()
    fitted = T.fit_rows(rows)
    assert fitted and all(r.role == "calibrate" for r in fitted)
    assert not any(r.id.startswith("deepseek") for r in fitted)  # DeepSeek-V3 is judged, never fitted


def test_leave_one_out_never_uses_the_row_it_predicts():
    """Refitting without a row changes the parameters that predict it: the held-out
    prediction differs from the in-sample one for a row that pulls the fit."""
    rows = [r for r in T.fit_rows(read_training_runs()) if not r.model.startswith("qwen3")][:6]
    cases = T._cases(rows, get_model, get_hardware, default_calibration)
    frozen = T._freeze(cases, T.params_of(cases[0].cal))
    all_theta = T._solve(frozen, T.params_of(cases[0].cal))
    loo_theta = T._solve(frozen[1:], all_theta)
    assert loo_theta != pytest.approx(all_theta, rel=1e-6)
    p_in = predict_run(cases[0].row, cases[0].model, cases[0].hw, T.with_params(cases[0].cal, all_theta))
    p_out = predict_run(cases[0].row, cases[0].model, cases[0].hw, T.with_params(cases[0].cal, loo_theta))
    assert p_in.throughput_ratio != pytest.approx(p_out.throughput_ratio, rel=1e-6)


def test_with_params_sets_exactly_the_three_values():
    cal = T.with_params(default_calibration(), (0.5, 0.4, 3.0))
    assert (cal.train.eta_max, cal.train_fp8_eta_max, cal.train.act_passes) == (0.5, 0.4, 3.0)
    assert cal.prefill == default_calibration().prefill
