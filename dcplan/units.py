"""Unit constants, converters and the parser for numbers written by people (``70B``, ``15T``).

SI base units are used everywhere inside dcplan; only text a person reads shows TFLOP/s, GB,
MW or %. GB is 1e9 bytes and GiB is 2**30 bytes: both exist here under their own names and
are never mixed.
"""

from __future__ import annotations

import math
import re

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
    """Format ``value`` with an SI prefix for people: ``human(9.894e14, 'FLOP/s')`` -> ``989 TFLOP/s``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    prefixes = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def human_count(value: float, digits: int = 3) -> str:
    """Counts the way model cards write them: ``405B``, ``15.6T``, ``1.2M``."""
    for scale, suffix in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


#: What text shows for a number that is not known (never 0).
MISSING = "-"


def usd(value: float | None, digits: int = 3) -> str:
    """Money for people, the one formatter: ``$592B``, ``$1.2T``, ``$11.7M``, ``$231k``, ``$4,916``, ``$1.84``; ``-`` when unknown."""
    if value is None or not math.isfinite(value):
        return MISSING
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


def power_mw(value_mw: float | None, digits: int = 3) -> str:
    """Power for people from megawatts: ``350 MW``, ``1.2 GW``, ``350 GW``, ``12 kW``; ``-`` when unknown."""
    if value_mw is None or not math.isfinite(value_mw):
        return MISSING
    if abs(value_mw) >= 1e3:
        return f"{value_mw / 1e3:,.{digits}g} GW"
    if abs(value_mw) >= 1 or value_mw == 0:
        return f"{value_mw:,.{digits}g} MW"
    return f"{value_mw * 1e3:,.{digits}g} kW"


def for_people(value: float | None, unit: str, digits: int = 3) -> str:
    """A value in one of dcplan's units as people read it: ``126 GW``, ``$592B/yr``, ``1,108 TWh/yr``,
    ``32.6 million``, ``54.7 %``; ``-`` when unknown. A bracketed qualifier of the unit is dropped."""
    if value is None or not math.isfinite(value):
        return MISSING
    base = unit.partition(" (")[0].strip()
    if base.startswith("USD"):
        return usd(value, digits) + base[3:]
    if base.startswith("MW"):
        return power_mw(value, digits) + base[2:]
    if base.startswith("tCO2e") and abs(value) >= 1e6:
        return f"{value / 1e6:,.{digits}g} MtCO2e{base[5:]}"
    if base == "fraction":
        return f"{100 * value:.{max(0, digits - 2)}f} %"
    if base.startswith("TWh") or abs(value) < 1e6:
        text = f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:,.{digits}g}"
        return f"{text} {base}".strip() if base not in ("ratio", "-", "") else text
    for scale, word in ((1e15, "quadrillion"), (1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(value) >= scale:
            return f"{value / scale:,.{digits}g} {word}" + (f" {base}" if base and not base.startswith(("accelerators", "H100")) else "")
    return f"{value:,.{digits}g}"
