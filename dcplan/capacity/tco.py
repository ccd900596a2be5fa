"""Capital cost, annualised total cost of ownership, and the rent-versus-own comparison.

- Capex: accelerators (count x price); servers (nodes x server cost per node, else accelerator
  cost x server share: Epoch AI's server-to-chip cost multiplier 1.64); network (nodes x cost per
  node, else a share f of total cluster cost: network = (accelerators + servers) x f / (1 - f),
  Epoch AI f = 0.19); facility (critical IT MW x build cost per MW, Cushman & Wakefield 2025
  $11.7M/MW, which excludes IT equipment).
- Annualised capital: capex x CRF, with the capital recovery factor
  CRF(r, n) = r (1 + r)^n / ((1 + r)^n - 1) (an annuity paying back capex and interest at rate r
  over n years; 1/n at r = 0), IT (accelerators, servers, network) and facility each with their
  own life (Barroso, Hölzle & Ranganathan, 'The Datacenter as a Computer', TCO chapter).
- Annual opex: electricity (facility energy x price), maintenance (share of capex per year),
  staff (given).
- Rent versus own: renting the accelerator-hours the workload uses at a cloud price p costs
  H x p; owning costs the TCO. The break-even price is TCO / H and the break-even utilisation
  TCO / (N x 8,766 h x p): below it, renting is cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.capacity.inputs import Economics, OptionInputs
from dcplan.units import HOURS_PER_YEAR


def crf(rate, years):
    """Capital recovery factor [1/year]: r(1+r)^n / ((1+r)^n - 1), and 1/n when r = 0.

    The one CRF of dcplan (the planner's TCO and the forecast's economics): floats give a float,
    arrays (Monte Carlo samples) an array of the broadcast shape.
    """
    import numpy as np

    r, n = np.asarray(rate, dtype=float), np.asarray(years, dtype=float)
    if np.any(n <= 0):
        raise ValueError(f"life must be > 0 years, got {years}")
    g = (1.0 + r) ** n
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(np.abs(r) > 1e-12, r * g / (g - 1.0), 1.0 / n)
    return float(k) if k.ndim == 0 else k


@dataclass(frozen=True, kw_only=True)
class Capex:
    """Up-front cost of an installation [USD]."""

    accelerators_usd: float
    servers_usd: float
    network_usd: float
    facility_usd: float

    @property
    def it_usd(self) -> float:
        """Accelerators, servers and network: what depreciates over the IT life."""
        return self.accelerators_usd + self.servers_usd + self.network_usd

    @property
    def total_usd(self) -> float:
        return self.it_usd + self.facility_usd

    def as_dict(self) -> dict[str, float]:
        return {"accelerators": self.accelerators_usd, "servers": self.servers_usd, "network": self.network_usd, "facility": self.facility_usd}


def capex(*, accelerators: int, nodes: int, it_mw: float, opt: OptionInputs, econ: Economics) -> Capex:
    """Capex of ``accelerators`` in ``nodes`` drawing ``it_mw`` of critical IT power."""
    acc = accelerators * opt.accelerator_usd.value
    servers = nodes * opt.server_usd_per_node.value if opt.server_usd_per_node else acc * opt.server_cost_frac.value
    if opt.network_usd_per_node:
        network = nodes * opt.network_usd_per_node.value
    else:
        f = opt.network_cost_frac.value
        network = (acc + servers) * f / (1.0 - f)
    return Capex(accelerators_usd=acc, servers_usd=servers, network_usd=network, facility_usd=it_mw * econ.facility_usd_per_mw.value)


@dataclass(frozen=True, kw_only=True)
class AnnualCost:
    """Annualised cost of ownership by component [USD/year]."""

    accelerators_usd: float
    servers_usd: float
    network_usd: float
    facility_usd: float
    electricity_usd: float
    maintenance_usd: float
    staff_usd: float

    @property
    def capital_usd(self) -> float:
        return self.accelerators_usd + self.servers_usd + self.network_usd + self.facility_usd

    @property
    def opex_usd(self) -> float:
        return self.electricity_usd + self.maintenance_usd + self.staff_usd

    @property
    def total_usd(self) -> float:
        return self.capital_usd + self.opex_usd

    def as_dict(self) -> dict[str, float]:
        return {
            "accelerators": self.accelerators_usd, "servers": self.servers_usd, "network": self.network_usd,
            "facility": self.facility_usd, "electricity": self.electricity_usd, "maintenance": self.maintenance_usd,
            "staff": self.staff_usd,
        }

    def opex_dict(self) -> dict[str, float]:
        return {"electricity": self.electricity_usd, "maintenance": self.maintenance_usd, "staff": self.staff_usd}

    def scaled(self, share: float, electricity_usd: float) -> AnnualCost:
        """This cost's capital, maintenance and staff times ``share``, with its own electricity."""
        return AnnualCost(
            accelerators_usd=self.accelerators_usd * share, servers_usd=self.servers_usd * share,
            network_usd=self.network_usd * share, facility_usd=self.facility_usd * share,
            electricity_usd=electricity_usd, maintenance_usd=self.maintenance_usd * share, staff_usd=self.staff_usd * share,
        )


