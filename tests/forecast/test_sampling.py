"""Latin hypercube, Iman-Conover and distributions: marginals, strata, correlations, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dcplan.errors import InputError
from dcplan.forecast.sampling import ar1_correlation, draw, iman_conover, latin_hypercube
from dcplan.forecast.scenario import Distribution


def test_lhs_one_point_per_stratum():
    u = latin_hypercube(1000, 5, np.random.default_rng(1))
    for j in range(5):
        assert np.array_equal(np.sort(np.floor(u[:, j] * 1000)), np.arange(1000))


def test_iman_conover_reaches_target_and_keeps_marginals():
    rng = np.random.default_rng(2)
    u = latin_hypercube(4000, 6, rng)
    target = ar1_correlation(6, 0.8)
    target[0, 5] = target[5, 0] = 0.1
    out = iman_conover(u, target)
    for j in range(6):
        assert np.array_equal(np.sort(out[:, j]), np.sort(u[:, j]))
    rho = stats.spearmanr(out).statistic
    assert np.max(np.abs(rho - target)) < 0.03


def test_iman_conover_rejects_a_matrix_that_is_not_positive_definite():
    u = latin_hypercube(500, 3, np.random.default_rng(0))
    bad = np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(InputError, match="positive definite"):
        iman_conover(u, bad)


@pytest.mark.parametrize("d,q,v", [
    (Distribution(kind="lognormal", p5=2.0, p95=8.0), 0.05, 2.0),
    (Distribution(kind="lognormal", p5=2.0, p95=8.0), 0.95, 8.0),
    (Distribution(kind="lognormal", p10=1.0, p90=4.0), 0.5, 2.0),
    (Distribution(kind="beta", p5=0.02, p95=0.15), 0.05, 0.02),
    (Distribution(kind="beta", p5=0.02, p95=0.15), 0.95, 0.15),
    (Distribution(kind="triangular", low=0.0, mode=0.0, high=1.0), 0.75, 0.5),
    (Distribution(kind="uniform", low=2.0, high=4.0), 0.25, 2.5),
    (Distribution(kind="fixed", value=3.0), 0.9, 3.0),
])
def test_quantiles(d, q, v):
    assert float(d.ppf(np.array([q]))[0]) == pytest.approx(v, rel=1e-6)


def test_beta_matches_scipy():
    d = Distribution(kind="beta", alpha=2.0, beta=5.0)
    u = np.linspace(0.01, 0.99, 7)
    assert np.allclose(d.ppf(u), stats.beta(2, 5).ppf(u))


def test_same_seed_same_draws_other_seed_differs(base):
    a = draw(base, 300, np.random.default_rng(7))
    b = draw(base, 300, np.random.default_rng(7))
    c = draw(base, 300, np.random.default_rng(8))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["pue_ai"], c["pue_ai"])


def test_per_year_draws_are_rank_correlated_across_years(base):
    d = draw(base, 3000, np.random.default_rng(0))
    g = d["frontier_compute_growth_per_year"]
    assert g.shape == (3000, len(base.forecast_years))
    rho = stats.spearmanr(g[:, 0], g[:, 1]).statistic
    assert rho == pytest.approx(base.year_correlation, abs=0.05)
    corr = [c for c in base.correlations if {c.a, c.b} == {"frontier_compute_growth_per_year", "chip_supply_growth_per_year"}][0]
    rho_ab = stats.spearmanr(g[:, 0], d["chip_supply_growth_per_year"][:, 0]).statistic
    assert rho_ab == pytest.approx(corr.rho, abs=0.05)


def test_region_shares_sum_to_one(base):
    d = draw(base, 2000, np.random.default_rng(0))
    for key in ("ai_share_history", "ai_share_new", "nonai_share"):
        assert np.allclose(d[key].sum(axis=1), 1.0)
    assert d["nonai_share"][0, 0] == pytest.approx(183 / 415, abs=3e-3)  # IEA 2024 split, renormalised
    new_us = d["ai_share_new"][:, 0]
    assert new_us.mean() == pytest.approx(0.54, abs=0.01) and new_us.std() > 0.02  # a Dirichlet around the sourced mean


def test_beta_quantile_table_branch_matches_the_exact_inverse():
    # above 4,096 draws (every default forecast) the beta quantile comes from a table in normal-score space
    from scipy.special import betaincinv

    from dcplan.forecast.scenario import _EXACT_BELOW

    d = Distribution(kind="beta", p5=0.02, p95=0.15)
    a, b = d.beta_ab()
    u = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 10_000), [1e-12, 0.5, 1 - 1e-12]])
    assert u.size > _EXACT_BELOW
    table = d.ppf(u)
    exact = betaincinv(a, b, u)
    assert np.max(np.abs(table - exact) / exact) < 1e-5
    assert np.array_equal(d.ppf(u[:100]), betaincinv(a, b, u[:100]))  # the exact branch below the threshold



# --------------------------------------------------------------------------------------------
# Scrambled Sobol' with a Gaussian copula (the dashboard's sample)
# --------------------------------------------------------------------------------------------


def test_sobol_points_are_balanced_and_seeded():
    from dcplan.forecast.sampling import sobol_points

    u = sobol_points(1024, 6, np.random.default_rng(3))
    assert u.shape == (1024, 6) and np.all((u > 0) & (u < 1))
    for j in range(6):  # a power of 2 of a scrambled Sobol' sequence: one point in each 1/1024 interval of every coordinate
        assert np.array_equal(np.sort(np.floor(u[:, j] * 1024)), np.arange(1024))
    assert np.array_equal(u, sobol_points(1024, 6, np.random.default_rng(3)))
    assert not np.array_equal(u, sobol_points(1024, 6, np.random.default_rng(4)))


def test_gaussian_copula_reaches_the_rank_correlation_and_keeps_uniform_marginals():
    from dcplan.forecast.sampling import gaussian_copula, sobol_points

    target = ar1_correlation(5, 0.8)
    target[0, 4] = target[4, 0] = 0.3
    out = gaussian_copula(sobol_points(4096, 5, np.random.default_rng(5)), target)
    rho = stats.spearmanr(out).statistic
    assert np.max(np.abs(rho - target)) < 0.03
    for j in range(5):
        assert stats.kstest(out[:, j], "uniform").pvalue > 0.01


def test_sobol_draws_match_the_scenario_distributions(base):
    d = draw(base, 4096, np.random.default_rng(0), "sobol")
    lhs = draw(base, 4096, np.random.default_rng(0))
    assert d.keys() == lhs.keys()
    for name in ("pue_ai", "dialogue_tokens_per_use", "chip_supply_growth_per_year"):
        med = float(base.parameters[name].dist.median())
        assert np.median(d[name]) == pytest.approx(med, rel=0.02)
    with pytest.raises(InputError, match="sampling"):
        draw(base, 16, np.random.default_rng(0), "halton")


def test_gaussian_copula_at_the_edge_of_positive_definiteness():
    """A rank-correlation matrix that is positive definite but whose Gaussian-copula conversion is not: blended, not refused."""
    from dcplan.forecast.sampling import gaussian_copula, sobol_points

    target = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.625], [0.9, 0.625, 1.0]])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(2.0 * np.sin(np.pi * target / 6.0))
    out = gaussian_copula(sobol_points(4096, 3, np.random.default_rng(1)), target)
    assert np.max(np.abs(stats.spearmanr(out).statistic - target)) < 0.04
