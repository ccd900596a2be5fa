"""Grid connections for AI capacity: a project pipeline with a lead time and a saturating build-out.

Connection requests the grid can take per year grow logistically from ``grid_additions_start_mw``
(the intake in the start year) toward ``grid_additions_ceiling_mw`` at the early rate
``grid_additions_growth_per_year`` (Verhulst's logistic: growth slows as transformers, turbines,
transmission and utility study capacity run out, rather than compounding without bound). A
project energises ``grid_connection_lead_years`` after its request: what can connect in year t
is the intake of year t - L. Interconnection waits of several years are documented for large
loads (Schneider Electric Sustainability Research Institute 2025: 44 % of US data centres face
utility waits over four years; LBNL "Queued Up" 2024 edition: median five years from request to
operation for generators).

On-site generation (gas turbines, engines, fuel cells at the campus) is the option where the
grid binds: up to ``onsite_generation_max_mw_per_year`` of capacity a year, with its own capex
and energy cost (:mod:`dcplan.forecast.economics`) and carbon intensity. Pure: arrays [n, years].
"""

from __future__ import annotations

import numpy as np

from dcplan.forecast.demand import col


def connectable_w(years: np.ndarray, start_year: int, start_mw: np.ndarray, growth: np.ndarray, ceiling_mw: np.ndarray,
                  lead_years: np.ndarray) -> np.ndarray:
    """AI critical IT capacity connectable in each year after ``start_year`` [W] (0 in history years).

    A(t) = A_inf / (1 + (A_inf / A0 - 1) exp(-ln(g) (t - t0 - L))): the logistic intake, delayed
    by the lead time L. A ceiling below the start intake is read as a flat pipeline (A = A0).
    """
    a0 = col(start_mw) * 1e6
    a_inf = np.maximum(col(ceiling_mw) * 1e6, a0)
    r = np.log(np.maximum(col(growth), 1e-9))
    x = years[None, :] - start_year - col(lead_years)
    out = a_inf / (1.0 + (a_inf / a0 - 1.0) * np.exp(-r * x))
    return np.where(years[None, :] > start_year, out, 0.0)


def onsite_w(years: np.ndarray, start_year: int, max_mw_per_year: np.ndarray) -> np.ndarray:
    """On-site generation addable in each year after ``start_year`` [W]."""
    return np.where(years[None, :] > start_year, col(max_mw_per_year) * 1e6, 0.0)
