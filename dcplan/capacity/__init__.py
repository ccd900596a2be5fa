"""Capacity planning: from a workload to accelerators, racks, megawatts and dollars.

Data flow (one way): a workload YAML is parsed into specs (:mod:`.workload`), resolved against
the catalogs and the sourced cost defaults by the loaders (:mod:`.loaders`, the only I/O here),
then sized (:mod:`.sizing`), costed (:mod:`.tco`), laid out in time (:mod:`.timeline`) and
ranked (:mod:`.ranking`) by :func:`dcplan.capacity.plan.plan_capacity`, which returns a frozen
:class:`~dcplan.capacity.result.CapacityPlan`. Reports and the dashboard read that object.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plan_capacity", "load_plan_inputs", "CapacityPlan"]

_LAZY = {
    "plan_capacity": "dcplan.capacity.plan",
    "load_plan_inputs": "dcplan.capacity.loaders",
    "CapacityPlan": "dcplan.capacity.result",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dcplan.capacity' has no attribute {name!r}")
