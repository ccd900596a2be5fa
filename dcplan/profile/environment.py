"""The device and the environment a profile was measured in (torch, driver, host, load)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import sys
from typing import Any

import torch

from dcplan.profile.result import DeviceInfo


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (else platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def host_memory_bytes() -> float | None:
    try:
        import psutil

        return float(psutil.virtual_memory().total)
    except ImportError:
        return None


def physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def dcplan_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dcplan")
    except PackageNotFoundError:
        return "0+unknown"


def resolve_device(spec: str) -> torch.device:
    """``auto`` (a CUDA GPU if there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    from dcplan.errors import InputError

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        index = spec.partition(":")[2]
        if index and not index.isdigit():
            raise InputError("device", f"not a device: {spec!r}; use auto, cpu, cuda or cuda:N with N a GPU index from 0")
        if torch.version.cuda is None:
            raise InputError("device", f"{spec} asked for but this torch ({torch.__version__}) is built without CUDA; "
                                       "install a CUDA build of torch (README, GPUs) or use --device cpu")
        if not torch.cuda.is_available():
            raise InputError("device", f"{spec} asked for but torch {torch.__version__} sees no CUDA device (driver missing or "
                                       "CUDA_VISIBLE_DEVICES empty); use --device cpu")
        n = torch.cuda.device_count()
        if index and int(index) >= n:
            raise InputError("device", f"{spec}: no such GPU, {n} visible (cuda:0{f' to cuda:{n - 1}' if n > 1 else ''})")
        return torch.device(f"cuda:{int(index) if index else 0}")
    raise InputError("device", f"must be auto, cpu, cuda or cuda:N, got {spec!r}")


def best_precision(device: torch.device) -> str:
    """bf16 on GPUs that run it natively (Ampere and newer), fp16 on older GPUs, fp32 on CPUs."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def device_info(device: torch.device, precision: str, threads: int) -> DeviceInfo:
    """What the profile says about the measured device."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        from dcplan.io.profile import catalog_match

        match = catalog_match(props.name)
        peaks: dict[str, float] = {}
        if match:
            from dcplan.io.catalog import hardware_catalog

            peaks = {k: float(v) for k, v in hardware_catalog()[match].peak_flops_per_s.items()}
        return DeviceInfo(
            type="cuda",
            name=props.name,
            count=torch.cuda.device_count(),
            index=device.index or 0,
            precision=precision,
            threads=threads,
            memory_bytes=float(props.total_memory),
            catalog_match=match,
            peak_flops_per_s=peaks,
        )
    return DeviceInfo(
        type="cpu",
        name=cpu_model(),
        count=os.cpu_count() or 1,
        index=None,
        precision=precision,
        threads=threads,
        memory_bytes=host_memory_bytes(),
    )


def environment(device: torch.device, driver_version: str | None) -> dict[str, Any]:
    """Host, software and load at the time of the measurement."""
    env: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dcplan_version": dcplan_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "nvidia_driver": driver_version,
        "cpu_model": cpu_model(),
        "cpu_logical": os.cpu_count(),
        "cpu_physical": physical_cores(),
        "cpu_capability": _cpu_capability(),
        "host_memory_bytes": host_memory_bytes(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["gpu_name"] = props.name
        env["gpu_count"] = torch.cuda.device_count()
        env["gpu_memory_bytes"] = float(props.total_memory)
        env["gpu_compute_capability"] = f"{props.major}.{props.minor}"
        env["gpu_multiprocessors"] = props.multi_processor_count
    return env


def _cpu_capability() -> str | None:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        return None


def nvml_index(device: torch.device) -> int | None:
    """NVML's index of a CUDA device (CUDA_VISIBLE_DEVICES may renumber), else None."""
    if device.type != "cuda":
        return None
    try:
        return int(torch.cuda._get_nvml_device_index(device))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - private helper missing or NVML absent
        return device.index or 0
