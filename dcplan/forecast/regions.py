"""Regions with their own growth: where the AI fleet is built, how each region's non-AI load grows, carbon.

The AI fleet is split by where each vintage was installed: vintages up to the start year by
``ai_share_history_*`` (Epoch AI, "Trends in AI Supercomputers", Pilz et al. 2025: the US holds
about 75 % and China 15 % of AI supercomputer performance; Epoch AI Chip Owners 2026: Chinese
companies own ~5 % of global AI compute), later ones by a Dirichlet draw around
``ai_share_new_*`` (Epoch AI's Dirichlet convention for shares that sum to 1). So a region that
builds more of the new capacity gains share of the AI load year by year. Non-AI electricity
starts from the start year's regional split (IEA, Energy and AI, 2025, regional 2024 figures)
and each region grows at ``nonai_growth_rel_*`` times the world's rate (renormalised). Region
metrics: installed accelerators and flows (shipments, spend, capex) are the region's own (China's
met by its domestic chips and imports under export controls: :mod:`dcplan.forecast.china`), AI
power follows the region's share of the fleet's power, demand its share of demand, non-AI load
its own share; emissions use each region's grid intensity.
"""

from __future__ import annotations

import numpy as np

from dcplan.forecast.scenario import REGIONS

#: Metrics that do not scale with a region (ratios, prices, shares).
INTENSIVE = frozenset({"pue_ai", "usd_per_h100e_hour", "usd_per_mtok", "unmet_demand_frac", "backlog_years", "binding_chips", "binding_power",
                       "training_budget_bound", "onsite_energy_frac"})
#: Flow metrics: each region's own part of the year's shipments and spend (the basis of ``Regions.flow``).
FLOW_BASIS = {"shipments_h100e": "h100e", "shipments_units": "units", "accelerator_spend_usd": "spend", "gpu_spend_usd": "gpu"}
#: Flow metrics (the ones above and the capex and capacity added).
FLOWS = frozenset({*FLOW_BASIS, "capex_usd", "capex_cumulative_usd", "hyperscaler_capex_usd", "ai_capacity_added_mw", "onsite_capacity_added_mw"})
#: Demand-side metrics: split by each region's share of what demand asked for (China before its supply split).
DEMAND = frozenset({"h100e_required", "h100e_required_inference", "h100e_required_training", "h100e_required_other", "tokens_per_year",
                    "inference_flop_per_year", "training_flop_per_year"})
#: Metrics of the non-AI load.
NONAI = frozenset({"nonai_energy_twh"})


def ai_stock_shares(w_hist_vintages: np.ndarray, w_new_vintages: np.ndarray, hist_share: np.ndarray, new_share: np.ndarray) -> np.ndarray:
    """[n, years, regions] share of the AI fleet's power by region, from the stock of history and forecast vintages."""
    by_region = w_hist_vintages[:, :, None] * hist_share[:, None, :] + w_new_vintages[:, :, None] * new_share[:, None, :]
    total = by_region.sum(axis=2, keepdims=True)
    return np.where(total > 0, by_region / np.where(total > 0, total, 1.0), hist_share[:, None, :])


def nonai_raw(start_share: np.ndarray, rel_growth: np.ndarray, years: np.ndarray, start_year: int) -> np.ndarray:
    """[n, years, regions] start split x rel^(t - t0): the non-AI split before normalising."""
    return start_share[:, None, :] * rel_growth[:, None, :] ** (years[None, :, None] - start_year)


def nonai_shares(start_share: np.ndarray, rel_growth: np.ndarray, years: np.ndarray, start_year: int) -> np.ndarray:
    """[n, years, regions] share of non-AI electricity: start split x rel^(t - t0), renormalised."""
    raw = nonai_raw(start_share, rel_growth, years, start_year)
    return raw / raw.sum(axis=2, keepdims=True)


def region_index(region: str) -> int:
    return REGIONS.index(region)
