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
from dcplan.i18n import ENGLISH, Translator


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


def anchor_text(c: Comparison, scale: float, unit: str, compact: bool = False, region: str | None = None, tr: Translator = ENGLISH) -> str:
    """'2030: IEA Base Case 945 (669-1,264) TWh/yr, inside dcplan's P10-P90 [source]'; compact: who, value, inside/above/below.

    An anchor of another region than ``region`` names it ('2028 (us): LBNL ...'). ``tr`` gives the words of the reader's language.
    """
    _ = tr
    rng = f" ({number(c.low / scale)}-{number(c.high / scale)})" if c.low is not None and c.high is not None else ""
    inside = _("inside") if c.covered else (_("above") if c.value > c.p90 else _("below"))
    where = f" ({c.region})" if region is not None and c.region != region else ""
    value = f"{number(c.value / scale)}{rng}"
    if compact:
        return _("{year}{where} {who}: {value}, {inside}").format(year=c.year, where=where, who=c.label.split(" (")[0].split(":")[0], value=value,
                                                                   inside=inside)
    return _("{year}{where}: {label} {value} {unit}, {inside} dcplan's P10-P90 [{source}]").format(
        year=c.year, where=where, label=c.label, value=value, unit=unit, inside=inside, source=c.source)


def headline_rows(fc: Forecast, year: int, *, compact: bool = False, keys: tuple[str, ...] | None = None,
                  all_regions: bool = False, tr: Translator = ENGLISH) -> list[dict[str, Any]]:
    """One row per headline metric present in ``fc``: label, unit, P10/P50/P90 in ``year`` (scaled) and the anchors' lines.

    ``compact`` anchors name the publisher and the value only (the sources are in the full rows);
    ``keys`` keeps those headlines only; ``all_regions`` adds the regional anchors, each beside its region's band.
    ``tr`` gives the label and the unit in the reader's language (Chinese: 亿美元/年 rather than $B/yr, figures scaled to match).
    """
    from dcplan.units import display_unit

    rows = []
    for h in HEADLINES:
        if keys is not None and h.key not in keys:
            continue
        if h.key not in fc.metrics or year not in fc.years:
            continue
        m = fc.metric(h.key)
        i = fc.years.index(year)
        mult, unit = display_unit(h.unit, tr.lang)
        scale = h.scale / mult
        rows.append({"key": h.key, "label": tr(h.label), "unit": unit, "year": year,
                     "p10": m.p10[i] / scale, "p50": m.p50[i] / scale, "p90": m.p90[i] / scale,
                     "anchors": [anchor_text(c, scale, unit, compact, fc.region, tr) for c in anchors(fc, h.key, all_regions=all_regions)]})
    return rows


def limit_lines(fc: Forecast, tr: Translator = ENGLISH) -> list[str]:
    """Which supply limit binds, from when, in what share of samples and by how much; and the backlog (in ``tr``'s language)."""
    from dcplan.units import human_count

    _, loc = tr, tr.lang
    out = []
    for lim in fc.limits:
        peak = max(range(len(fc.years)), key=lambda i: lim.binding_frac[i]) if fc.years else 0
        name = _(lim.name)
        if lim.first_year is not None:
            i = fc.years.index(lim.first_year)
            h100e = f"{number(lim.shortfall_h100e_p50[i] / 1e6)} M" if loc == "en" else human_count(lim.shortfall_h100e_p50[i], locale=loc)
            out.append(_("{limit} binds from {year} in {share} of samples, holding back {h100e} H100e ({gw} GW) at the P50 of those samples.").format(
                limit=name, year=lim.first_year, share=f"{lim.binding_frac[i]:.0%}",
                h100e=h100e, gw=number(lim.shortfall_mw_p50[i] / 1e3)))
        elif lim.binding_frac and lim.binding_frac[peak] > 0:
            out.append(_("{limit} binds in at most {share} of samples (peak {year}): not the central case.").format(
                limit=name, share=f"{lim.binding_frac[peak]:.0%}", year=fc.years[peak]))
        else:
            out.append(_("{limit} never binds.").format(limit=name))
    out = [line[:1].upper() + line[1:] for line in out]  # a sentence starts with a capital ('Chip supply binds ...')
    if "backlog_years" in fc.metrics:
        b = fc.metric("backlog_years")
        worst = max(range(len(fc.years)), key=lambda i: b.p90[i])
        out.append(_("Backlog: P50 {p50} years at most; P90 {p90} years in {year}.").format(p50=number(max(b.p50)), p90=number(b.p90[worst]), year=fc.years[worst]))
    return out