def annual_cost(cap: Capex, *, facility_energy_kwh: float, econ: Economics) -> AnnualCost:
    """Capex annualised with the CRF of each life, plus a year of electricity, maintenance and staff."""
    r = econ.wacc_frac.value
    k_it = crf(r, econ.it_life_years.value)
    k_fac = crf(r, econ.facility_life_years.value)
    return AnnualCost(
        accelerators_usd=cap.accelerators_usd * k_it,
        servers_usd=cap.servers_usd * k_it,
        network_usd=cap.network_usd * k_it,
        facility_usd=cap.facility_usd * k_fac,
        electricity_usd=facility_energy_kwh * econ.usd_per_kwh.value,
        maintenance_usd=cap.total_usd * econ.maintenance_frac_per_year.value,
        staff_usd=econ.staff_usd_per_year.value,
    )


def usd_per_accelerator_hour(tco_usd_per_year: float, accelerators: int, utilization_frac: float) -> float:
    """Owner's cost per accelerator-hour of work: TCO / (N x 8,766 h x utilisation) [USD/h]."""
    return tco_usd_per_year / (accelerators * HOURS_PER_YEAR * utilization_frac)


@dataclass(frozen=True, kw_only=True)
class RentVsOwn:
    """Owning the plan versus renting the accelerator-hours it uses."""

    cloud_usd_per_accelerator_hour: float | None
    cloud_price_source: str
    used_accelerator_hours_per_year: float
    """Training hours of every run plus serving fleets around the clock [accelerator-h/year]."""
    own_usd_per_year: float
    rent_usd_per_year: float | None
    break_even_usd_per_accelerator_hour: float
    """Cloud price at which renting the used hours costs what owning does [USD/h]."""
    break_even_utilization_frac: float | None
    """Share of owned hours that must be used for owning to match renting at the cloud price."""
    cheaper: str | None
    """'own' or 'rent'; None without a cloud price."""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def rent_vs_own(*, tco_usd_per_year: float, accelerators: int, used_hours: float, cloud_usd_per_hour: float | None, source: str) -> RentVsOwn:
    """Compare owning (TCO) with renting ``used_hours`` at ``cloud_usd_per_hour``."""
    rent = used_hours * cloud_usd_per_hour if cloud_usd_per_hour is not None else None
    return RentVsOwn(
        cloud_usd_per_accelerator_hour=cloud_usd_per_hour,
        cloud_price_source=source,
        used_accelerator_hours_per_year=used_hours,
        own_usd_per_year=tco_usd_per_year,
        rent_usd_per_year=rent,
        break_even_usd_per_accelerator_hour=tco_usd_per_year / used_hours if used_hours > 0 else float("inf"),
        break_even_utilization_frac=(tco_usd_per_year / (accelerators * HOURS_PER_YEAR * cloud_usd_per_hour)) if cloud_usd_per_hour else None,
        cheaper=None if rent is None else ("own" if tco_usd_per_year < rent else "rent"),
    )
