"""The equations against their closed forms and published numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dcplan.forecast import demand as dm
from dcplan.forecast.economics import capital_recovery_factor, usd_per_mtok
from dcplan.forecast.power import W_PER_TWH_YEAR, pue_path, year_average
from dcplan.forecast.supply import ahead, weibull_survival


def test_bass_solves_its_differential_equation():
    p, q = 0.03, 0.38  # Sultan, Farley & Lehmann 1990 mean coefficients
    sol = solve_ivp(lambda t, f: (p + q * f) * (1 - f), (0, 15), [0.0], dense_output=True, rtol=1e-10, atol=1e-12)
    t = np.linspace(0, 15, 31)
    assert np.allclose(dm.bass_fraction(t, p, q), sol.sol(t)[0], atol=1e-7)
    assert dm.bass_fraction(np.array([-1.0]), p, q)[0] == 0.0


def test_tapered_index():
    g = np.array([3.0])
    idx = dm.tapered_index(g, np.array([1e9]), 3)
    assert np.allclose(idx, [[1, 3, 9, 27]])
    idx = dm.tapered_index(g, np.array([1.0]), 2)
    assert np.allclose(idx, [[1, 3, 3 * 2]])  # excess 2 halves after one year


def test_flop_per_token_is_2n_plus_attention():
    assert dm.flop_per_token(np.array([[70e9]]), np.array([0.1]), np.array([[2.0]]))[0, 0] == pytest.approx(2 * 70e9 * 1.1 / 2)


def test_h100e_needed_one_h100_year():
    peak = 989.4e12
    year_flop = peak * 365.25 * 86400
    h = dm.h100e_needed(np.array([[year_flop * 0.1]]), np.array([[year_flop * 0.4]]), np.array([0.1]), np.array([0.4]), peak)
    assert h[0, 0] == pytest.approx(2.0)


def test_weibull_median():
    assert weibull_survival(np.array([5.0]), 5.0, 3.0)[0] == pytest.approx(0.5)
    assert weibull_survival(np.array([0.0]), 5.0, 3.0)[0] == 1.0


def test_crf_textbook_value():
    assert float(capital_recovery_factor(np.array(0.08), np.array(5.0))) == pytest.approx(0.25046, abs=1e-5)
    assert float(capital_recovery_factor(np.array(0.0), np.array(4.0))) == pytest.approx(0.25)


def test_usd_per_mtok():
    # $2/h at 10 % of 1e15 FLOP/s, 2e11 FLOP/token: 500 tokens/s -> 1.8 M tokens/h -> $1.111/Mtok
    v = usd_per_mtok(np.array([[2.0]]), 1e15, np.array([0.1]), np.array([[2e11]]))
    assert v[0, 0] == pytest.approx(2.0 / 1.8, rel=1e-9)


def test_energy_units():
    assert W_PER_TWH_YEAR * 8766 == pytest.approx(1e12)
    assert np.allclose(year_average(np.array([[2.0, 4.0]])), [[1.0, 3.0]])


def test_pue_path_halves_to_floor():
    p = pue_path(np.array([2024.0, 2034.0]), 2024, np.array([1.3]), np.array([1.1]), np.array([10.0]))
    assert np.allclose(p, [[1.3, 1.2]])


def test_ahead_interpolates_log_linearly_and_extrapolates():
    req = np.array([[1.0, 2.0, 4.0]])
    out = ahead(req, np.array([0.5]), 0)
    assert np.allclose(out, [[2**0.5, 2**1.5, 2**2.5]])
