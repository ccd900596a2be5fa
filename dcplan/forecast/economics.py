"""Money: accelerator spend, capex of shipments, capacity and on-site power, opex, TCO and the price of a million tokens.

Accelerator spend = sum of accelerators shipped x their price (rises with shipments and with the
price per unit of each generation). Capex = spend x (servers, network, storage multiplier) +
added capacity x facility $/MW + capacity re-used by a new generation x the refit share of the
facility cost (about 80 % of a data centre's build cost is power and cooling: Barroso, Hölzle &
Ranganathan, "The Datacenter as a Computer"; new generations need denser racks and liquid
cooling) + on-site generation x its $/kW (the parts of McKinsey's bottom-up capex, "The cost of
compute", 2025). TCO per accelerator-hour annualises
capex with the capital recovery factor CRF = r(1+r)^n / ((1+r)^n - 1) and adds electricity and
maintenance (Barroso, Hölzle & Ranganathan, "The Datacenter as a Computer", TCO chapter).
$/M tokens = TCO_h / tokens per accelerator-hour x 1e6, tokens per hour = 3,600 F u / FLOP per token.
"""

from __future__ import annotations

import numpy as np

from dcplan.forecast.demand import col
from dcplan.units import HOURS_PER_YEAR, SECONDS_PER_HOUR


def capital_recovery_factor(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """CRF = r(1+r)^n / ((1+r)^n - 1) [1/yr]; 1/n at r = 0: the planner's one CRF (capacity.tco.crf) on arrays."""
    from dcplan.capacity.tco import crf

    return np.asarray(crf(rate, years))


def hyperscaler_capex_usd(ai_capex_usd: np.ndarray, share: np.ndarray, other_usd: np.ndarray) -> np.ndarray:
    """Capex of the four largest US hyperscalers: their share of AI capex plus their other capex [USD/yr].

    Comparable with their reported capex (10-K purchases of property and equipment, finance
    leases included where reported), the figure the market reads.
    """
    return ai_capex_usd * col(share) + col(other_usd)


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
