"""Power and energy of the fleet, the non-AI baseline, and emissions.

P_IT = sum_v Stock_v w_v lambda: w_v the peak server power per accelerator (catalog node power /
accelerators per node; Epoch AI's "IT power by chip" table in ai-compute-users) times an IT
overhead factor for network and storage (same source, median 1.14), lambda the average/peak
load (Epoch AI training-cost-trends energy.py 0.75; Barroso, Hölzle & Ranganathan, "The
Datacenter as a Computer", 3rd ed.: 75 %). E = P_IT x PUE x 8,766 h. The non-AI baseline is
anchored on a year before the AI build-out (Masanet et al., "Recalibrating global data center
energy-use estimates", Science 367:984, 2020) and grows with a taper (IEA, Energy and AI, 2025:
conventional servers' electricity +52 % over 2025-2030). CO2e = E x grid intensity.
"""

from __future__ import annotations

import numpy as np

from dcplan.forecast.demand import col
from dcplan.units import HOURS_PER_YEAR

W_PER_TWH_YEAR = 1e12 / HOURS_PER_YEAR
"""Average watts that use one TWh in a year."""


def year_average(end_of_year: np.ndarray) -> np.ndarray:
    """Average over each year of a stock known at year ends: (end(t-1) + end(t)) / 2; end(-1) = 0."""
    prev = np.concatenate([np.zeros((end_of_year.shape[0], 1)), end_of_year[:, :-1]], axis=1)
    return 0.5 * (prev + end_of_year)


def pue_path(years: np.ndarray, start_year: int, pue0: np.ndarray, floor: np.ndarray, halflife_years: np.ndarray) -> np.ndarray:
    """PUE(t) = floor + (PUE0 - floor) 0.5^((t - t0)/h): the AI fleet trends to a floor (Uptime Institute surveys: new large sites <= 1.3)."""
    f = np.minimum(col(floor), col(pue0))
    return f + (col(pue0) - f) * 0.5 ** ((years[None, :] - start_year) / col(halflife_years))


def energy_twh(avg_power_w: np.ndarray) -> np.ndarray:
    """Energy of an average power over a year [TWh/yr]."""
    return avg_power_w / W_PER_TWH_YEAR


def nonai_energy_twh(anchor_twh: np.ndarray, ai_twh_at_anchor: np.ndarray, growth_index: np.ndarray) -> np.ndarray:
    """Non-AI data-centre electricity: (anchor total - modelled AI) grown from the anchor year [TWh/yr].

    The anchor is a total for all data centres in a year before the AI build-out; the AI fleet
    dcplan models in that year is taken out so it is not counted twice.
    """
    return col(np.maximum(anchor_twh - ai_twh_at_anchor, 0.0)) * growth_index


def emissions_tco2e(energy_twh_by_region: np.ndarray, gco2_per_kwh: np.ndarray) -> np.ndarray:
    """tCO2e = TWh x 1e9 kWh/TWh x g/kWh / 1e6 g/t (location-based, CodeCarbon method)."""
    return energy_twh_by_region * gco2_per_kwh * 1e3
