"""Quarter-by-quarter capacity: what demand requires, what is installed, and when to add what.

Policy (stated in every plan): capacity is installed at the start of a quarter to cover the
demand at its end (build one quarter ahead), in whole nodes, and never removed; the training
cluster is built in the first quarter. Racks, megawatts and capex follow the installed nodes,
the facility growing with its IT load.
"""

from __future__ import annotations

from typing import Callable

from dcplan.capacity.result import TimelineRow
from dcplan.capacity.sizing import RackFit, nodes_for, racks_for


def build_timeline(
    *,
    hardware: str,
    labels: list[str],
    training_accelerators: int,
    serving_required: Callable[[float], int],
    serving_peak: Callable[[float], float],
    accelerators_per_node: int,
    node_power_w: float,
    fit: RackFit,
    pue: float,
    capex_usd: Callable[[int, int, float], float],
) -> list[TimelineRow]:
    """One row per quarter.

    ``serving_required(years)`` gives the serving accelerators needed after ``years``,
    ``serving_peak(years)`` the peak output tokens/s then, ``capex_usd(accelerators, nodes, it_mw)``
    the capex of an installation.
    """
    rows: list[TimelineRow] = []
    nodes_prev, racks_prev, capex_prev = 0, 0, 0.0
    for q, label in enumerate(labels):
        years = (q + 1) / 4.0
        serving = serving_required(years)
        req_nodes = nodes_for(training_accelerators, accelerators_per_node) + nodes_for(serving, accelerators_per_node)
        nodes = max(nodes_prev, req_nodes)
        acc = nodes * accelerators_per_node
        racks = racks_for(nodes, fit)
        it_mw = nodes * node_power_w / 1e6
        capex_total = capex_usd(acc, nodes, it_mw)
        rows.append(TimelineRow(
            hardware=hardware, quarter=label, quarter_index=q, serving_peak_output_tokens_per_s=serving_peak(years),
            required_accelerators=training_accelerators + serving, required_training=training_accelerators,
            required_serving=serving, installed_accelerators=acc, added_accelerators=acc - nodes_prev * accelerators_per_node,
            installed_nodes=nodes, added_nodes=nodes - nodes_prev, racks=racks, it_mw=it_mw, facility_mw=it_mw * pue,
            capex_added_usd=capex_total - capex_prev, capex_cumulative_usd=capex_total,
            action=_action(q, nodes - nodes_prev, accelerators_per_node, racks - racks_prev, it_mw - nodes_prev * node_power_w / 1e6),
        ))
        nodes_prev, racks_prev, capex_prev = nodes, racks, capex_total
    return rows


def _action(q: int, added_nodes: int, per_node: int, added_racks: int, added_mw: float) -> str:
    if added_nodes == 0:
        return "no change"
    verb = "build" if q == 0 else "add"
    racks = f", {added_racks} rack{'s' if added_racks != 1 else ''}" if added_racks else ""
    return f"{verb} {added_nodes} node{'s' if added_nodes != 1 else ''} ({added_nodes * per_node} accelerators){racks}, +{added_mw:.3g} MW IT"
