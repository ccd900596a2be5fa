"""Sourced values and the planner's defaults (``data/costs/defaults.yaml``) as typed objects.

Every number the planner uses and the workload does not give comes from here with its unit,
source and quality grade, and travels into the plan's ``assumptions``. Parsing glue only; the
file is read by :mod:`dcplan.capacity.loaders`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.io.schema import build
from dcplan.io.yamlio import Located

COSTS_SCHEMA_VERSION = 1
QUALITIES = ("A", "B", "C", "convention", "given", "derived")

#: Keys ``defaults:`` must hold: the planner reads each of them.
REQUIRED_DEFAULTS = (
    "pue", "usd_per_kwh", "grid_gco2_per_kwh", "server_power_ratio", "facility_usd_per_mw", "server_cost_frac",
    "network_cost_frac", "it_life_years", "facility_life_years", "wacc_frac", "maintenance_frac_per_year",
    "staff_usd_per_year", "utilization_frac", "rack_power_kw", "accelerators_per_rack", "horizon_years",
    "min_replicas", "growth_per_year_frac", "runs_per_year",
)


@dataclass(frozen=True, kw_only=True)
class SourcedValue:
    """A number with its unit and where it comes from."""

    value: float
    unit: str
    source: str
    quality: str
    """A, B, C (see data/costs/defaults.yaml), convention, or given (from the workload file)."""

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise InputError("value", f"must be a finite number, got {self.value!r}")
        if self.quality not in QUALITIES:
            raise InputError("quality", f"must be one of {', '.join(QUALITIES)}, got {self.quality!r}")
        if not self.source.strip():
            raise InputError("source", "every value needs a source")


@dataclass(frozen=True, kw_only=True)
class HardwarePrices:
    """Published prices of one accelerator (any may be missing)."""

    accelerator_usd: SourcedValue | None = None
    """Purchase price per accelerator [USD]."""
    server_usd_per_node: SourcedValue | None = None
    """Server cost per node, accelerators excluded [USD]."""
    network_usd_per_node: SourcedValue | None = None
    cloud_usd_per_hour: SourcedValue | None = None


@dataclass(frozen=True, kw_only=True)
class CostDefaults:
    """The whole defaults file."""

    schema_version: int = COSTS_SCHEMA_VERSION
    defaults: Mapping[str, SourcedValue]
    hardware: Mapping[str, HardwarePrices] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.schema_version != COSTS_SCHEMA_VERSION:
            raise InputError("schema_version", f"this dcplan reads cost defaults version {COSTS_SCHEMA_VERSION}, got {self.schema_version!r}")
        missing = [k for k in REQUIRED_DEFAULTS if k not in self.defaults]
        if missing:
            raise InputError("defaults", f"missing {', '.join(missing)}")

    def get(self, name: str) -> SourcedValue:
        return self.defaults[name]

    def prices(self, hardware: str) -> HardwarePrices:
        return self.hardware.get(hardware, HardwarePrices())


def cost_defaults_from_doc(doc: Located) -> CostDefaults:
    """Validate a parsed defaults document (file:line errors) and build :class:`CostDefaults`."""
    data: Any = doc.data
    if not isinstance(data, Mapping):
        raise doc.error((), "must be a mapping with schema_version, defaults and hardware")
    return build(CostDefaults, data, doc)


def given(value: float, unit: str, where: str) -> SourcedValue:
    """A value the workload file gave, sourced to its file and line."""
    return SourcedValue(value=float(value), unit=unit, source=f"given in {where}", quality="given")
