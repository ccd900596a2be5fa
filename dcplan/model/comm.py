"""Time of collectives: the alpha-beta ring model with NCCL-tests bus-bandwidth factors.

t = steps·alpha + factor·S / (bw_frac·B), where B is the per-accelerator bandwidth per
direction, S the message bytes per rank and factor the NCCL-tests busbw factor
(``doc/PERFORMANCE.md``): all-reduce 2(n−1)/n, reduce-scatter / all-gather / all-to-all
(n−1)/n, send/recv 1. Ring latency steps: 2(n−1) for all-reduce (Thakur, Rabenseifner & Gropp
2005), n−1 otherwise. ``bw_frac`` is the achieved fraction of link bandwidth (Calculon's
efficiency: 0.6 NVLink, 0.9 InfiniBand, the defaults in :mod:`dcplan.specs`); a system whose
fabric has its own published latency or efficiency (``data/systems``) overrides them.

Expert all-to-all (:func:`expert_all_to_all_time`) is split by link: the copies of a token
that go to other nodes cross the scale-out network, the rest NVLink, and the two run
concurrently (DeepEP / DeepSeek-V3 §3.2.2), so the slower of the two sets the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dcplan.errors import InputError
from dcplan.specs import Calibration, HardwareSpec

_FACTOR = {
    "all_reduce": lambda n: 2.0 * (n - 1) / n,
    "reduce_scatter": lambda n: (n - 1) / n,
    "all_gather": lambda n: (n - 1) / n,
    "all_to_all": lambda n: (n - 1) / n,
    "send_recv": lambda n: 1.0,
}
_STEPS = {
    "all_reduce": lambda n: 2 * (n - 1),
    "reduce_scatter": lambda n: n - 1,
    "all_gather": lambda n: n - 1,
    "all_to_all": lambda n: n - 1,
    "send_recv": lambda n: 1,
}
COLLECTIVES = tuple(_FACTOR)


@dataclass(frozen=True, kw_only=True)
class Link:
    """The fabric a group communicates over."""

    bytes_per_s: float
    """Per-accelerator bandwidth per direction [bytes/s]."""
    alpha_s: float
    """Latency per ring step [s]."""
    bw_frac: float
    """Achieved fraction of ``bytes_per_s``."""
    name: str


def bus_factor(collective: str, n: int) -> float:
    """NCCL-tests busbw factor of ``collective`` over n ranks."""
    return _FACTOR[collective](n)


def collective_time(collective: str, message_bytes: float, n: int, link: Link) -> float:
    """Seconds for one ``collective`` of ``message_bytes`` per rank over ``n`` ranks [s]."""
    if n <= 1 or message_bytes <= 0:
        return 0.0
    steps = _STEPS[collective](n)
    return steps * link.alpha_s + bus_factor(collective, n) * message_bytes / (link.bw_frac * link.bytes_per_s)


def group_link(hw: HardwareSpec, cal: Calibration, *, span: int, field: str) -> Link:
    """The link a group of consecutive ranks spanning ``span`` accelerators uses.

    Groups that fit inside one scale-up domain (NVLink / ICI) use it; larger ones use the
    scale-out network. ``field`` names the layout field for the error when the catalog has no
    figure for the fabric needed.
    """
    domain = hw.scale_up_domain or hw.accelerators_per_node or 1
    if span <= domain and hw.intra_node_bytes_per_s:
        return Link(
            bytes_per_s=hw.intra_node_bytes_per_s,
            alpha_s=cal.intra_alpha_s,
            bw_frac=cal.intra_bw_frac,
            name="scale-up",
        )
    if span <= domain and hw.intra_node_bytes_per_s is None and hw.inter_node_bytes_per_s is None:
        raise InputError(field, f"{hw.name} has no published interconnect bandwidth; use a layout with {field}=1")
    if hw.inter_node_bytes_per_s is None:
        where = f"{hw.name} in {hw.system}" if hw.system else hw.name
        raise InputError(
            field,
            f"this layout spans {span} accelerators, beyond one {hw.name} scale-up domain of {domain}, "
            f"and no scale-out bandwidth is published for {where}; use at most {domain} accelerators",
        )
    return Link(
        bytes_per_s=hw.inter_node_bytes_per_s,
        alpha_s=hw.inter_node_alpha_s if hw.inter_node_alpha_s is not None else cal.inter_alpha_s,
        bw_frac=hw.inter_node_bw_frac if hw.inter_node_bw_frac is not None else cal.inter_bw_frac,
        name="scale-out",
    )


def node_size(hw: HardwareSpec) -> int:
    """Accelerators per scale-up domain (the NVLink island a group can stay inside)."""
    return int(hw.scale_up_domain or hw.accelerators_per_node or 1)


def remote_copies(top_k: int, n_nodes: int, node_limit: int | None) -> float:
    """Expected copies of one token sent to other nodes at dispatch [copies].

    Without a node limit, each of the top_k experts sits on a uniformly random one of
    ``n_nodes`` nodes and every expert gets its own copy: top_k·(n−1)/n cross the network.
    With node-limited routing (DeepSeek-V3 §3.2.2: a token goes to at most M nodes, once per
    node, then NVLink forwards it to the experts there) at most min(M, n)·(n−1)/n copies cross.
    """
    if n_nodes <= 1:
        return 0.0
    share = (n_nodes - 1) / n_nodes
    if node_limit is None:
        return top_k * share
    return min(node_limit, n_nodes, top_k) * share


def expert_all_to_all_time(tokens: float, elem_bytes: float, d_model: int, top_k: int, ep: int, span: int,
                           hw: HardwareSpec, cal: Calibration, *, node_limit: int | None) -> float:
    """Seconds for one dispatch (or combine) all-to-all of ``tokens`` tokens per rank [s].

    ``span`` is how many consecutive accelerators the expert-parallel group covers (ep x the
    ranks inside it); ``elem_bytes`` the bytes per hidden element (1 for FP8 dispatch, 2 for
    BF16). Copies to experts on the same rank cost nothing; copies within the node use the
    scale-up link; remote copies the scale-out link, concurrently.
    """
    if ep <= 1 or tokens <= 0:
        return 0.0
    per_node = node_size(hw)
    n_nodes = max(1, math.ceil(span / per_node))
    ranks_per_node = max(1, ep // n_nodes)
    token_bytes = d_model * elem_bytes
    remote = remote_copies(top_k, n_nodes, node_limit) * tokens * token_bytes
    # copies to the other ranks of this node; with node-limited routing the copies that arrived
    # over the network are also forwarded on NVLink to the experts of the node
    in_node = (ranks_per_node - 1) / (ranks_per_node if node_limit is not None else ep)
    local = top_k * in_node * tokens * token_bytes
    t = 0.0
    if remote > 0:
        net = group_link(hw, cal, span=per_node + 1, field="ep")
        t = max(t, (n_nodes - 1) * net.alpha_s + remote / (net.bw_frac * net.bytes_per_s))
    if local > 0:
        nvl = group_link(hw, cal, span=min(span, per_node), field="ep")
        t = max(t, (ranks_per_node - 1) * nvl.alpha_s + local / (nvl.bw_frac * nvl.bytes_per_s))
    return t
