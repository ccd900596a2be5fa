"""Compute demand: users -> tokens -> inference FLOPs, frontier training FLOPs -> H100-equivalents needed.

Vectorised over samples: every argument is a number or an array of shape [n] or [n, years]
that broadcasts. Pure: no I/O, no randomness.
"""

from __future__ import annotations

import numpy as np

from dcplan.units import SECONDS_PER_YEAR

DAYS_PER_YEAR = 365.25


def col(x: np.ndarray | float) -> np.ndarray:
    """[n] -> [n, 1] so that a per-sample value broadcasts over years; [n, k] stays."""
    a = np.asarray(x, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def bass_fraction(t_years: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cumulative adopters / market size of the Bass (1969) diffusion model.

    F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}), t >= 0 years since launch; 0 before
    (Bass, "A New Product Growth for Model Consumer Durables", Management Science 15(5), 1969).
    """
    t = np.maximum(t_years, 0.0)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def tapered_index(growth: np.ndarray, halflife_years: np.ndarray, n_years: int) -> np.ndarray:
    """[n, n_years + 1] cumulative index of a growth rate whose excess over 1 halves every ``halflife_years``.

    Year k (k = 1..n_years after the start year) grows by 1 + (g_k - 1) * 0.5^((k-1)/h); column 0
    is the start year (1.0). A per-year ``growth`` [n, n_years] gives each year its own g_k. The
    taper lets growth slow as power and chip constraints bind after 2030 (Epoch AI, 'Can AI scaling
    continue through 2030?', Aug 2024), as a half-life.
    """
    g = np.broadcast_to(col(growth), (np.shape(growth)[0], n_years))
    k = np.arange(n_years)[None, :]
    step = 1.0 + (g - 1.0) * 0.5 ** (k / col(halflife_years))
    return np.concatenate([np.ones((g.shape[0], 1)), np.cumprod(step, axis=1)], axis=1)


def plain_index(growth: np.ndarray, n_years: int) -> np.ndarray:
    """[n, n_years + 1] cumulative product of a (per-year or constant) growth factor; column 0 = 1."""
    g = np.broadcast_to(col(growth), (np.shape(growth)[0], n_years))
    return np.concatenate([np.ones((g.shape[0], 1)), np.cumprod(g, axis=1)], axis=1)


def users(years: np.ndarray, market_size: np.ndarray, p: np.ndarray, q: np.ndarray, start_year: np.ndarray) -> np.ndarray:
    """Mid-year users of one segment, U(t) = m F(t + 0.5 - start) [users] (Bass 1969)."""
    return col(market_size) * bass_fraction(years[None, :] + 0.5 - col(start_year), col(p), col(q))


def tokens_per_year(users_by_segment: list[np.ndarray], tokens_per_user_per_day: list[np.ndarray], token_index: np.ndarray) -> np.ndarray:
    """Tok(t) = sum_s U_s(t) k_s(t) x 365.25, k_s(t) = k_s0 x token index [tokens/yr]."""
    total = np.zeros_like(users_by_segment[0])
    for u, k0 in zip(users_by_segment, tokens_per_user_per_day, strict=False):
        total = total + u * col(k0)
    return total * token_index * DAYS_PER_YEAR


def flop_per_token(active_params: np.ndarray, attention_ratio: np.ndarray, efficiency_index: np.ndarray) -> np.ndarray:
    """FLOPs per served token: 2 N_active (1 + attention) / efficiency [FLOP/token].

    2N per token is the forward pass of a dense decoder (Kaplan et al. 2020, "Scaling Laws for
    Neural Language Models", Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn); the second term
    is carried as a ratio to 2N at typical context. Efficiency gains (distillation, quantisation,
    speculative decoding, caching) divide it (Ho et al. 2024, arXiv:2403.05812).
    """
    return 2.0 * active_params * (1.0 + col(attention_ratio)) / efficiency_index


def training_flop_per_year(frontier_run_flop: np.ndarray, frontier_index: np.ndarray, runs_per_year: np.ndarray, experiment_multiplier: np.ndarray) -> np.ndarray:
    """C_train = C_frontier(t) x n_frontier x (1 + experiments) [FLOP/yr] (Epoch AI training-compute trends).

    ``experiment_multiplier`` is all training compute (final runs, experiments, smaller runs,
    synthetic data) over frontier final runs, the allocation view of AI 2027's compute supplement.
    """
    return col(frontier_run_flop) * frontier_index * col(runs_per_year) * col(experiment_multiplier)


def h100e_needed(inference_flop: np.ndarray, training_flop: np.ndarray, u_inf: np.ndarray, u_train: np.ndarray, peak_flops_per_s: float) -> np.ndarray:
    """H_req = [C_inf/u_inf + C_train/u_train] / (F_H100 x Y) [H100-equivalents].

    F_H100 is the H100 SXM dense BF16 peak from the catalog (989.4 TFLOP/s); Y the seconds in
    a year (365.25 d).
    """
    return (inference_flop / col(u_inf) + training_flop / col(u_train)) / (peak_flops_per_s * SECONDS_PER_YEAR)


def other_ai_h100e(installed_start: np.ndarray, llm_start: np.ndarray, growth_index: np.ndarray) -> np.ndarray:
    """AI compute outside the LLM chain: what the start year's installed fleet holds beyond the chain, grown by its own index [H100e].

    H_other(t0) = max(H_installed(t0) - H_llm(t0), 0), per sample: the base-year calibration
    that makes the requirement of the last history year equal the fleet built from accelerator
    spend. It stands for recommenders, ranking, vision, speech, image/video generation, classic
    ML and reserve capacity, which the token and frontier-training terms do not count
    (``python -m dcplan.forecast.reconcile`` prints its share).
    """
    return col(np.maximum(installed_start - llm_start, 0.0)) * growth_index
