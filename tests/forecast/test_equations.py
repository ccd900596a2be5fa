"""The equations against their closed forms, published numbers and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dcplan.forecast import demand as dm
from dcplan.forecast import grid as gr
from dcplan.forecast import regions as rg
from dcplan.forecast import roadmap as rm
from dcplan.forecast.economics import capital_recovery_factor, usd_per_mtok
from dcplan.forecast.power import energy_twh, pue_path, year_average
from dcplan.forecast.scenario import Generation
from dcplan.forecast.supply import ahead, backlog_years, weibull_survival


def test_bass_solves_its_differential_equation():
    p, q = 0.03, 0.38  # Sultan, Farley & Lehmann 1990 mean coefficients
    sol = solve_ivp(lambda t, f: (p + q * f) * (1 - f), (0, 15), [0.0], dense_output=True, rtol=1e-10, atol=1e-12)
    t = np.linspace(0, 15, 31)
    assert np.allclose(dm.bass_fraction(t, p, q), sol.sol(t)[0], atol=1e-7)
    assert dm.bass_fraction(np.array([-1.0]), p, q)[0] == 0.0


def test_taper_halves_the_excess_and_index_is_one_at_the_anchor():
    years = np.arange(2023.0, 2028.0)
    steps = np.full((1, 5), 3.0)
    t = dm.taper(steps, np.array([1.0]), years, 2025)
    assert np.allclose(t, [[3, 3, 3, 2, 1.5]])  # excess 2 halves each year after 2025
    idx = dm.index_at(t, 1)  # anchor 2024
    assert idx[0, 1] == 1.0 and np.allclose(idx[0], [1 / 3, 1, 3, 6, 9])


def test_rebound_and_training_budget():
    eff = np.array([[1.0, 4.0]])
    assert np.allclose(dm.rebound(eff, np.array([0.5])), [[1.0, 2.0]])  # half the efficiency gain returns as tokens
    # OpenAI 2024 as reported: revenue ~$3.7 B on ~$1.9 B serving compute, ~$5 B R&D: budget = 1.35 x 1.95 x serving
    b = dm.training_budget_h100e(np.array([[100.0]]), np.array([5.0 / 3.7]), np.array([3.7 / 1.9]))
    assert b[0, 0] == pytest.approx(100.0 * 5.0 / 1.9)


def test_flop_per_token_is_2n_plus_attention():
    assert dm.flop_per_token(np.array([[70e9]]), np.array([0.1]), np.array([[2.0]]))[0, 0] == pytest.approx(2 * 70e9 * 1.1 / 2)


def test_one_h100_year():
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


def test_energy_of_a_ramping_fleet_matches_hourly_integration():
    # a fleet whose peak power grows linearly from 1 GW to 3 GW over a year: integrate hour by hour instead of
    # using the year average and the TWh constant (an independent computation of the same energy)
    hours = np.arange(8766) + 0.5
    power_w = 1e9 + 2e9 * hours / 8766
    integrated_twh = power_w.sum() * 1.0 / 1e12  # W x 1 h = Wh; 1e12 Wh = 1 TWh
    avg = year_average(np.array([[1e9, 3e9]]))[0, 1]
    assert energy_twh(np.array([avg]))[0] == pytest.approx(integrated_twh, rel=1e-6)
    assert integrated_twh == pytest.approx(17.532, rel=1e-4)  # 2 GW average over 8,766 h


def test_pue_path_halves_to_floor():
    p = pue_path(np.array([2024.0, 2034.0]), 2024, np.array([1.3]), np.array([1.1]), np.array([10.0]))
    assert np.allclose(p, [[1.3, 1.2]])


def test_ahead_interpolates_log_linearly_and_extrapolates():
    req = np.array([[1.0, 2.0, 4.0]])
    out = ahead(req, np.array([0.5]), 0)
    assert np.allclose(out, [[2**0.5, 2**1.5, 2**2.5]])


def test_grid_pipeline_saturates_and_lags():
    years = np.arange(2024.0, 2060.0)
    a = gr.connectable_w(years, 2024, np.array([10_000.0]), np.array([1.3]), np.array([40_000.0]), np.array([2.0]))[0]
    assert a[0] == 0.0  # history years build what they need
    assert a[2] == pytest.approx(10_000e6, rel=1e-9)  # requests of the start year (2024) energise two years later
    assert np.all(np.diff(a[1:]) > 0) and a[-1] < 40_000e6 and a[-1] > 0.99 * 40_000e6  # bounded, approaching the ceiling
    cum = np.cumsum(a)
    assert cum[-1] - cum[-11] <= 10 * 40_000e6  # no compounding: at most the ceiling each year
    shorter = gr.connectable_w(years, 2024, np.array([10_000.0]), np.array([1.3]), np.array([40_000.0]), np.array([0.5]))[0]
    assert np.all(shorter[1:] >= a[1:])  # a shorter lead connects more, sooner


def test_backlog_years_is_the_delay_until_the_fleet_catches_up():
    required = np.array([[1.0, 4.0, 4.0, 4.0]])
    available = np.array([[1.0, 1.0, 2.0, 8.0]])  # reaches 4 halfway (log-linearly) between the third and fourth year
    b = backlog_years(required, available, 0)
    assert b[0, 1] == pytest.approx(1.5) and b[0, 2] == pytest.approx(0.5) and b[0, 3] == 0.0
    never = backlog_years(np.array([[1.0, 100.0]]), np.array([[1.0, 2.0]]), 0, cap_years=15.0)
    assert never[0, 1] == pytest.approx(np.log(50) / np.log(2))  # extrapolated at the last growth (x2/yr)


def _gens():
    return (Generation(name="a", hardware="a", first_vintage=2020, h100e_per_unit=1.0, server_power_w=1000.0, usd_per_unit=10_000.0),
            Generation(name="b", hardware="b", first_vintage=2022, h100e_per_unit=2.0, server_power_w=1500.0, usd_per_unit=16_000.0),
            Generation(name="next", first_vintage=2024))


def test_roadmap_ramps_generations_and_extrapolates_at_the_given_rates():
    years = np.arange(2020.0, 2027.0)
    v = rm.vintages(years, _gens(), np.array([1.5]), np.array([1.2]), np.array([1.3]), np.array([1.0]))
    h = v.h100e_per_unit[0]
    assert h[0] == 1.0 and h[1] == 1.0 and h[2] == pytest.approx(1.5) and h[3] == 2.0  # half the units of b in 2022, all in 2023
    assert h[4] == pytest.approx(2.0 * 1.5) and h[6] == pytest.approx(2.0 * 1.5**3)
    per_w = 1.0 / v.server_w_per_h100e[0]
    per_usd = 1.0 / v.usd_per_h100e[0]
    assert per_w[6] / per_w[3] == pytest.approx(1.2**3) and per_usd[6] / per_usd[3] == pytest.approx(1.3**3)
    rows = rm.generation_table(_gens(), 1e15)
    assert rows[1]["per_w_gain_per_year"] == pytest.approx(((2e15 / 1500) / (1e15 / 1000)) ** 0.5)


def test_a_generation_without_a_price_follows_price_performance():
    gens = (Generation(name="a", hardware="a", first_vintage=2020, h100e_per_unit=1.0, server_power_w=1000.0, usd_per_unit=10_000.0),
            Generation(name="b", hardware="b", first_vintage=2022, h100e_per_unit=3.0, server_power_w=1500.0, usd_per_unit=None))
    p = rm.generation_prices(list(gens), np.array([1.25, 2.0]))
    assert np.allclose(p[:, 1], [3.0 * 10_000 / 1.25**2, 3.0 * 10_000 / 4.0])  # $/H100e of "a" over two years of gains, x 3 H100e


def test_region_shares_follow_new_additions_and_sum_to_one():
    hist = np.array([[0.5, 0.5]])
    new = np.array([[0.9, 0.1]])
    s = rg.ai_stock_shares(np.array([[10.0, 10.0, 0.0]]), np.array([[0.0, 10.0, 30.0]]), hist, new)
    assert np.allclose(s.sum(axis=2), 1.0)
    assert s[0, 0, 0] == 0.5 and s[0, 1, 0] == pytest.approx(0.7) and s[0, 2, 0] == pytest.approx(0.9)
    n = rg.nonai_shares(np.array([[0.5, 0.5]]), np.array([[1.1, 1.0]]), np.array([2024.0, 2025.0]), 2024)
    assert np.allclose(n.sum(axis=2), 1.0) and n[0, 1, 0] == pytest.approx(1.1 / 2.1)
