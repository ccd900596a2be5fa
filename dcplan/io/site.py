"""The default site (PUE, electricity price, grid carbon intensity, server power ratio).

These numbers live in one place, ``data/costs/defaults.yaml``, with their sources; ``dcplan
estimate`` and the forecast's hardware generations read them from there through
:func:`default_site`, and ``dcplan plan`` through its cost defaults (same file, same entries).
"""

from __future__ import annotations

import functools
from pathlib import Path

from dcplan.io.resources import data_dir
from dcplan.io.yamlio import read_yaml
from dcplan.specs import SiteParams

#: Entries of ``defaults:`` in data/costs/defaults.yaml that make up a SiteParams.
SITE_KEYS = ("pue", "usd_per_kwh", "grid_gco2_per_kwh", "server_power_ratio")


def default_site() -> SiteParams:
    """The sourced default site of the data folder in use (``$DCPLAN_DATA`` respected)."""
    return _site_from(data_dir() / "costs" / "defaults.yaml")


@functools.cache
def _site_from(path: Path) -> SiteParams:
    doc = read_yaml(path)
    defaults = (doc.data or {}).get("defaults") if isinstance(doc.data, dict) else None
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for key in SITE_KEYS:
        entry = defaults.get(key) if isinstance(defaults, dict) else None
        if not isinstance(entry, dict) or isinstance(entry.get("value"), bool) or not isinstance(entry.get("value"), (int, float)):
            raise doc.error(("defaults", key), "missing or not a number: the default site needs it")
        values[key] = float(entry["value"])
        sources[key] = f"{entry.get('source', '')} (data/costs/defaults.yaml, grade {entry.get('quality', '?')})"
    return SiteParams(**values, sources=sources)
