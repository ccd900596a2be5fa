"""China's accelerator supply by origin: domestic chips from their own capacity and yield, imports under export controls.

The world chain places a share of each year's new AI capacity in China (``ai_share_new_china``:
what China's demand asks for). Since October 2023 US export controls cap what China can import
(BIS, "Implementation of Additional Export Controls: Certain Advanced Computing Items", 88 FR
73458, 25 Oct 2023: a licence for chips with total processing performance >= 4,800, closing the
A800/H800 route of the October 2022 rule), so that placement is met in this order:

1. **Domestic accelerators** (Huawei Ascend, Cambricon, Hygon...), first: China bars foreign AI
   chips from state-funded data centres (Reuters, 5 Nov 2025) and Huawei sells what it makes.
   Producible H100e = die starts x yield x H100e per die. Die starts grow with foundry capacity
   (SMIC N+1/N+2), tapering; the yield closes half its gap to a mature level every few years
   (910B ~50 %, 910C ~20 % in late 2024: Reuters, 21 Nov 2024; 910C ~40 % in early 2025: FT via
   DIGITIMES Asia, 26 Feb 2025); H100e per die follows the domestic roadmap (Huawei Connect 2025
   keynote: Ascend 950 in 2026, 960 in 2027, 970 in 2028).
2. **Imports**, up to the export-control ceiling (licensed chips such as the H20 or, from
   December 2025, the H200 under a revenue share, plus chips that reach China outside the rules).
3. What neither covers is **China's shortfall**, a limit of its own ("export controls"). Chips the
   controls keep out of China go to buyers elsewhere only where the world was short of chips
   that year (the world chain's chip shortfall outside China); otherwise they are not made.

Domestic systems draw more power per H100e than the world's (Huawei CloudMatrix 384: ~559 kW
for ~300 PFLOP/s BF16, SemiAnalysis, Apr 2025) and improve at the world's FLOP/s-per-watt rate;
their price per H100e falls at the world's price-performance rate. History years (up to the
start year) are left as built from spend: domestic chips before the start year are not counted
(about 0.1 M H100e in 2024, under 2 % of the fleet). Pure and vectorised: arrays [n, years].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dcplan.forecast import demand as dm
from dcplan.forecast.demand import col


@dataclass(frozen=True, kw_only=True, eq=False)
class DomesticPath:
    """What China's own industry can make each year, [n, years]."""

    h100e: np.ndarray
    """Producible H100e (working dies x H100e per die)."""
    h100e_per_unit: np.ndarray
    """H100e per domestic accelerator package."""
    w_per_h100e: np.ndarray
    """Peak IT power per H100e of the year's domestic systems [W]."""
    usd_per_h100e: np.ndarray
    """Price per H100e of the year's domestic accelerators [USD]."""


@dataclass(frozen=True, kw_only=True, eq=False)
class OriginSplit:
    """How China's placement was met each year, [n, years] in H100e (0 in history years)."""

    placed: np.ndarray
    """China's share of the world chain's shipments: what its demand asked for."""
    domestic: np.ndarray
    imported: np.ndarray
    shortfall: np.ndarray
    """Placed but neither made at home nor importable."""
    redirected: np.ndarray
    """Chips kept out of China that went to buyers elsewhere who were short of chips."""
    import_cap: np.ndarray
    controlled: np.ndarray
    """[n, years] bool: export controls in force that year."""


def yield_path(years: np.ndarray, anchor_year: int, y0: np.ndarray, mature: np.ndarray, halflife_years: np.ndarray) -> np.ndarray:
    """Y(t) = Ym - (Ym - Y0) 0.5^((t - t_a)/h) after the anchor year, Y0 before it; Ym at least Y0."""
    ym = np.maximum(col(mature), col(y0))
    k = np.maximum(years[None, :] - anchor_year, 0.0)
    return ym - (ym - col(y0)) * 0.5 ** (k / col(halflife_years))


def domestic_path(years: np.ndarray, anchor: int, anchor_year: int, first_full: int, d: dict[str, np.ndarray],
                  growth_steps: np.ndarray) -> DomesticPath:
    """China's producible domestic H100e and the power and price of each year's domestic systems.

    ``growth_steps`` [n, years] are the die-start growth factors (``year_steps`` of the driver),
    tapered here by ``china_domestic_growth_halflife_years`` after ``first_full``; ``anchor`` is the
    index of ``anchor_year``, where the levels apply.
    """
    starts = col(d["china_domestic_die_starts_per_year"]) * dm.index_at(
        dm.taper(growth_steps, d["china_domestic_growth_halflife_years"], years, first_full), anchor)
    good = starts * yield_path(years, anchor_year, d["china_domestic_yield_frac"], d["china_domestic_mature_yield_frac"],
                               d["china_domestic_yield_halflife_years"])
    dt = years[None, :] - anchor_year
    per_die = col(d["china_domestic_h100e_per_die"]) * col(d["china_domestic_perf_growth_per_year"]) ** dt
    w = col(d["china_domestic_w_per_h100e"]) / col(d["chip_flops_per_watt_growth_per_year"]) ** dt
    usd = col(d["china_domestic_usd_per_h100e"]) / col(d["price_performance_gain_per_year"]) ** dt
    return DomesticPath(h100e=good * per_die, h100e_per_unit=per_die * col(d["china_domestic_dies_per_accelerator"]),
                        w_per_h100e=w, usd_per_h100e=usd)


def import_cap(years: np.ndarray, first_forecast_year: int, cap0: np.ndarray, growth: np.ndarray, controls_start_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cap [n, years] H100e/yr, controlled [n, years]): cap0 x g^(t - first forecast year) in the years
    from the first whole year of controls on (``ceil(controls_start_year)``), unlimited before."""
    controlled = years[None, :] >= np.ceil(col(controls_start_year))
    cap = col(cap0) * col(growth) ** (years[None, :] - first_forecast_year)
    return np.where(controlled, cap, np.inf), controlled


def split(shipped_h100e: np.ndarray, share_china: np.ndarray, domestic_h100e: np.ndarray, cap_h100e: np.ndarray,
          chip_short_h100e: np.ndarray, controlled: np.ndarray, t0: int) -> OriginSplit:
    """Meet China's placement from domestic supply first, then imports up to the cap (see the module docstring).

    Forecast years only (after index ``t0``); ``chip_short_h100e`` is the world chain's chip
    shortfall, of which the share outside China can take chips kept out of China.
    """
    s = col(share_china)
    fc = (np.arange(shipped_h100e.shape[1]) > t0)[None, :]
    placed = np.where(fc, shipped_h100e * s, 0.0)
    dom = np.minimum(np.where(fc, domestic_h100e, 0.0), placed)
    imp = np.minimum(placed - dom, cap_h100e)
    short = placed - dom - imp
    redirected = np.minimum(short, np.where(fc, (1.0 - s) * chip_short_h100e, 0.0))
    return OriginSplit(placed=placed, domestic=dom, imported=imp, shortfall=short, redirected=redirected,
                       import_cap=np.where(fc, cap_h100e, 0.0), controlled=controlled & fc)
