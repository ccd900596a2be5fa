"""Compute demand: adopters -> uses -> tokens -> inference FLOPs by application; training bounded by revenue; H100e needed.

Three uses of compute, each in H100-equivalents busy all year: LLM serving, a sum of
application segments (dialogue, translation, summarisation, code, multimodal, agents; or the
consumer/enterprise split of user groups), each with its own Bass adoption, uses per adopter,
tokens per use, growth and served model size; training (the frontier trend, at most what a
share of AI revenue pays for); and AI outside the LLM chain (recommenders, ranking, vision),
with its own level and growth. Vectorised over samples: every argument is a number or an array
of shape [n] or [n, years] that broadcasts. Pure: no I/O, no randomness.
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


def year_steps(growth: np.ndarray, n: int, n_years: int, t0: int) -> np.ndarray:
    """[n, n_years] a growth driver on every simulated year: forecast years (after index t0) take
    their own draw, history years the first forecast year's (a constant driver broadcasts)."""
    a = np.broadcast_to(col(growth), (n, n_years - t0 - 1))
    return np.concatenate([np.repeat(a[:, :1], t0 + 1, axis=1), a], axis=1)


def taper(steps: np.ndarray, halflife_years: np.ndarray, years: np.ndarray, first_full: int) -> np.ndarray:
    """Growth whose excess over 1 halves every ``halflife_years``: 1 + (g - 1) 0.5^((t - first_full)/h).

    Years up to ``first_full`` keep their whole excess. The half-life form of the "optional
    taper after 2030" of a frontier-growth forecast (Epoch AI, "Can AI scaling continue through
    2030?", 2024) and of saturating adoption; h = inf is no taper.
    """
    k = np.maximum(years[None, :] - first_full, 0.0)
    return 1.0 + (steps - 1.0) * 0.5 ** (k / col(halflife_years))


def index_at(steps: np.ndarray, anchor: int) -> np.ndarray:
    """[n, years] cumulative product of yearly steps, 1 at index ``anchor``; step t moves t-1 to t."""
    c = np.cumsum(np.log(steps), axis=1)
    return np.exp(c - c[:, anchor : anchor + 1])


def users(years: np.ndarray, market_size: np.ndarray, p: np.ndarray, q: np.ndarray, start_year: np.ndarray) -> np.ndarray:
    """Mid-year users of one segment, U(t) = m F(t + 0.5 - start) [users] (Bass 1969)."""
    return col(market_size) * bass_fraction(years[None, :] + 0.5 - col(start_year), col(p), col(q))


def tokens_per_year(users_by_segment: list[np.ndarray], tokens_per_user_per_day: list[np.ndarray], token_index: np.ndarray) -> np.ndarray:
    """Tok(t) = sum_s U_s(t) k_s(t) x 365.25, k_s(t) = k_s0 x token index [tokens/yr]."""
    total = np.zeros_like(users_by_segment[0])
    for u, k0 in zip(users_by_segment, tokens_per_user_per_day, strict=False):
        total = total + u * col(k0)
    return total * token_index * DAYS_PER_YEAR


def segment_tokens_per_year(adopters: np.ndarray, uses_per_user_per_day: np.ndarray, tokens_per_use: np.ndarray,
                            growth_index: np.ndarray, rebound_index: np.ndarray) -> np.ndarray:
    """Tok_s(t) = U_s(t) x u_s x k_s x G_s(t) x R(t) x 365.25 [tokens/yr] of one application segment.

    U_s adopters (Bass), u_s uses per adopter per day and k_s tokens per use in the demand anchor
    year (input, output and hidden reasoning tokens; image and video inputs at the tokens the
    serving model counts for them), G_s the segment's tapered growth of tokens per adopter per
    day (1 in the anchor year), R the rebound of cheaper tokens, shared by all segments.
    """
    return adopters * col(uses_per_user_per_day) * col(tokens_per_use) * growth_index * rebound_index * DAYS_PER_YEAR


def rebound(efficiency_index: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """Extra tokens from cheaper serving: (efficiency index)^elasticity (a constant-elasticity demand response).

    The Jevons rebound: as each token needs fewer FLOPs its price falls and more tokens are used.
    Elasticity 0 is no rebound; 1 would cancel the efficiency gain in FLOPs.
    """
    return efficiency_index ** col(elasticity)


def flop_per_token(active_params: np.ndarray, attention_ratio: np.ndarray, efficiency_index: np.ndarray) -> np.ndarray:
    """FLOPs per served token: 2 N_active (1 + attention) / efficiency [FLOP/token].

    2N per token is the forward pass of a dense decoder (Kaplan et al. 2020, "Scaling Laws for
    Neural Language Models", Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn); the second term
    is carried as a ratio to 2N at typical context. Efficiency gains (distillation, quantisation,
    speculative decoding, caching) divide it.
    """
    return 2.0 * active_params * (1.0 + col(attention_ratio)) / efficiency_index


def training_flop_per_year(frontier_run_flop: np.ndarray, frontier_index: np.ndarray, runs_per_year: np.ndarray, experiment_multiplier: np.ndarray) -> np.ndarray:
    """C_train = C_frontier(t) x n_frontier x (experiments multiplier) [FLOP/yr].

    ``experiment_multiplier`` is all training and research compute (final runs, experiments,
    smaller runs, synthetic data) over frontier final runs, the allocation view of the AI 2027
    compute forecast (Dean, Apr 2025, "Compute Forecast" supplement).
    """
    return col(frontier_run_flop) * frontier_index * col(runs_per_year) * col(experiment_multiplier)


def h100e_years(flop_per_year: np.ndarray, utilisation: np.ndarray, peak_flops_per_s: float) -> np.ndarray:
    """H100-equivalents busy all year that deliver ``flop_per_year`` at ``utilisation`` of the dense BF16 peak.

    H = C / (u x F_H100 x Y), F_H100 the H100 SXM dense BF16 peak from the catalog (989.4
    TFLOP/s), Y the seconds in a year (365.25 d).
    """
    return flop_per_year / (col(utilisation) * peak_flops_per_s * SECONDS_PER_YEAR)


def training_budget_h100e(serving_h100e: np.ndarray, spend_share_of_revenue: np.ndarray, revenue_per_serving_cost: np.ndarray) -> np.ndarray:
    """Training compute the industry can pay for: s x m x H_serving [H100e].

    AI revenue is taken as m times the cost of the compute that earns it (LLM serving and the
    other AI services: ranking, recommendation, ads), a gross markup; the industry spends a share
    s of that revenue on training and research compute at the same cost per H100e-year. So
    training H100e <= s m H_serving. OpenAI's 2024 accounts as reported (~$3.7 B revenue, ~$5 B
    R&D and ~$1.8-2 B inference compute; The Information and NYT via Epoch AI, Oct 2025, grade C)
    give s ~1.35 and m ~2 for an investor-funded lab; Meta and Alphabet spend 27 % and 14 % of
    revenue on all R&D (2024 10-K filings).
    """
    return serving_h100e * col(spend_share_of_revenue) * col(revenue_per_serving_cost)


def h100e_needed(inference_flop: np.ndarray, training_flop: np.ndarray, u_inf: np.ndarray, u_train: np.ndarray, peak_flops_per_s: float) -> np.ndarray:
    """H_req = [C_inf/u_inf + C_train/u_train] / (F_H100 x Y) [H100-equivalents]."""
    return h100e_years(inference_flop, u_inf, peak_flops_per_s) + h100e_years(training_flop, u_train, peak_flops_per_s)
