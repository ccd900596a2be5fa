"""Time of collectives: the alpha-beta ring model with NCCL-tests bus-bandwidth factors.

t = steps·alpha + factor·S / (bw_frac·B), where B is the per-accelerator bandwidth per
direction, S the message bytes per rank and factor the NCCL-tests busbw factor
(``doc/PERFORMANCE.md``): all-reduce 2(n−1)/n, reduce-scatter / all-gather / all-to-all
(n−1)/n, send/recv 1. Ring latency steps: 2(n−1) for all-reduce (Thakur, Rabenseifner & Gropp
2005), n−1 otherwise. ``bw_frac`` is the achieved fraction of link bandwidth (Calculon's
efficiency: 0.65 NVLink, 0.9 InfiniBand for its A100 system).
"""

from __future__ import annotations

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
        raise InputError(
            field,
            f"this layout spans {span} accelerators, beyond one {hw.name} scale-up domain of {domain}, "
            f"and no scale-out bandwidth is published for {hw.name}",
        )
    return Link(
        bytes_per_s=hw.inter_node_bytes_per_s,
        alpha_s=cal.inter_alpha_s,
        bw_frac=cal.inter_bw_frac,
        name="scale-out",
    )
