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
import re
import unicodedata
from typing import Iterable

from dcplan.i18n import ENGLISH, N_, Translator

#: Characters of a title line: what fits a 420 px wide chart at plotly's title font.
TITLE_WRAP = 44

#: Words for the forecast's metrics (keys of Forecast.metrics).
METRIC_LABELS = {
    "accelerators_installed": N_("Accelerators installed"),
    "h100e_installed": N_("H100-equivalents installed"),
    "h100e_required": N_("H100-equivalents required"),
    "h100e_required_llm": N_("H100-equivalents required by LLMs"),
    "shipments_h100e": N_("Shipments (H100-equivalents)"),
    "it_power_mw": N_("IT power, all data centres"),
    "facility_power_mw": N_("Facility power, all data centres"),
    "energy_twh": N_("Electricity, all data centres"),
    "ai_it_power_mw": N_("AI IT power"),
    "ai_facility_power_mw": N_("AI facility power"),
    "ai_energy_twh": N_("AI electricity"),
    "nonai_energy_twh": N_("Non-AI electricity"),
    "ai_capacity_mw": N_("AI critical IT capacity"),
    "pue_ai": N_("PUE of AI capacity"),
    "capex_usd": N_("AI capex"),
    "accelerator_spend_usd": N_("Accelerator spend"),
    "gpu_spend_usd": N_("GPU spend"),
    "opex_usd": N_("AI opex"),
    "market_size_usd": N_("Market size"),
    "usd_per_h100e_hour": N_("Cost per H100-equivalent hour"),
    "usd_per_mtok": N_("Cost per million tokens"),
    "emissions_tco2e": N_("Emissions"),
    "unmet_demand_frac": N_("Unmet demand"),
    "tokens_per_year": N_("Tokens served"),
    "inference_flop_per_year": N_("Inference compute"),
    "training_flop_per_year": N_("Training compute"),
}

REGION_LABELS = {"world": N_("world"), "us": N_("United States"), "china": N_("China"), "europe": N_("Europe"),
                 "apac": N_("Asia-Pacific excl. China"), "row": N_("rest of world")}


def metric_label(metric: str, tr: Translator = ENGLISH) -> str:
    """Words for a forecast metric: 'facility_power_mw' -> 'Facility power, all data centres' (in ``tr``'s language)."""
    if metric in METRIC_LABELS:
        return tr(METRIC_LABELS[metric])
    if metric.startswith("accelerators_installed_"):
        _ = tr
        return _("Accelerators installed: {generation}").format(generation=metric.removeprefix("accelerators_installed_"))
    return _words(metric)


def region_label(region: str, tr: Translator = ENGLISH) -> str:
    """Words for a forecast region code: 'us' -> 'United States'."""
    return tr(REGION_LABELS[region]) if region in REGION_LABELS else region


def driver_label(name: str, tr: Translator = ENGLISH) -> str:
    """Words for a scenario driver: its description in the driver table, else the name in words (in ``tr``'s language)."""
    from dcplan.forecast.scenario import DRIVERS, SEGMENT_DRIVERS, SEGMENT_LABELS

    d = DRIVERS.get(name)
    suffix = name.removeprefix(f"{d.segment}_") if d is not None and d.segment else None
    if suffix in SEGMENT_DRIVERS and d.segment in SEGMENT_LABELS:  # '<what>, <segment>': each part from the catalog
        what = SEGMENT_DRIVERS[suffix][2]
        _ = tr
        return _("{what}, {segment}").format(what=tr(what[:1].upper() + what[1:]), segment=tr(SEGMENT_LABELS[d.segment]))
    text = d.description if d is not None else _words(name)
    return tr(text[:1].upper() + text[1:])


_ACRONYMS = {"pue": "PUE", "usd": "USD", "mw": "MW", "gw": "GW", "twh": "TWh", "h100e": "H100e", "it": "IT", "ai": "AI", "frac": "share",
             "tco2e": "tCO2e", "nonai": "non-AI", "mtok": "Mtok", "flop": "FLOP"}


def lower_first(text: str) -> str:
    """``text`` inside a sentence: the first letter lowered unless it starts an acronym ('AI capex' stays)."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _words(name: str) -> str:
    parts = [_ACRONYMS.get(p, p) for p in name.split("_")]
    text = " ".join(parts)
    return text[:1].upper() + text[1:]


def scale_for(unit: str, values: Iterable[float], tr: Translator = ENGLISH) -> tuple[float, str]:
    """(divisor, unit text) that reads well for ``values`` given in ``unit`` (dcplan's SI-ish units).

    MW -> GW from 1,000 MW; USD -> USD million/billion/trillion; tCO2e -> MtCO2e; counts -> million
    or billion; a qualifier in brackets ('MW (average, all data centres)') is kept. In Chinese money
    and counts go by 万 (1e4), 亿 (1e8) and 万亿 (1e12): 亿美元/年, 万 H100e (dcplan.units).
    """
    zh = tr.lang == "zh"
    base, _, qual = unit.partition(" (")
    qual = tr.paren(tr(qual.removesuffix(")"))) if qual else ""

    def unit_words(text: str, lang: str) -> str:  # a unit's words in the reader's language ('H100-equivalents' -> 'H100 等效算力')
        from dcplan.units import unit_words as per_time

        return per_time(tr(text), lang) if text.strip() else text

    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 0.0
    if base.startswith("MW"):
        return (1e3, "GW" + unit_words(base[2:], tr.lang) + qual) if top >= 1e3 else (1.0, unit_words(base, tr.lang) + qual)
    if base.startswith("USD"):
        rest = unit_words(base[3:], tr.lang)
        steps = ((1e12, "万亿美元"), (1e8, "亿美元"), (1e4, "万美元")) if zh else ((1e12, "USD trillion"), (1e9, "USD billion"), (1e6, "USD million"))
        for div, word in steps:
            if top >= div:
                return div, f"{word}{rest}{qual}"
        return 1.0, ("美元" + rest + qual) if zh else unit
    if base.startswith("tCO2e"):
        return (1e6, "MtCO2e" + unit_words(base[5:], tr.lang) + qual) if top >= 1e6 else (1.0, unit_words(base, tr.lang) + qual)
    if base == "fraction":
        return 0.01, "%"
    if base in ("ratio", "TWh/yr", "-") or base.startswith("TWh"):
        return 1.0, unit_words(base, tr.lang) + qual
    steps = ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")) if zh else ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
    for div, word in steps:
        if top >= div:
            return div, (f"{word} {unit_words(base, tr.lang)}{qual}" if zh else f"{word} {unit}")
    return 1.0, (unit_words(base, tr.lang) + qual) if zh else unit


#: A word of Latin script (kept whole), one wide character (CJK: a line may break after any), or spaces.
_TOKENS = re.compile(r"\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+|.")


def text_width(text: str) -> int:
    """Width of ``text`` in Latin-character cells: a CJK (East Asian wide) character counts 2."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def wrap(text: str, width: int = TITLE_WRAP) -> str:
    """A title in lines of at most ``width`` cells (plotly breaks lines at <br>).

    Latin words stay whole; Chinese text breaks between any two characters, each counting two cells,
    except before closing punctuation (，。：；）、), which stays on its line.
    """
    if text_width(text) <= width:
        return text
    lines, line = [], ""
    for tok in _TOKENS.findall(text):
        if tok.isspace():
            line += " " if line else ""
            continue
        if line and text_width(line.rstrip() + tok) > width and tok not in "，。：；）、,.:;)":
            lines.append(line.rstrip())
            line = ""
        line += tok
    if line.strip():
        lines.append(line.rstrip())
    return "<br>".join(lines)


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
