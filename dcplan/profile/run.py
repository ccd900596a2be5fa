"""Profile this machine: set up the device, run the sweep (and the distributed part), build the Profile.

The one orchestrator of the profiler: the CLI (``dcplan profile``) parses arguments into a
:class:`ProfileRequest`, calls :func:`profile_device` and writes the :class:`Profile` it
returns. Nothing here prints or writes files.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from dcplan.errors import InputError
from dcplan.profile import distributed, environment, grids
from dcplan.profile.energy import EnergyMeter
from dcplan.profile.memory import MMAP_THRESHOLD_BYTES, set_mmap_threshold
from dcplan.profile.result import Measurement, Profile
from dcplan.profile.sweep import Progress, run_sweep
from dcplan.profile.workloads import DTYPES, Ctx, Point

PRECISION_CHOICES = ("auto", *DTYPES)
#: Implementations a profile can time (``--impl``).
IMPLS = ("native", "hf")
#: A CPU profile measures one core unless asked for more (``--threads``). On a shared machine a
#: single thread is what can be measured repeatably: with 2 threads on 2 vCPUs any other
#: runnable task stalls OpenMP barriers (100x outliers) and two quick sweeps agreed within 10 %
#: on 53-75 % of points, against 88 % with 1 thread (docs/benchmarks-profile.md). Several cores
#: are then several "accelerators" of one core each, which --nproc measures with gloo.
DEFAULT_CPU_THREADS = 1


@dataclass(frozen=True, kw_only=True)
class ProfileRequest:
    """What to measure and how."""

    device: str = "auto"
    sweep: str = "quick"
    time_budget_s: float | None = None
    precision: str = "auto"
    threads: int | None = None
    """torch intra-op threads on CPU; None: ``DEFAULT_CPU_THREADS``."""
    nproc: int = 1
    """> 1: also measure collectives and data-parallel scaling over nproc processes."""
    seed: int = 0
    name: str = "profile"
    count_flops: bool = True
    lock_clocks: bool = False
    """Pin GPU SM clocks at their maximum for the sweep (needs administrator rights; undone after)."""
    extra_points: Sequence[Point] = field(default_factory=tuple)
    """Points measured after the grid's (tests add an oversized one)."""
    command: str = ""
    impl: tuple[str, ...] = ("native",)
    """Implementations whose models are timed: ``native`` (dcplan's Transformer, the grid) and/or
    ``hf`` (transformers models, ``models``)."""
    models: Sequence[Any] = field(default_factory=tuple)
    """With ``hf``: the :class:`dcplan.profile.hf_points.HFModel` s to time."""


def _check(req: ProfileRequest) -> None:
    if req.sweep not in grids.SWEEPS:
        raise InputError("sweep", f"must be one of {', '.join(grids.SWEEPS)}, got {req.sweep!r}")
    if req.precision not in PRECISION_CHOICES:
        raise InputError("dtype", f"must be one of {', '.join(PRECISION_CHOICES)}, got {req.precision!r}")
    if req.time_budget_s is not None and not req.time_budget_s > 0:
        raise InputError("time-budget", f"must be > 0 seconds, got {req.time_budget_s!r}")
    if req.nproc < 1:
        raise InputError("nproc", f"must be >= 1, got {req.nproc}")
    if req.threads is not None and req.threads < 1:
        raise InputError("threads", f"must be >= 1, got {req.threads}")
    if not req.impl or set(req.impl) - set(IMPLS):
        raise InputError("impl", f"must be {', '.join(IMPLS)} or both (native,hf), got {','.join(req.impl) or 'nothing'}")
    if req.models and "hf" not in req.impl:
        raise InputError("models", "times transformers models: add --impl hf (the native sweep times its own grid)")


def _setup(req: ProfileRequest) -> tuple[torch.device, str, int]:
    device = environment.resolve_device(req.device)
    precision = environment.best_precision(device) if req.precision == "auto" else req.precision
    if device.type == "cpu" and precision == "fp16":
        raise InputError("dtype", "fp16 matmuls are not supported well on CPUs; use fp32 or bf16")
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise InputError("dtype", f"{torch.cuda.get_device_name(device)} does not support bf16; use fp16 or fp32")
    threads = req.threads or DEFAULT_CPU_THREADS
    set_mmap_threshold(MMAP_THRESHOLD_BYTES)  # the same allocator behaviour for every point
    if device.type == "cpu":
        torch.set_num_threads(threads)
    else:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.manual_seed(req.seed)
    return device, precision, torch.get_num_threads()


