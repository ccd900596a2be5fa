"""Monte Carlo draws: Latin hypercube or scrambled Sobol' uniforms, rank correlation, quantile transforms.

Every uncertain parameter takes one column of uniforms (a per-year parameter one column per
forecast year); the regional shares of new AI capacity take one column per region (a Dirichlet
built from gamma quantiles). Columns come from a Latin hypercube (McKay, Beckman & Conover
1979), are rearranged to a target Spearman rank correlation by
Iman & Conover (1982, Commun. Stat. Simul. Comput. 11:311) when the scenario asks for one, and
are mapped through each distribution's quantile function. The same seed gives the same numbers:
all randomness comes from the ``numpy.random.Generator`` passed in.

``method="sobol"`` draws a scrambled Sobol' sequence instead (``scipy.stats.qmc.Sobol``, Owen
scrambling with a random digital shift; Joe & Kuo 2008 direction numbers), a low-discrepancy
sample whose band quantiles converge faster than a random sample's (the dashboard uses it with
fewer samples; the error against 100,000 samples is in BENCHMARKS.md). Reordering columns (Iman-
Conover) would break the sequence's joint structure, so there the rank correlation comes from a
Gaussian copula: normal scores z = Phi^-1(u) times the Cholesky factor of R, with Pearson
r = 2 sin(pi rho_s / 6) for a target Spearman rho_s (the Gaussian copula's exact relation:
Kruskal 1958, J. Am. Stat. Assoc. 53:814), and back through Phi: a smooth map that keeps the
sequence's uniformity. Where the converted matrix is not positive definite (the conversion raises
each |rho| slightly), it is blended toward the Spearman matrix until it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from dcplan.errors import InputError
from dcplan.forecast.scenario import DRIVERS, REGIONS, Distribution, Parameter, Scenario, domain_bounds


@dataclass(frozen=True, kw_only=True)
class Column:
    """Which factor a block of uniform columns drives."""

    name: str
    start: int
    width: int
    """1 for a scalar, the number of forecast years for a per-year parameter."""


def layout(params: list[Parameter], n_years: int, *, collapse_years: bool = False) -> list[Column]:
    """Column blocks for the uncertain parameters (per-year ones get ``n_years`` columns)."""
    cols, at = [], 0
    for p in params:
        w = n_years if (p.per_year and not collapse_years) else 1
        cols.append(Column(name=p.name, start=at, width=w))
        at += w
    return cols


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` x ``d`` uniforms in (0, 1), one point per stratum in every column.

    u_ij = (pi_j(i) + U_ij) / n with pi_j a random permutation of 0..n-1 (McKay, Beckman &
    Conover 1979), the construction of ``scipy.stats.qmc.LatinHypercube`` with every column's
    permutation drawn in one vectorised call.
    """
    return np.ascontiguousarray(latin_hypercube_t(n, d, rng).T)


