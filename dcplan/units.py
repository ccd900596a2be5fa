"""Unit constants, converters and the parser for numbers written by people (``70B``, ``15T``).

SI base units are used everywhere inside dcplan; only text a person reads shows TFLOP/s, GB,
MW or %. GB is 1e9 bytes and GiB is 2**30 bytes: both exist here under their own names and
are never mixed.
"""

from __future__ import annotations

import math
import re

from dcplan.i18n import unit_words  # noqa: F401 - the per-time words of a unit ('TWh/yr' -> 'TWh/年'), formatted here

# --- sizes -----------------------------------------------------------------------------------
GB = 1e9
TB = 1e12
MiB = 2.0**20
GiB = 2.0**30

# --- time ------------------------------------------------------------------------------------
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
HOURS_PER_YEAR = 8766.0  # Julian year, 365.25 d x 24 h
SECONDS_PER_YEAR = HOURS_PER_YEAR * SECONDS_PER_HOUR

#: Suffixes accepted by :func:`parse_quantity`. "B" is billion (model sizes: 70B) and "G" the
#: same; "T" is trillion (tokens: 15T). Byte sizes are written in plain numbers or "GB" in YAML
#: fields documented as bytes, never through these suffixes.
_SUFFIX = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "B": 1e9,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Q": 1e18,
}
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([kKMBGTPQ]?)\s*$")


