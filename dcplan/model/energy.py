"""Power, energy, carbon and rental cost of accelerator-hours.

E_IT = accelerator-hours x average IT power per accelerator; E_facility = E_IT x PUE;
CO2e = E_facility x grid intensity (Patterson et al. 2021, "Carbon Emissions and Large Neural
Network Training"; CodeCarbon methodology). Average IT power per accelerator is the server's
power per accelerator (catalog node power, else TDP x a server/accelerator power ratio, Epoch
AI ``training-cost-trends/energy.py``: 1.82 for DGX H100) times a load factor (Epoch: average
power 0.75 x TDP). A chip with neither a published node power nor a TDP has no power figure:
its power, energy and emissions are unknown (None, with the reason), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.specs import HardwareSpec, SiteParams


@dataclass(frozen=True, kw_only=True)
class Price:
    """A price per accelerator-hour and where it came from."""

    usd_per_hour: float | None
    source: str


@dataclass(frozen=True, kw_only=True)
class ServerPower:
    """Peak server power per accelerator and where it came from, or why it is unknown."""

    w: float | None
    """Host CPUs, NICs and fans included [W]; None when the catalog publishes no figure to derive it from."""
    source: str
    """The catalog field (or the ratio) it rests on; when ``w`` is None, the missing fields and where to look."""


def power_unknown_reason(hw: HardwareSpec) -> str:
    """Why ``hw`` has no power figure: the missing catalog fields and where to see what is published."""
    return (f"unknown: no published tdp_w or node_power_w for {hw.name} in data/hardware/{hw.name}.yaml "
            f"(`dcplan hardware show {hw.name}` lists what is published and from where)")


def server_power(hw: HardwareSpec, site: SiteParams) -> ServerPower:
    """Peak server power attributable to one accelerator: node power / node size, else TDP x ratio."""
    if hw.node_power_w and hw.accelerators_per_node:
        return ServerPower(w=hw.node_power_w / hw.accelerators_per_node,
                           source=f"data/hardware/{hw.name}.yaml node_power_w / accelerators_per_node")
    if hw.tdp_w:
        return ServerPower(w=hw.tdp_w * site.server_power_ratio, source=site.sources.get("server_power_ratio", "given"))
    return ServerPower(w=None, source=power_unknown_reason(hw))


def server_power_per_accelerator_w(hw: HardwareSpec, site: SiteParams) -> float:
    """Peak server power attributable to one accelerator (host CPUs, NICs, fans included) [W].

    An InputError naming ``tdp_w`` when the catalog publishes neither node power nor TDP.
    """
    power = server_power(hw, site)
    if power.w is None:
        return hw.require("tdp_w")
    return power.w


def it_power_per_accelerator_w(hw: HardwareSpec, site: SiteParams, load_frac: float) -> float | None:
    """Average IT power per accelerator at ``load_frac`` of peak [W]; None when not published."""
    w = server_power(hw, site).w
    return None if w is None else w * load_frac


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
