"""A :class:`CapacityPlan` as flat tables (columns and rows), for CSV/Parquet export and reports.

Pure: the same numbers as ``CapacityPlan.to_dict()``, with nested objects flattened into
columns whose names carry their unit (``capex_accelerators_usd``, ``tco_electricity_usd_per_year``).
"""

from __future__ import annotations

from typing import Any

from dcplan.capacity.result import CapacityPlan

Table = tuple[list[str], list[list[Any]]]

_OPTION_SCALARS = (
    "hardware", "display_name", "calibration", "accelerators", "accelerators_training", "accelerators_serving", "nodes",
    "accelerators_per_node", "node_power_w", "racks", "nodes_per_rack", "rack_binding", "it_mw", "facility_mw",
    "it_energy_mwh_per_year", "energy_mwh_per_year", "capex_usd", "opex_usd_per_year", "tco_usd_per_year",
    "usd_per_accelerator_hour", "usd_per_mtok", "usd_per_mtok_total", "tco2e_per_year",
)


def _records(dicts: list[dict[str, Any]]) -> Table:
    if not dicts:
        return [], []
    cols = list(dicts[0])
    return cols, [[d.get(c) for c in cols] for d in dicts]


def options_table(plan: CapacityPlan) -> Table:
    rows = []
    for o in plan.options:
        d = {k: getattr(o, k) for k in _OPTION_SCALARS}
        d.update({f"capex_{k}_usd": v for k, v in o.capex_breakdown_usd.items()})
        d.update({f"tco_{k}_usd_per_year": v for k, v in o.tco_breakdown_usd_per_year.items()})
        r = o.rent_vs_own
        if r is not None:
            d.update({
                "cloud_usd_per_accelerator_hour": r.cloud_usd_per_accelerator_hour, "rent_usd_per_year": r.rent_usd_per_year,
                "used_accelerator_hours_per_year": r.used_accelerator_hours_per_year,
                "break_even_usd_per_accelerator_hour": r.break_even_usd_per_accelerator_hour,
                "break_even_utilization_frac": r.break_even_utilization_frac, "cheaper": r.cheaper,
            })
        rows.append(d)
    return _records(rows)


def training_jobs_table(plan: CapacityPlan) -> Table:
    rows = []
    for o in plan.options:
        for j in o.training_jobs:
            d = {"hardware": o.hardware, **j.to_dict()}
            d["layout"] = " ".join(f"{k}={v}" for k, v in j.layout.items())
            rows.append(d)
    return _records(rows)


def services_table(plan: CapacityPlan) -> Table:
    return _records([{"hardware": o.hardware, **s.to_dict()} for o in plan.options for s in o.services])


def plan_tables(plan: CapacityPlan) -> dict[str, Table]:
    """Every table of a plan by name: options, training_jobs, services, timeline, ranking, excluded, assumptions."""
    return {
        "options": options_table(plan),
        "training_jobs": training_jobs_table(plan),
        "services": services_table(plan),
        "timeline": _records([r.to_dict() for r in plan.timeline]),
        "ranking": _records([r.to_dict() for r in plan.ranking]),
        "excluded": _records([e.to_dict() for e in plan.excluded]) if plan.excluded else (["hardware", "field", "reason"], []),
        "assumptions": _records([a.to_dict() for a in plan.assumptions]),
    }