def profile_device(req: ProfileRequest, progress: Progress | None = None) -> Profile | None:
    """Measure this machine as ``req`` asks; None on non-zero torchrun ranks.

    Under torchrun (WORLD_SIZE > 1) every rank measures the collectives and data-parallel
    steps first; rank 0 then runs the single-device sweep alone. With ``nproc > 1`` outside
    torchrun, torchrun is launched for that part after the sweep.
    """
    _check(req)
    started = time.monotonic()
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    dist_found: list[Measurement] = []
    dist_error = None
    if distributed.under_torchrun():
        dev_type = environment.resolve_device(req.device).type
        prec = environment.best_precision(torch.device(dev_type)) if req.precision == "auto" else req.precision
        found = distributed.measure_all(req.sweep, dev_type, prec, req.seed)
        if found is None:
            return None
        dist_found = found
    device, precision, threads = _setup(req)
    energy = EnergyMeter(environment.nvml_index(device))
    env = environment.environment(device, energy.driver_version())
    budget = req.time_budget_s
    extra = list(req.extra_points) + _hf_points(req, precision, device.type)
    clocks = energy.lock_clocks() if req.lock_clocks and device.type == "cuda" else "not locked: recorded per block"
    try:
        outcome = run_sweep(grids.grid(req.sweep, device.type), Ctx(device, precision), budget_s=budget, energy=energy,
                            progress=progress, seed=req.seed, count_flops=req.count_flops, extra_points=extra,
                            group_memory_bytes=_group_memory(device), native_models="native" in req.impl)
    finally:
        energy.unlock_clocks()
    if req.nproc > 1 and not distributed.under_torchrun() and not outcome.partial:
        try:
            dist_found = distributed.launch(req.nproc, req.sweep, device.type, precision, req.seed)
        except (RuntimeError, OSError) as exc:
            dist_error = str(exc)
        except KeyboardInterrupt:
            outcome.partial, outcome.partial_reason = True, "interrupted"
    energy.close()
    env["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    env["energy_method"] = energy.method
    if dist_error:
        env["distributed_error"] = dist_error
    timing = outcome.timing
    settings = {
        "sweep": req.sweep,
        "time_budget_s": budget,
        "seed": req.seed,
        "threads": threads,
        "nproc": req.nproc,
        "sweeps": timing.sweeps if timing else None,
        "reps": timing.reps if timing else None,
        "threshold": timing.threshold if timing else None,
        "max_extra_sweeps": timing.max_extra_sweeps if timing else None,
        "warmup": grids.grid(req.sweep, device.type).warmup,
        "min_sample_s": grids.grid(req.sweep, device.type).min_sample_s,
        "count_flops": req.count_flops,
        "impl": list(req.impl),
        "models": [m.name for m in req.models] if "hf" in req.impl else [],
        "command": req.command,
        "time_statistic": "estimate = min of the medians of blocks without CPU contention (Linux PSI)",
        "clocks": clocks if device.type == "cuda" else None,
        "decode_impls": list(grids.grid(req.sweep, device.type).decode_impls),
        "contention_wait_s": outcome.contention_wait_s,
    }
    return Profile(
        name=req.name,
        created=created,
        device=environment.device_info(device, precision, threads),
        environment=env,
        settings=settings,
        measurements=tuple(outcome.measurements) + tuple(dist_found),
        partial=outcome.partial,
        partial_reason=outcome.partial_reason,
        skipped=tuple(outcome.skipped),
        wall_s=time.monotonic() - started,
    )


def _hf_points(req: ProfileRequest, precision: str, device_type: str) -> list[Point]:
    if "hf" not in req.impl:
        return []
    from dcplan.profile.hf_build import require_transformers
    from dcplan.profile.hf_points import build_hf_points

    require_transformers()
    return build_hf_points(list(req.models), grids.hf_sizes(req.sweep, device_type), precision, device_type,
                           twins="native" in req.impl)


def _group_memory(device: torch.device) -> float:
    """Analytical bytes a group of interleaved points may hold: a quarter of device memory, at most 16 GB."""
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
    else:
        total = environment.host_memory_bytes() or 8e9
    return min(0.25 * total, 16e9)
