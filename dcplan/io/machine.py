"""Which hardware a profile was measured on: a fingerprint from its device and environment.

Two profiles are of the same machine when the device (type, name, count), the host's core count,
the device memory and the torch build agree. The hostname is not part of it: machines are often
named alike (``vm``, ``localhost``) while their hardware differs. Memory is compared within a few
percent, because kernels and drivers reserve slightly different amounts across boots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

GIB = 2**30
MEMORY_TOLERANCE_FRAC = 0.03
"""Largest relative difference in memory still read as the same hardware."""


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    """What identifies the hardware and software a profile's numbers depend on."""

    device_type: str
    device_name: str
    device_count: int
    cpu_cores: int | None
    memory_bytes: float | None
    """Device memory: HBM for a GPU, host memory for a CPU [bytes]."""
    torch: str

    def describe(self) -> str:
        """'AMD EPYC (cpu, 2 cores, 24 GiB, torch 2.13.0+cpu)'."""
        mem = f"{self.memory_bytes / GIB:.0f} GiB" if self.memory_bytes else "memory unknown"
        what = f"{self.device_count}x {self.device_type}" if self.device_type != "cpu" else "cpu"
        cores = f"{self.cpu_cores} cores" if self.cpu_cores else "cores unknown"
        return f"{self.device_name} ({what}, {cores}, {mem}, torch {self.torch})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(device: Mapping[str, Any], environment: Mapping[str, Any]) -> Fingerprint:
    """The fingerprint of a profile from its ``device`` and ``environment`` records."""
    dtype = str(device.get("type") or "cpu")
    count = device.get("count")
    if dtype == "cpu":
        count = 1  # one host; its cores are cpu_cores
    return Fingerprint(
        device_type=dtype,
        device_name=str(device.get("name") or environment.get("cpu_model") or "unknown"),
        device_count=int(count or 1),
        cpu_cores=_int(environment.get("cpu_logical")),
        memory_bytes=_float(device.get("memory_bytes") if dtype != "cpu" else environment.get("host_memory_bytes") or device.get("memory_bytes")),
        torch=str(environment.get("torch") or "unknown"),
    )


def difference(here: Fingerprint, there: Fingerprint) -> str | None:
    """The first way ``there`` differs from ``here`` in words, or None when they are the same hardware."""
    for field, label in (("device_type", "device type"), ("device_name", "device"), ("device_count", "device count"),
                         ("cpu_cores", "core count"), ("torch", "torch build")):
        a, b = getattr(here, field), getattr(there, field)
        if a != b:
            return f"{label} {b} (this machine: {a})"
    a, b = here.memory_bytes, there.memory_bytes
    if a is None or b is None:
        return "memory not recorded"
    if abs(a - b) > MEMORY_TOLERANCE_FRAC * max(a, b):
        return f"memory {b / GIB:.0f} GiB (this machine: {a / GIB:.0f} GiB)"
    return None


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None