def latin_hypercube_t(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`latin_hypercube` transposed, [d, n]: each column's uniforms contiguous (the same numbers from the same generator)."""
    if d == 0:
        return np.empty((0, n))
    u_t = rng.permuted(np.broadcast_to(np.arange(n, dtype=np.float64), (d, n)), axis=1)
    u_t += rng.random((n, d)).T
    u_t /= n
    return u_t


def sobol_points(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` x ``d`` points of a scrambled Sobol' sequence in (0, 1) (``scipy.stats.qmc.Sobol``).

    ``n`` a power of 2 keeps the sequence balanced (scipy warns otherwise, and the points are
    still valid). Exact 0 (possible in a scrambled sequence only with probability ~2^-30) is
    moved inside the open interval.
    """
    import warnings

    from scipy.stats import qmc

    if d == 0:
        return np.empty((n, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "balance properties ... n a power of 2"
        u = qmc.Sobol(d, scramble=True, rng=rng).random(n)
    return np.clip(u, 0.5 / (1 << 32), 1.0 - 0.5 / (1 << 32))


def gaussian_copula(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Uniforms ``u`` given the Spearman rank correlation ``target`` through a Gaussian copula (see the module docstring)."""
    from scipy.special import ndtr, ndtri

    d = u.shape[1]
    off = np.abs(target - np.eye(d)).sum(axis=0) > 0
    if not off.any():
        return u
    spearman = target[np.ix_(off, off)]
    pearson = 2.0 * np.sin(np.pi * spearman / 6.0)
    chol = None
    # the conversion raises every |rho| a little (0.5 -> 0.518) and can tip a matrix at the edge of positive
    # definiteness over it: then step toward the Spearman matrix itself (rank correlations up to ~2 % low)
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        try:
            chol = np.linalg.cholesky((1.0 - w) * pearson + w * spearman)
            break
        except np.linalg.LinAlgError:
            continue
    if chol is None:
        raise InputError("correlations", "the rank-correlation matrix (driver pairs and year_correlation) is not positive definite; lower some rho")
    out = u.copy()
    out[:, off] = ndtr(ndtri(u[:, off]) @ chol.T)
    return out


def ar1_correlation(k: int, rho: float) -> np.ndarray:
    """rho^|i-j|: the AR(1) correlation between years (Epoch AI ai-chip-counts correlated sampling)."""
    idx = np.arange(k)
    return rho ** np.abs(idx[:, None] - idx[None, :])


def target_correlation(scenario: Scenario, cols: list[Column]) -> np.ndarray:
    """Rank-correlation matrix over all columns: AR(1) within per-year blocks, driver pairs between blocks."""
    d = sum(c.width for c in cols)
    c_mat = np.eye(d)
    by_name = {c.name: c for c in cols}
    for c in cols:
        if c.width > 1:
            c_mat[c.start : c.start + c.width, c.start : c.start + c.width] = ar1_correlation(c.width, scenario.year_correlation)
    for corr in scenario.correlations:
        a, b = by_name.get(corr.a), by_name.get(corr.b)
        if a is None or b is None:
            continue
        for i in range(a.width):
            for j in range(b.width):
                lag = abs(i - j) if a.width > 1 and b.width > 1 else 0
                ia, ib = a.start + i, b.start + j
                c_mat[ia, ib] = c_mat[ib, ia] = corr.rho * scenario.year_correlation**lag
    return c_mat


def iman_conover(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Reorder each column of ``u`` [n, d] so the rank correlation approaches ``target`` (Iman & Conover 1982).

    Scores are van der Waerden normal scores of the current ranks; with E their correlation
    (Cholesky Q) and C the target (Cholesky P), T = S (Q^-1)^T P^T has correlation C, and each
    column of ``u`` is rearranged into the rank order of T's column. Marginals (and the Latin
    hypercube strata) are unchanged: only the pairing of values moves.
    """
    return np.ascontiguousarray(iman_conover_t(np.array(u.T), target).T)


def iman_conover_t(u_t: np.ndarray, target: np.ndarray) -> np.ndarray:
    """:func:`iman_conover` on the transposed uniforms [d, n] (each column contiguous), rearranged in place and returned.

    Columns with no correlation to any other stay as they are; the correlated ones are
    rearranged on :func:`~dcplan.forecast.threads.thread_map`'s threads, a block of columns each.
    """
    from scipy.special import ndtri

    from dcplan.forecast.threads import split, thread_map, threads_for

    d, n = u_t.shape
    off = np.flatnonzero(np.abs(target - np.eye(d)).sum(axis=0) > 0)
    if len(off) == 0:
        return u_t
    try:
        p_chol = np.linalg.cholesky(target[np.ix_(off, off)])
    except np.linalg.LinAlgError:
        raise InputError("correlations", "the rank-correlation matrix (driver pairs and year_correlation) is not positive definite; lower some rho") from None
    sub = u_t[off] if len(off) < d else u_t
    ranks = _ranks_t(sub)
    # every column of scores is a permutation of the same zero-mean vector of van der Waerden scores
    scores = ndtri((np.arange(n) + 1.0) / (n + 1.0))[ranks]
    try:  # E = S^T S / sum(s^2)
        q_chol = np.linalg.cholesky(scores @ scores.T / np.dot(scores[0], scores[0]))
        t = np.linalg.solve(q_chol, p_chol.T).T @ scores
    except np.linalg.LinAlgError:  # fewer samples than columns: skip the sample-correlation correction
        t = p_chol @ scores
    del scores

    def rearrange(block: slice) -> None:
        # the k-th smallest value of a column goes where T's column has rank k
        sorted_j = np.empty(n)
        for j in range(block.start, block.stop):
            sorted_j[ranks[j]] = sub[j]
            sub[j, np.argsort(t[j])] = sorted_j

    thread_map(rearrange, split(len(off), threads_for(n)))
    if sub is not u_t:
        u_t[off] = sub
    return u_t


def _ranks_t(u_t: np.ndarray) -> np.ndarray:
    """0-based ranks within each row of ``u_t`` [d, n]; a Latin hypercube has one point per 1/n stratum, so floor(u n)."""
    n = u_t.shape[1]
    r = np.minimum((u_t * n).astype(np.int64), n - 1)
    if np.array_equal(np.sort(r[0]), np.arange(n)) and np.all(r.sum(axis=1) == n * (n - 1) // 2):
        return r
    return u_t.argsort(axis=1).argsort(axis=1)


def transform(p: Parameter, u: np.ndarray) -> np.ndarray:
    """Uniforms -> values of ``p``, clipped to the driver's domain (tails of a lognormal gain below 1...)."""
    lo, hi = domain_bounds(p.name)
    return np.clip(p.dist.ppf(u), lo, hi)


def share_vector(scenario: Scenario, group: str) -> np.ndarray:
    """[regions] the medians of a share group (``ai_share_history``...), normalised to sum to 1."""
    s0 = np.array([scenario.parameters[f"{group}_{r}"].dist.median() for r in REGIONS])
    return s0 / s0.sum()


def dirichlet(mean: np.ndarray, concentration: float, u: np.ndarray) -> np.ndarray:
    """[n, regions] Dirichlet(concentration x mean) shares from uniforms via gamma quantiles (Epoch AI's convention for shares)."""
    from scipy.special import gammaincinv

    g = gammaincinv(concentration * mean[None, :], np.clip(u, 1e-12, 1 - 1e-12))
    return g / g.sum(axis=1, keepdims=True)


def share_draws(scenario: Scenario, u: np.ndarray) -> dict[str, np.ndarray]:
    """The regional share vectors for ``n`` samples: fixed splits, and the Dirichlet of new AI capacity from ``u`` [n, regions]."""
    n = u.shape[0]
    alpha = scenario.parameters["ai_share_concentration"].dist.median()
    return {
        "ai_share_history": np.repeat(share_vector(scenario, "ai_share_history")[None, :], n, axis=0),
        "ai_share_new": dirichlet(share_vector(scenario, "ai_share_new"), alpha, u),
        "nonai_share": np.repeat(share_vector(scenario, "nonai_share")[None, :], n, axis=0),
    }


def fixed_values(scenario: Scenario) -> dict[str, float]:
    """Every fixed parameter's value."""
    return {n: float(p.dist.value) for n, p in scenario.parameters.items() if p.dist.is_fixed and DRIVERS[n].domain != "share"}  # type: ignore[arg-type]


def apply_overrides(scenario: Scenario, overrides: Mapping[str, object] | None) -> Scenario:
    """The scenario with some parameters replaced: a number fixes the parameter, a Distribution replaces it."""
    if not overrides:
        return scenario
    from dataclasses import replace

    from dcplan.forecast.scenario import check_domain
    from dcplan.io.schema import suggest

    params = dict(scenario.parameters)
    for name, value in overrides.items():
        if name not in DRIVERS:
            raise InputError(name, f"unknown parameter{suggest(name, DRIVERS)}")
        if isinstance(value, Distribution):
            dist = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            dist = Distribution(kind="fixed", value=float(value))
        else:
            raise InputError(name, f"override must be a number or a Distribution, got {value!r}")
        old = params.get(name)
        new = Parameter(name=name, dist=dist, source="override", date="", per_year=bool(old and old.per_year and not dist.is_fixed))
        check_domain(new)
        params[name] = new
    return replace(scenario, parameters=params)


#: Ways to draw the uniforms: Latin hypercube + Iman-Conover, or scrambled Sobol' + Gaussian copula.
METHODS = ("lhs", "sobol")


def draw(scenario: Scenario, n: int, rng: np.random.Generator, method: str = "lhs") -> dict[str, np.ndarray]:
    """``n`` joint draws of every driver: name -> [n] or [n, forecast years]; plus the share vectors [n, 5] (:func:`share_draws`).

    ``method``: ``lhs`` (Latin hypercube, Iman-Conover) or ``sobol`` (scrambled Sobol', Gaussian copula).
    """
    if n < 2:
        raise InputError("samples", f"must be at least 2, got {n}")
    if method not in METHODS:
        raise InputError("sampling", f"unknown sampling method {method!r}; use one of {', '.join(METHODS)}")
    from dcplan.forecast.threads import split, thread_map, threads_for

    n_years = len(scenario.forecast_years)
    params = scenario.uncertain()
    cols = layout(params, n_years)
    d = sum(c.width for c in cols)
    correlated = any(c.width > 1 for c in cols) or scenario.correlations
    if method == "lhs":  # columns contiguous ([d, n]): Iman-Conover rearranges each column alone
        u_t = latin_hypercube_t(n, d + len(REGIONS), rng)
        if correlated:
            iman_conover_t(u_t[:d], target_correlation(scenario, cols))
        u_par, u_reg = u_t[:d].T, u_t[d:].T
    else:
        u = sobol_points(n, d + len(REGIONS), rng)
        u_par, u_reg = u[:, :d], u[:, d:]
        if correlated:
            u_par = gaussian_copula(u_par, target_correlation(scenario, cols))
    out: dict[str, np.ndarray] = {k: np.full(n, v) for k, v in fixed_values(scenario).items()}

    def one(pc: tuple[Parameter, Column]) -> np.ndarray:
        p, c = pc
        block = u_par[:, c.start : c.start + c.width]
        return np.ascontiguousarray(transform(p, block if c.width > 1 else block[:, 0]))

    pairs = list(zip(params, cols, strict=False))
    out.update({p.name: v for (p, _), v in zip(pairs, thread_map(one, pairs, threads=threads_for(n)), strict=True)})
    rows = split(n, threads_for(n))
    shares = thread_map(lambda r: share_draws(scenario, u_reg[r]), rows)
    out.update({k: shares[0][k] if len(shares) == 1 else np.concatenate([x[k] for x in shares]) for k in shares[0]})
    return out


def at_quantiles(scenario: Scenario, q: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Deterministic draws: row i sets factor ``names[j]`` to quantile ``q[i, j]`` (all years alike).

    Parameters not in ``names`` sit at their median; the regional shares at their central
    values. Used by the tornado.
    """
    n = q.shape[0]
    out: dict[str, np.ndarray] = {k: np.full(n, v) for k, v in fixed_values(scenario).items()}
    index = {name: j for j, name in enumerate(names)}
    for p in scenario.uncertain():
        u = q[:, index[p.name]] if p.name in index else np.full(n, 0.5)
        out[p.name] = transform(p, u)
    out.update(share_draws(scenario, np.full((n, len(REGIONS)), 0.5)))
    return out