def parse_quantity(text: str | float | int) -> float:
    """Parse ``70e9``, ``70B``, ``15T``, ``1.5M``, ``4_096`` or a number into a float.

    Raises ``ValueError`` with a message naming what is accepted. NaN and infinities are
    rejected here: no field in dcplan accepts them.
    """
    if isinstance(text, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _NUMBER.match(str(text))
        if not match:
            raise ValueError(
                f"{text!r} is not a number (use e.g. 70e9, 70B, 15T, 1.5M, 4096)"
            )
        value = float(match.group(1).replace("_", "")) * _SUFFIX[match.group(2)]
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def human(value: float, unit: str = "", digits: int = 3) -> str:
    """Format ``value`` with an SI prefix for people: ``human(9.894e14, 'FLOP/s')`` -> ``989 TFLOP/s`` (SI in every language)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    prefixes = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


# --- locales -----------------------------------------------------------------------------------
# Text for people follows the reader's language (``locale``: a code of dcplan.i18n.LANGUAGES).
# English writes large counts and money with k/M/B/T ($592B, 32.6M); Chinese with 万 (1e4),
# 亿 (1e8) and 万亿 (1e12), the groupings of CLDR's zh compact-decimal patterns, and money as
# "<number>美元" (5920亿美元, 1.84美元), as Chinese financial writing does. Physical units stay SI
# in every language (350 MW, 1,108 TWh/年, 989 TFLOP/s); only "per year"/"per hour" are words.
#: Babel (CLDR) locale of each language.
_CLDR = {"en": "en", "zh": "zh_Hans_CN"}


def _round_sig(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _zh_count(value: float, digits: int = 3) -> str:
    """A count in Chinese groupings: 3260万, 5920亿, 1.2万亿; 9,490 below 10,000 (Babel's CLDR data)."""
    from babel.numbers import format_compact_decimal, format_decimal

    v = _round_sig(float(value), digits)
    if abs(v) < 1e4:
        return format_decimal(v, format=f"#,##0.{'#' * max(0, digits - 1)}", locale=_CLDR["zh"])
    return format_compact_decimal(v, format_type="short", locale=_CLDR["zh"], fraction_digits=digits)


def human_count(value: float, digits: int = 3, locale: str = "en") -> str:
    """Counts the way model cards write them: ``405B``, ``15.6T``, ``1.2M``; Chinese: ``4050亿``, ``15.6万亿``, ``120万``."""
    if locale == "zh":
        return _zh_count(value, digits)
    for scale, suffix in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


#: What text shows for a number that is not known (never 0).
MISSING = "-"


def usd(value: float | None, digits: int = 3, locale: str = "en") -> str:
    """Money for people, the one formatter: ``$592B``, ``$1.2T``, ``$11.7M``, ``$231k``, ``$4,916``, ``$1.84``; ``-`` when unknown.

    Chinese (``locale="zh"``): ``5920亿美元``, ``1.2万亿美元``, ``1170万美元``, ``23.1万美元``, ``4,916美元``, ``1.84美元``.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if locale == "zh":
        return _zh_usd(value, digits)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= scale:
            return f"${value / scale:,.{digits}g}{suffix}"
    if abs(value) >= 1e4:
        return f"${value / 1e3:,.{digits}g}k"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.{digits}g}"


def _zh_usd(value: float, digits: int) -> str:
    if abs(value) >= 1e4:
        return _zh_count(value, digits) + "美元"
    if abs(value) >= 100:
        return f"{value:,.0f}美元"
    if abs(value) >= 1:
        return f"{value:,.2f}美元"
    return f"{value:.{digits}g}美元"


def power_mw(value_mw: float | None, digits: int = 3, locale: str = "en") -> str:
    """Power for people from megawatts: ``350 MW``, ``1.2 GW``, ``350 GW``, ``12 kW``; ``-`` when unknown (SI in every language)."""
    if value_mw is None or not math.isfinite(value_mw):
        return MISSING
    if abs(value_mw) >= 1e3:
        return f"{value_mw / 1e3:,.{digits}g} GW"
    if abs(value_mw) >= 1 or value_mw == 0:
        return f"{value_mw:,.{digits}g} MW"
    return f"{value_mw * 1e3:,.{digits}g} kW"


def percent(value_frac: float | None, decimals: int = 1, locale: str = "en") -> str:
    """A fraction as a percentage: ``54.7 %``; Chinese ``54.7%`` (no space); ``-`` when unknown."""
    if value_frac is None or not math.isfinite(value_frac):
        return MISSING
    return f"{100 * value_frac:.{decimals}f}" + ("%" if locale == "zh" else " %")


def for_people(value: float | None, unit: str, digits: int = 3, locale: str = "en") -> str:
    """A value in one of dcplan's units as people read it: ``126 GW``, ``$592B/yr``, ``1,108 TWh/yr``,
    ``32.6 million``, ``54.7 %``; ``-`` when unknown. A bracketed qualifier of the unit is dropped.

    Chinese: ``126 GW``, ``5920亿美元/年``, ``1,108 TWh/年``, ``3260万``, ``54.7%``.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    base = unit.partition(" (")[0].strip()
    if base.startswith("USD"):
        return usd(value, digits, locale) + unit_words(base[3:], locale)
    if base.startswith("MW"):
        return power_mw(value, digits, locale) + unit_words(base[2:], locale)
    if base.startswith("tCO2e") and abs(value) >= 1e6:
        return f"{value / 1e6:,.{digits}g} MtCO2e{unit_words(base[5:], locale)}"
    if base == "fraction":
        return percent(value, max(0, digits - 2), locale)
    words = base
    if locale != "en":
        from dcplan.i18n import translator

        words = translator(locale)(base)  # the unit's words ('accelerators' -> '加速器'); SI symbols are their own translation
    if base.startswith("TWh") or abs(value) < 1e6:
        text = f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:,.{digits}g}"
        return f"{text} {unit_words(words, locale)}".strip() if base not in ("ratio", "-", "") else text
    if locale == "zh":
        return _zh_count(value, digits) + (f" {unit_words(words, locale)}" if base and not base.startswith(("accelerators", "H100")) else "")
    for scale, word in ((1e15, "quadrillion"), (1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(value) >= scale:
            return f"{value / scale:,.{digits}g} {word}" + (f" {base}" if base and not base.startswith(("accelerators", "H100")) else "")
    return f"{value:,.{digits}g}"


#: Display units of the headline figures in Chinese: (multiplier on the English figure, unit).
#: "$B/yr" (1e9 USD) becomes 亿美元/年 (1e8 USD): the figure is multiplied by 10.
_ZH_UNITS = {
    "$B/yr": (10.0, "亿美元/年"), "$B": (10.0, "亿美元"), "$T": (1.0, "万亿美元"), "$M": (0.01, "亿美元"),
    "M H100e": (100.0, "万 H100e"), "M": (100.0, "万"),
    "TWh/yr": (1.0, "TWh/年"), "Mt CO2e/yr": (1.0, "Mt CO2e/年"), "years": (1.0, "年"),
}


def display_unit(unit: str, locale: str = "en") -> tuple[float, str]:
    """(multiplier, unit) that shows a figure given in ``unit`` the way ``locale`` reads it: '$B/yr' -> (10, '亿美元/年') in Chinese."""
    if locale == "zh":
        return _ZH_UNITS.get(unit, (1.0, unit_words(unit, locale)))
    return 1.0, unit
