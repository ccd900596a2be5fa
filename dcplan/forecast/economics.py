"""Money: capex of shipments and capacity, opex, annualised TCO and the price of a million tokens.

Capex = Ship x ASP x (1 + servers/network) + dK x c_fac (Epoch AI training-cost-trends: network 19 %
of cluster cost; Cushman & Wakefield 2025 facility cost per MW).
TCO per accelerator-hour annualises capex with the capital recovery factor
CRF = r(1+r)^n / ((1+r)^n - 1) and adds electricity and maintenance (Barroso, Hölzle &
Ranganathan, "The Datacenter as a Computer", TCO chapter). $/M tokens = TCO_h / tokens per
accelerator-hour x 1e6, tokens per hour = 3,600 F u / FLOP per token.
"""

from __future__ import annotations

import numpy as np

from dcplan.forecast.demand import col
from dcplan.units import HOURS_PER_YEAR, SECONDS_PER_HOUR


def capital_recovery_factor(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """CRF = r(1+r)^n / ((1+r)^n - 1) [1/yr]; 1/n at r = 0."""
    r, n = np.asarray(rate, dtype=float), np.asarray(years, dtype=float)
    g = (1.0 + r) ** n
    with np.errstate(invalid="ignore", divide="ignore"):
        crf = r * g / (g - 1.0)
    return np.where(r > 1e-9, crf, 1.0 / n)


def price_per_h100e(years: np.ndarray, reference_year: int, usd_at_reference: np.ndarray, gain_per_year: np.ndarray) -> np.ndarray:
    """Accelerator revenue per H100e falls with price-performance: p(t) = p_ref / g^(t - t_ref) [USD].

    Epoch AI (Hobbhahn & Besiroglu 2022): FLOP/s per dollar of ML GPUs doubles every ~2.07 years.
    """
    return col(usd_at_reference) / col(gain_per_year) ** (years[None, :] - reference_year)


def tco_usd_per_h100e_hour(
    *,
    it_capex_per_h100e: np.ndarray,
    peak_w_per_h100e: np.ndarray,
    headroom: np.ndarray,
    load_frac: np.ndarray,
    pue: np.ndarray,
    usd_per_kwh: np.ndarray,
    facility_usd_per_mw: np.ndarray,
    crf_it: np.ndarray,
    crf_facility: np.ndarray,
    maintenance_frac: np.ndarray,
) -> np.ndarray:
    """Annualised cost of one H100e of the year's vintage, per hour [USD/h].

    = [CRF_IT capex_IT + CRF_fac c_fac w (1 + headroom) + w lambda PUE 8,766 h p_elec + m capex_IT] / 8,766
    """
    facility = col(crf_facility) * col(facility_usd_per_mw) * peak_w_per_h100e * (1.0 + col(headroom)) / 1e6
    energy = peak_w_per_h100e * col(load_frac) * pue * HOURS_PER_YEAR / 1e3 * col(usd_per_kwh)
    annual = (col(crf_it) + col(maintenance_frac)) * it_capex_per_h100e + facility + energy
    return annual / HOURS_PER_YEAR


def usd_per_mtok(usd_per_hour: np.ndarray, peak_flops_per_s: float, utilisation: np.ndarray, flop_per_token: np.ndarray) -> np.ndarray:
    """Cost of a million served tokens on one H100e [USD/Mtok]."""
    tokens_per_hour = SECONDS_PER_HOUR * peak_flops_per_s * col(utilisation) / flop_per_token
    return usd_per_hour / tokens_per_hour * 1e6
