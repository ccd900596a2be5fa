"""A workload resolved for planning: catalog entries, calibrations and every number with its source.

:func:`dcplan.capacity.loaders.load_plan_inputs` builds these from a workload file; the planner
takes them as they are. Each economic parameter is a
:class:`~dcplan.capacity.costs.SourcedValue`, either ``given`` in the workload (with its file and
line) or a default of ``data/costs/defaults.yaml`` (with its source and grade).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.capacity.costs import SourcedValue
from dcplan.capacity.workload import InferenceServiceSpec, Origin, TrainingJobSpec
from dcplan.errors import InputError
from dcplan.io.yamlio import Path_
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, StackChoice


@dataclass(frozen=True, kw_only=True)
class Economics:
    """Site and money parameters shared by every option."""

    pue: SourcedValue
    """Facility energy / IT energy."""
    usd_per_kwh: SourcedValue
    """Electricity price [USD/kWh]."""
    grid_gco2_per_kwh: SourcedValue
    """Grid carbon intensity [gCO2e/kWh]."""
    facility_usd_per_mw: SourcedValue
    """Facility build cost per MW of critical IT power [USD/MW]."""
    it_life_years: SourcedValue
    facility_life_years: SourcedValue
    wacc_frac: SourcedValue
    """Cost of capital [1/year]."""
    maintenance_frac_per_year: SourcedValue
    """Non-energy operating cost [share of capex per year]."""
    staff_usd_per_year: SourcedValue
    utilization_frac: SourcedValue
    """Share of owned accelerator-hours doing paid or planned work."""
    server_power_ratio: SourcedValue
    """Server power / accelerator TDP where the catalog gives no node power."""


@dataclass(frozen=True, kw_only=True)
class OptionInputs:
    """One hardware option, resolved."""

    path: Path_
    """Where the option is in the workload (for errors), e.g. ('hardware', 1)."""
    hardware: HardwareSpec
    calibration: Calibration
    """Efficiencies of training (and of serving when ``serving`` is None: a measured profile)."""
    serving: StackChoice | None
    """The serving stack the services run on and its calibration (None: the profile's)."""
    accelerator_usd: SourcedValue
    """Purchase price per accelerator [USD]."""
    server_usd_per_node: SourcedValue | None
    """Server cost per node without accelerators [USD]; None uses ``server_cost_frac``."""
    server_cost_frac: SourcedValue
    network_usd_per_node: SourcedValue | None
    """Network cost per node [USD]; None uses ``network_cost_frac``."""
    network_cost_frac: SourcedValue
    cloud_usd_per_hour: SourcedValue | None
    """Rental price per accelerator-hour; None when none is published or given."""
    accelerators_per_node: int
    node_power_w: SourcedValue
    """Nameplate power of one node [W]."""
    accelerators_per_rack: SourcedValue
    rack_power_kw: SourcedValue
    currency: str | None = None
    """The currency the workload priced this option in (ISO 4217), None for USD; every price above is in USD."""
    exchange_rate: SourcedValue | None = None
    """USD per unit of ``currency``, with its source (shown in the plan's assumptions)."""


@dataclass(frozen=True, kw_only=True)
class JobInputs:
    path: Path_
    spec: TrainingJobSpec
    model: ModelSpec
    runs_per_year: SourcedValue


@dataclass(frozen=True, kw_only=True)
class ServiceInputs:
    path: Path_
    spec: InferenceServiceSpec
    model: ModelSpec
    growth_per_year_frac: SourcedValue
    min_replicas: SourcedValue


@dataclass(frozen=True, kw_only=True)
class PlanInputs:
    """Everything :func:`dcplan.capacity.plan.plan_capacity` needs."""

    name: str
    description: str
    origin: Origin
    horizon_years: SourcedValue
    start_quarter: str | None
    jobs: tuple[JobInputs, ...]
    services: tuple[ServiceInputs, ...]
    options: tuple[OptionInputs, ...]
    economics: Economics
    unsizable: tuple[tuple[str, InputError], ...] = ()
    """(name, reason at its workload field) of options whose power is not published: they are
    listed as excluded, never sized with a guessed power."""
