"""The headline forecast metrics, defined once for the CLI, the dashboard and the report, with their anchors.

Each headline is a metric, a label, the unit a reader expects and the scale to it. Beside each
figure stand the published numbers in the same units (``Forecast.comparisons``: IEA cases,
LBNL, Epoch AI, McKinsey, BloombergNEF, Goldman Sachs, NVIDIA and hyperscaler filings), each
with its source, so a reader sees where dcplan agrees and where it does not. Pure: formatting
of numbers only; the faces decide the layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dcplan.forecast.result import Comparison, Forecast


@dataclass(frozen=True, kw_only=True)
class Headline:
    key: str
    label: str
    unit: str
    """The unit the figure is shown in."""
    scale: float
    """Metric value / scale = the figure in ``unit``."""


HEADLINES: tuple[Headline, ...] = (
    Headline(key="energy_twh", label="Electricity, all data centres", unit="TWh/yr", scale=1.0),
    Headline(key="ai_energy_twh", label="AI electricity", unit="TWh/yr", scale=1.0),
    Headline(key="facility_power_mw", label="Average facility power, all data centres", unit="GW", scale=1e3),
    Headline(key="h100e_installed", label="AI compute installed", unit="M H100e", scale=1e6),
    Headline(key="accelerator_spend_usd", label="Accelerator spend", unit="$B/yr", scale=1e9),
    Headline(key="capex_usd", label="AI data-centre capex", unit="$B/yr", scale=1e9),
    Headline(key="capex_cumulative_usd", label="AI capex since the start year", unit="$T", scale=1e12),
    Headline(key="hyperscaler_capex_usd", label="Big-4 hyperscaler capex", unit="$B/yr", scale=1e9),
    Headline(key="unmet_demand_frac", label="Demand not served (backlog share)", unit="%", scale=0.01),
    Headline(key="backlog_years", label="Backlog: delay until served", unit="years", scale=1.0),
    Headline(key="emissions_tco2e", label="Emissions, all data centres", unit="Mt CO2e/yr", scale=1e6),
)
HEADLINE_KEYS = tuple(h.key for h in HEADLINES)
#: The shortest summary (report's executive summary).
SUMMARY_KEYS = ("energy_twh", "ai_energy_twh", "h100e_installed", "accelerator_spend_usd", "capex_usd", "backlog_years")


def number(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits, thousands separated, never in exponent form; '-' for missing."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(value))))
    decimals = max(0, digits - 1 - mag)
    return f"{value:,.{decimals}f}"


def anchors(fc: Forecast, key: str, *, all_regions: bool = False) -> list[Comparison]:
    """Published numbers and actuals beside a headline metric in the forecast's years: for its region, or with
    ``all_regions`` also the regional ones (LBNL and BloombergNEF for the US...) beside that region's band."""
    return [c for c in fc.comparisons if c.metric == key and (all_regions or c.region == fc.region) and c.year in fc.years]


def anchor_text(c: Comparison, scale: float, unit: str, compact: bool = False, region: str | None = None) -> str:
    """'2030: IEA Base Case 945 (669-1,264) TWh/yr, inside dcplan's P10-P90 [source]'; compact: who, value, inside/above/below.

    An anchor of another region than ``region`` names it ('2028 (us): LBNL ...').
    """
    rng = f" ({number(c.low / scale)}-{number(c.high / scale)})" if c.low is not None and c.high is not None else ""
    inside = "inside" if c.covered else ("above" if c.value > c.p90 else "below")
    where = f" ({c.region})" if region is not None and c.region != region else ""
    if compact:
        return f"{c.year}{where} {c.label.split(' (')[0].split(':')[0]}: {number(c.value / scale)}{rng}, {inside}"
    return f"{c.year}{where}: {c.label} {number(c.value / scale)}{rng} {unit}, {inside} dcplan's P10-P90 [{c.source}]"


def headline_rows(fc: Forecast, year: int, *, compact: bool = False, keys: tuple[str, ...] | None = None,
                  all_regions: bool = False) -> list[dict[str, Any]]:
    """One row per headline metric present in ``fc``: label, unit, P10/P50/P90 in ``year`` (scaled) and the anchors' lines.

    ``compact`` anchors name the publisher and the value only (the sources are in the full rows);
    ``keys`` keeps those headlines only; ``all_regions`` adds the regional anchors, each beside its region's band.
    """
    rows = []
    for h in HEADLINES:
        if keys is not None and h.key not in keys:
            continue
        if h.key not in fc.metrics or year not in fc.years:
            continue
        m = fc.metric(h.key)
        i = fc.years.index(year)
        rows.append({"key": h.key, "label": h.label, "unit": h.unit, "year": year,
                     "p10": m.p10[i] / h.scale, "p50": m.p50[i] / h.scale, "p90": m.p90[i] / h.scale,
                     "anchors": [anchor_text(c, h.scale, h.unit, compact, fc.region) for c in anchors(fc, h.key, all_regions=all_regions)]})
    return rows


def limit_lines(fc: Forecast) -> list[str]:
    """Which supply limit binds, from when, in what share of samples and by how much; and the backlog."""
    out = []
    for lim in fc.limits:
        peak = max(range(len(fc.years)), key=lambda i: lim.binding_frac[i]) if fc.years else 0
        if lim.first_year is not None:
            i = fc.years.index(lim.first_year)
            out.append(f"{lim.name} binds from {lim.first_year} in {lim.binding_frac[i]:.0%} of samples, holding back "
                       f"{number(lim.shortfall_h100e_p50[i] / 1e6)} M H100e ({number(lim.shortfall_mw_p50[i] / 1e3)} GW) at the P50 of those samples.")
        elif lim.binding_frac and lim.binding_frac[peak] > 0:
            out.append(f"{lim.name} binds in at most {lim.binding_frac[peak]:.0%} of samples (peak {fc.years[peak]}): not the central case.")
        else:
            out.append(f"{lim.name} never binds.")
    if "backlog_years" in fc.metrics:
        b = fc.metric("backlog_years")
        worst = max(range(len(fc.years)), key=lambda i: b.p90[i])
        out.append(f"Backlog: P50 {number(max(b.p50))} years at most; P90 {number(b.p90[worst])} years in {fc.years[worst]}.")
    return out
