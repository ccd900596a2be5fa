"""The look every figure shares (dashboard and reports): words for names, units a reader expects,
titles that wrap, legends below the plot, readable from 420 px wide.

- :func:`finish` sets the title (wrapped), axis titles (never cut: automargin) and puts the
  legend under the plot, centred, so it never covers an axis or squeezes a narrow chart;
- :func:`metric_label` and :func:`driver_label` turn code names into words;
- :func:`scale_for` picks the unit people read (GW not 350k MW, $B not 592 G USD) and the
  divisor that goes with it, so figures draw scaled values under a titled axis.
"""

from __future__ import annotations

import math
import textwrap
from typing import Iterable

#: Characters of a title line: what fits a 420 px wide chart at plotly's title font.
TITLE_WRAP = 44

#: Words for the forecast's metrics (keys of Forecast.metrics).
METRIC_LABELS = {
    "accelerators_installed": "Accelerators installed",
    "h100e_installed": "H100-equivalents installed",
    "h100e_required": "H100-equivalents required",
    "h100e_required_llm": "H100-equivalents required by LLMs",
    "shipments_h100e": "Shipments (H100-equivalents)",
    "it_power_mw": "IT power, all data centres",
    "facility_power_mw": "Facility power, all data centres",
    "energy_twh": "Electricity, all data centres",
    "ai_it_power_mw": "AI IT power",
    "ai_facility_power_mw": "AI facility power",
    "ai_energy_twh": "AI electricity",
    "nonai_energy_twh": "Non-AI electricity",
    "ai_capacity_mw": "AI critical IT capacity",
    "pue_ai": "PUE of AI capacity",
    "capex_usd": "AI capex",
    "accelerator_spend_usd": "Accelerator spend",
    "gpu_spend_usd": "GPU spend",
    "opex_usd": "AI opex",
    "market_size_usd": "Market size",
    "usd_per_h100e_hour": "Cost per H100-equivalent hour",
    "usd_per_mtok": "Cost per million tokens",
    "emissions_tco2e": "Emissions",
    "unmet_demand_frac": "Unmet demand",
    "tokens_per_year": "Tokens served",
    "inference_flop_per_year": "Inference compute",
    "training_flop_per_year": "Training compute",
}

REGION_LABELS = {"world": "world", "us": "United States", "china": "China", "europe": "Europe", "apac": "Asia-Pacific excl. China",
                 "row": "rest of world"}


def metric_label(metric: str) -> str:
    """Words for a forecast metric: 'facility_power_mw' -> 'Facility power, all data centres'."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    if metric.startswith("accelerators_installed_"):
        return f"Accelerators installed: {metric.removeprefix('accelerators_installed_')}"
    return _words(metric)


def driver_label(name: str) -> str:
    """Words for a scenario driver: its description in the driver table, else the name in words."""
    from dcplan.forecast.scenario import DRIVERS

    d = DRIVERS.get(name)
    text = d.description if d is not None else _words(name)
    return text[:1].upper() + text[1:]


_ACRONYMS = {"pue": "PUE", "usd": "USD", "mw": "MW", "gw": "GW", "twh": "TWh", "h100e": "H100e", "it": "IT", "ai": "AI", "frac": "share",
             "tco2e": "tCO2e", "nonai": "non-AI", "mtok": "Mtok", "flop": "FLOP"}


def lower_first(text: str) -> str:
    """``text`` inside a sentence: the first letter lowered unless it starts an acronym ('AI capex' stays)."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _words(name: str) -> str:
    parts = [_ACRONYMS.get(p, p) for p in name.split("_")]
    text = " ".join(parts)
    return text[:1].upper() + text[1:]


def scale_for(unit: str, values: Iterable[float]) -> tuple[float, str]:
    """(divisor, unit text) that reads well for ``values`` given in ``unit`` (dcplan's SI-ish units).

    MW -> GW from 1,000 MW; USD -> USD million/billion/trillion; tCO2e -> MtCO2e; counts -> million
    or billion; a qualifier in brackets ('MW (average, all data centres)') is kept.
    """
    base, _, qual = unit.partition(" (")
    qual = f" ({qual}" if qual else ""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 0.0
    if base.startswith("MW"):
        return (1e3, "GW" + base[2:] + qual) if top >= 1e3 else (1.0, unit)
    if base.startswith("USD"):
        rest = base[3:]
        for div, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
            if top >= div:
                return div, f"USD {word}{rest}{qual}"
        return 1.0, unit
    if base.startswith("tCO2e"):
        return (1e6, "MtCO2e" + base[5:] + qual) if top >= 1e6 else (1.0, unit)
    if base == "fraction":
        return 0.01, "%"
    if base in ("ratio", "TWh/yr", "-") or base.startswith("TWh"):
        return 1.0, unit
    for div, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if top >= div:
            return div, f"{word} {unit}"
    return 1.0, unit


def wrap(text: str, width: int = TITLE_WRAP) -> str:
    """A title in lines of at most ``width`` characters (plotly breaks lines at <br>)."""
    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False)) if len(text) > width else text


def finish(fig, *, title: str, x_title: str | None = None, y_title: str | None = None, legend: bool = True, height: int | None = None):
    """Apply the shared look: wrapped title, automargin axis titles, the legend under the plot."""
    lines = wrap(title).count("<br>") + 1
    layout = {
        "title": {"text": wrap(title), "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "margin": {"l": 10, "r": 10, "t": 36 + 24 * lines, "b": 10},
        "legend": {"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left",
                   "font": {"size": 11}, "title": {"text": ""}},
        "showlegend": legend,
        "hoverlabel": {"bgcolor": "white", "font": {"color": "#1d2733"}},
    }
    if height:
        layout["height"] = height
    fig.update_layout(**layout)
    fig.update_xaxes(automargin=True, **({"title_text": x_title} if x_title is not None else {}))
    fig.update_yaxes(automargin=True, **({"title_text": y_title} if y_title is not None else {}))
    return fig
