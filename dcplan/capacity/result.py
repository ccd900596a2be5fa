"""The typed result of a plan: :class:`CapacityPlan` and its parts (SI units and USD).

Reports and the dashboard read these objects; ``CapacityPlan.to_dict()`` is exactly the
``dcplan plan --json`` document (keys listed in docs/plan.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.capacity.tco import RentVsOwn


@dataclass(frozen=True, kw_only=True)
class PlanAssumption:
    """One number the plan used, with its unit, source and quality grade."""

    name: str
    value: Any
    unit: str
    source: str
    quality: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source, "quality": self.quality}


@dataclass(frozen=True, kw_only=True)
class JobPlan:
    """One training job on one option."""

    name: str
    model: str
    tokens: float
    runs_per_year: float
    deadline_days: float | None
    accelerators: int
    """Accelerators the job runs on."""
    training_days: float
    """Wall-clock days of one run (goodput losses included)."""
    accelerator_hours: float
    """Of one run."""
    mfu_frac: float
    layout: Mapping[str, Any]
    evaluations: int
    """Model evaluations the count search took."""
    cost_usd_owned: float
    """One run's accelerator-hours x the owner's cost per accelerator-hour (idle hours used at the target utilisation)."""
    cost_usd_owned_dedicated: float
    """One run's share (by accelerator-hours) of the training cluster's yearly TCO: the cluster does nothing else."""
    cost_usd_rented: float | None
    """Accelerator-hours x the cloud price (None without one)."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "layout": dict(self.layout)}


@dataclass(frozen=True, kw_only=True)
class ServicePlan:
    """One inference service on one option, sized for the design (horizon-end) peak."""

    name: str
    model: str
    precision: str
    average_requests_per_s: float
    """Today's daily average."""
    design_peak_output_tokens_per_s: float
    """Served tokens/s at the diurnal peak after the horizon's growth: output tokens, or the
    input tokens an embeddings service embeds."""
    tp: int
    replicas: int
    accelerators: int
    batch_size: int
    """Concurrent sequences per replica."""
    binding_limit: str
    """What stopped the batch growing: memory, ttft_slo, tpot_slo or max_batch."""
    ttft_s: float
    """Time to first token; for an embeddings service the time of one batched forward (its answer)."""
    tpot_s: float | None
    """Time per output token (None for an embeddings service: nothing is generated)."""
    ttft_target_s: float | None
    tpot_target_s: float | None
    output_tokens_per_s_per_replica: float
    output_tokens_per_year: float
    """Served in the design year (average demand after growth)."""
    usd_per_mtok: float
    """Owner's cost per million output tokens in the design year."""
    ep: int = 1
    """Expert-parallel size of a replica (mixture-of-experts models)."""
    stack: str | None = None
    """Serving stack the estimate ran on (None: a profile's calibration, or the pooled fallback)."""
    kind: str = "generate"
    """generate or embeddings (then the token figures count embedded input tokens, tpot_s is None)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, kw_only=True)
class OptionPlan:
    """Everything the workload needs on one hardware option, at the end of the horizon."""

    hardware: str
    display_name: str
    calibration: str
    accelerators: int
    """Installed (whole nodes), training and serving pools together."""
    accelerators_training: int
    accelerators_serving: int
    nodes: int
    accelerators_per_node: int
    node_power_w: float
    """Nameplate power of one node [W]."""
    racks: int
    nodes_per_rack: int
    rack_binding: str
    """'power' or 'space': the rack limit that binds."""
    it_mw: float
    """Critical IT power, nameplate [MW]."""
    facility_mw: float
    """IT power x PUE [MW]."""
    it_energy_mwh_per_year: float
    energy_mwh_per_year: float
    """Facility energy [MWh/year]."""
    capex_usd: float
    capex_breakdown_usd: Mapping[str, float]
    opex_usd_per_year: float
    opex_breakdown_usd_per_year: Mapping[str, float]
    tco_usd_per_year: float
    tco_breakdown_usd_per_year: Mapping[str, float]
    usd_per_accelerator_hour: float
    """TCO / (accelerators x 8,766 h x target utilisation)."""
    usd_per_mtok: float | None
    """Serving TCO per million output tokens (None without services)."""
    usd_per_mtok_total: float | None
    """Serving TCO per million input + output tokens."""
    training_days: Mapping[str, float]
    """Wall-clock days of one run of each training job."""
    tco2e_per_year: float
    training_jobs: tuple[JobPlan, ...] = ()
    services: tuple[ServicePlan, ...] = ()
    rent_vs_own: RentVsOwn | None = None
    serving_stack: Mapping[str, Any] | None = None
    """The serving stack of the option's services and the data it rests on (StackChoice.to_dict)."""
    warnings: tuple[str, ...] = ()
    """What the option's figures rest on weakly (no published serving result on this chip...)."""

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("training_jobs", "services", "rent_vs_own", "serving_stack", "warnings")}
        for key in ("capex_breakdown_usd", "opex_breakdown_usd_per_year", "tco_breakdown_usd_per_year", "training_days"):
            d[key] = dict(d[key])
        d["training_jobs"] = [j.to_dict() for j in self.training_jobs]
        d["services"] = [s.to_dict() for s in self.services]
        d["rent_vs_own"] = self.rent_vs_own.to_dict() if self.rent_vs_own else None
        d["serving_stack"] = dict(self.serving_stack) if self.serving_stack is not None else None
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True, kw_only=True)
class TimelineRow:
    """One quarter of one option: what is required, installed and added."""

    hardware: str
    quarter: str
    quarter_index: int
    serving_peak_output_tokens_per_s: float
    """Peak output tokens/s of all services at the quarter's end (after growth)."""
    required_accelerators: int
    required_training: int
    required_serving: int
    installed_accelerators: int
    added_accelerators: int
    installed_nodes: int
    added_nodes: int
    racks: int
    it_mw: float
    facility_mw: float
    capex_added_usd: float
    capex_cumulative_usd: float
    action: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, kw_only=True)
class RankEntry:
    """An option's place, and what decides it."""

    rank: int
    hardware: str
    tco_usd_per_year: float
    usd_per_mtok: float | None
    usd_per_accelerator_hour: float
    tco_vs_best_frac: float
    """TCO / best TCO - 1."""
    deciding_factor: str
    warnings: tuple[str, ...] = ()
    """The option's warnings (see OptionPlan.warnings), shown beside its rank."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "warnings": list(self.warnings)}


@dataclass(frozen=True, kw_only=True)
class Exclusion:
    """An option that cannot run the workload, and why."""

    hardware: str
    field: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, kw_only=True)
class CapacityPlan:
    """A workload planned on every hardware option: the input of reports and the dashboard."""

    workload: str
    description: str
    source_file: str
    horizon_years: int
    quarters: tuple[str, ...]
    options: tuple[OptionPlan, ...]
    timeline: tuple[TimelineRow, ...]
    ranking: tuple[RankEntry, ...]
    excluded: tuple[Exclusion, ...] = ()
    assumptions: tuple[PlanAssumption, ...] = field(default_factory=tuple)

    def option(self, hardware: str) -> OptionPlan:
        for o in self.options:
            if o.hardware == hardware:
                return o
        raise KeyError(hardware)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "description": self.description,
            "source_file": self.source_file,
            "horizon_years": self.horizon_years,
            "quarters": list(self.quarters),
            "options": [o.to_dict() for o in self.options],
            "timeline": [r.to_dict() for r in self.timeline],
            "ranking": [r.to_dict() for r in self.ranking],
            "excluded": [e.to_dict() for e in self.excluded],
            "assumptions": [a.to_dict() for a in self.assumptions],
        }
