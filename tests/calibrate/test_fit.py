"""The fit recovers the parameters that generated synthetic data (the model's own output + noise)."""

import pytest

from dcplan.calibrate.fit import MIN_POINTS, fit_gemm
from dcplan.calibrate.profile_fit import calibrate_profile
from dcplan.errors import InputError
from tests.calibrate import synthetic as S


@pytest.fixture(scope="module")
def fitted():
    return calibrate_profile(S.profile(noise=0.01, seed=1), "synthetic")


def test_recovers_gemm_curve(fitted):
    g, t = fitted.calibration.gemm, S.TRUTH.gemm
    assert g.exponent == pytest.approx(t.exponent, rel=0.15)
    assert g.x_half == pytest.approx(t.x_half, rel=0.5)
    assert g.t0_s == pytest.approx(t.t0_s, rel=0.3)
    # eta is relative to the best GEMM measured (the device's measured peak), ~ truth's plateau
    assert g.eta_max == pytest.approx(1.0, abs=0.02)


def test_recovers_phase_and_memory_parameters(fitted):
    c, t = fitted.calibration, S.TRUTH
    assert c.train.eta_max == pytest.approx(t.train.eta_max, rel=0.06)
    assert c.prefill.eta_max == pytest.approx(t.prefill.eta_max, rel=0.06)
    assert c.decode_bw_frac == pytest.approx(t.decode_bw_frac, rel=0.15)
    assert c.decode_compute.eta_max == pytest.approx(t.decode_compute.eta_max, rel=0.15)
    assert c.memory_factor == pytest.approx(t.memory_factor, rel=0.05)
    assert c.memory_activation_factor == pytest.approx(t.memory_activation_factor, rel=0.1)
    assert c.memory_logits_factor == pytest.approx(t.memory_logits_factor, rel=0.1)
    assert c.memory_constant_bytes == pytest.approx(t.memory_constant_bytes, rel=0.25)


def test_overheads_and_traffic_are_identified_without_noise():
    """Per-layer overhead and activation passes trade off under noise, but are identified exactly."""
    c, t = calibrate_profile(S.profile(noise=0.0, seed=3), "synthetic").calibration, S.TRUTH
    assert c.train.act_passes == pytest.approx(t.train.act_passes, rel=0.1)
    assert c.train.t0_per_layer_s == pytest.approx(t.train.t0_per_layer_s, rel=0.1)
    assert c.decode_dispatch["eager"].kernel_s == pytest.approx(t.decode_dispatch["eager"].kernel_s, rel=0.1)
    assert c.decode_compute.x_half == pytest.approx(t.decode_compute.x_half, rel=0.1)


def test_heldout_error_is_at_the_noise_level(fitted):
    for kind in ("train", "prefill", "memory"):
        assert fitted.heldout[kind].loo["median_ape_pct"] < 3.0, kind
    assert fitted.heldout["decode"].loo["median_ape_pct"] < 6.0


def test_noise_free_fit_is_nearly_exact():
    pc = calibrate_profile(S.profile(noise=0.0, seed=2), "synthetic")
    for p in pc.predictions:
        assert abs(p.ratio - 1) < 0.03, p.id


def test_plain_saturating_curve_misses_a_hill_shaped_gemm():
    prof = S.profile(noise=0.0)
    gemms = prof.of_kind("gemm")
    peak = prof.best_gemm_flops_per_s("fp32")
    _, hill = fit_gemm(gemms, peak, hill=True)
    _, plain = fit_gemm(gemms, peak, hill=False)
    assert max(hill.ape_pct()) < 1.0 < max(plain.ape_pct())


def test_too_few_points_is_an_input_error():
    prof = S.profile(kinds=("train", "prefill", "decode"))
    short = type(prof)(**{**prof.__dict__, "measurements": tuple(m for m in prof.measurements if m.kind != "train" or m.id < "train-003")})
    with pytest.raises(InputError, match=f"too few train measurements to fit: 2, need at least {MIN_POINTS['train']}"):
        calibrate_profile(short)
