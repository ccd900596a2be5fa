"""Condition the draws on the start year's fleet: demand that the installed fleet could not have been built for is unlikely.

The fleet installed at the end of the start year is known (built from accelerator spend), and it
was built for the demand expected ``planning_lead_years`` ahead; in a supply-bound year it fell
short of it by the order backlog (``start_fit_target_ratio`` = requirement / fleet). A draw whose
demand chain needs far less or far more than that contradicts the start year. Each draw gets the
likelihood weight exp(-0.5 (ln(target / (ratio x installed)) / sigma)^2), sigma =
``start_fit_log_sigma``, and the draws are resampled in proportion to it (systematic
resampling, Kitagawa 1996, J. Comput. Graph. Stat. 5:1): the prior distributions of the
scenario file are updated with the start year's fleet, the history-matching step of a
Bayesian calibration. Only the start year is used, so vintage backtests condition on what their
vintage knew. Pure: the resampling draws its one uniform from the generator passed in.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from dcplan.forecast import chain as ch
from dcplan.forecast import roadmap as rm
from dcplan.forecast import supply as sp
from dcplan.forecast.demand import col


def start_fit_log_ratio(d: Mapping[str, np.ndarray], s: ch.ChainSetup, dem: ch.Demand | None = None) -> np.ndarray:
    """[n] ln(requirement the start-year fleet was built for / fleet installed at the end of the start year)."""
    n = len(d["pue_ai"])
    dem = ch.stage_demand(dict(d), s, n) if dem is None else dem
    yrs, t0 = s.years.astype(float), s.t0
    vs = rm.vintages(yrs[: t0 + 1], s.generations, d["chip_perf_growth_per_year"], d["chip_flops_per_watt_growth_per_year"],
                     d["price_performance_gain_per_year"], d["accelerator_price_scale"])
    hist = s.gpu_spend_usd[None, :] / (1.0 - col(d["custom_accelerator_spend_frac"])) / vs.usd_per_h100e
    age = np.arange(t0, -1, -1)[None, :] + 0.5
    installed = (hist * sp.weibull_survival(age, col(d["accelerator_median_life_years"]), col(d["accelerator_life_weibull_shape"]))).sum(axis=1)
    target = sp.ahead(dem.required_h100e, np.broadcast_to(d["planning_lead_years"], (n,)), t0)[:, t0]
    return np.log(np.maximum(target, 1e-12) / np.maximum(installed, 1e-12))


def weights(log_ratio: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Likelihood weights of the draws, normalised to sum to 1."""
    w = np.exp(-0.5 * (log_ratio / np.asarray(sigma, dtype=float)) ** 2)
    total = w.sum()
    return w / total if total > 0 else np.full(len(w), 1.0 / len(w))


def systematic_resample(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``len(w)`` draws taken in proportion to ``w`` with one uniform offset (low variance, order kept)."""
    n = len(w)
    positions = (rng.random() + np.arange(n)) / n
    cum = np.cumsum(w)
    cum[-1] = 1.0
    return np.searchsorted(cum, positions, side="right").clip(0, n - 1)


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights, 1 / sum(w^2)."""
    return float(1.0 / np.sum(w**2))


def resample_index(d: Mapping[str, np.ndarray], s: ch.ChainSetup, rng: np.random.Generator) -> tuple[np.ndarray, ch.Demand, float]:
    """Which draws the resampling keeps (indices into ``d``, non-decreasing, repeats allowed), the demand stage of all
    draws, and the effective sample size before resampling."""
    dem = ch.stage_demand_blocks(dict(d), s, len(d["pue_ai"]))
    w = weights(start_fit_log_ratio(d, s, dem) - np.log(d["start_fit_target_ratio"]), d["start_fit_log_sigma"])
    return systematic_resample(w, rng), dem, effective_sample_size(w)


def condition(d: Mapping[str, np.ndarray], s: ch.ChainSetup, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], ch.Demand, float]:
    """The draws resampled by their fit to the start year's fleet, their demand stage, and the effective sample size before resampling."""
    idx, dem, ess = resample_index(d, s, rng)
    return {k: v[idx] for k, v in d.items()}, dem.take(idx), ess
