"""Power, energy, carbon and rental cost of accelerator-hours.

E_IT = accelerator-hours x average IT power per accelerator; E_facility = E_IT x PUE;
CO2e = E_facility x grid intensity (Patterson et al. 2021, "Carbon Emissions and Large Neural
Network Training"; CodeCarbon methodology). Average IT power per accelerator is the server's
power per accelerator (catalog node power, else TDP x a server/accelerator power ratio, Epoch
AI ``training-cost-trends/energy.py``: 1.82 for DGX H100) times a load factor (Epoch: average
power 0.75 x TDP).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.specs import HardwareSpec, SiteParams


@dataclass(frozen=True, kw_only=True)
class Price:
    """A price per accelerator-hour and where it came from."""

    usd_per_hour: float | None
    source: str


def server_power_per_accelerator_w(hw: HardwareSpec, site: SiteParams) -> float:
    """Peak server power attributable to one accelerator (host CPUs, NICs, fans included) [W]."""
    if hw.node_power_w and hw.accelerators_per_node:
        return hw.node_power_w / hw.accelerators_per_node
    return hw.require("tdp_w") * site.server_power_ratio


def it_power_per_accelerator_w(hw: HardwareSpec, site: SiteParams, load_frac: float) -> float:
    """Average IT power per accelerator at ``load_frac`` of peak [W]."""
    return server_power_per_accelerator_w(hw, site) * load_frac


def energy_kwh(accelerator_hours: float, it_power_w: float) -> float:
    """IT energy of ``accelerator_hours`` at ``it_power_w`` each [kWh]."""
    return accelerator_hours * it_power_w / 1e3


def tco2e(facility_kwh: float, site: SiteParams) -> float:
    """Location-based emissions [tCO2e]."""
    return facility_kwh * site.grid_gco2_per_kwh / 1e6


def rental_price(hw: HardwareSpec, site: SiteParams) -> Price:
    """$/accelerator-hour: the one given in ``site``, else the catalog's published cloud price."""
    if site.usd_per_accelerator_hour is not None:
        return Price(usd_per_hour=site.usd_per_accelerator_hour, source="given (--usd-per-hour)")
    if hw.cloud_usd_per_hour is not None:
        note = hw.source_of("cloud_usd_per_hour")
        return Price(usd_per_hour=hw.cloud_usd_per_hour, source=note.source if note else f"data/hardware/{hw.name}.yaml")
    return Price(
        usd_per_hour=None,
        source=f"no published price for {hw.name} in data/hardware/{hw.name}.yaml: pass --usd-per-hour",
    )
