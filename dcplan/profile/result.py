"""What a profile holds: typed, frozen measurements (plain Python, no torch).

A :class:`Profile` is what ``dcplan profile`` writes and ``dcplan calibrate`` reads. Its JSON
form is produced by :meth:`Profile.to_dict` and validated back by
:func:`dcplan.io.profile.profile_from_dict`; the keys are documented in
docs/profile-and-calibrate.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InputError

PROFILE_SCHEMA_VERSION = 1
PROFILE_KIND = "dcplan-profile"
MEASUREMENT_KINDS = ("gemm", "bandwidth", "launch", "attention", "train", "prefill", "decode", "seq2seq", "encoder", "collective")
#: Modes of an encoder measurement: a masked-LM train step, or a batch embedding forward.
ENCODER_MODES = ("train", "embed")
_MODEL_KEYS = ("d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "vocab_size", "batch")
#: Config keys every measurement of a kind must carry (whole numbers unless listed in CONFIG_TEXT).
REQUIRED_CONFIG: Mapping[str, tuple[str, ...]] = {
    "gemm": ("m", "n", "k", "precision"),
    "bandwidth": ("nbytes",),
    "launch": ("ops",),
    "attention": ("batch", "n_heads", "n_kv_heads", "seq_len", "d_head", "precision"),
    "train": _MODEL_KEYS + ("seq_len", "precision"),
    "prefill": _MODEL_KEYS + ("prompt_len", "precision"),
    "decode": _MODEL_KEYS + ("context_len", "precision"),
    "seq2seq": _MODEL_KEYS + ("n_encoder_layers", "src_len", "tgt_len", "mode", "precision"),
    "encoder": _MODEL_KEYS + ("seq_len", "mode", "precision"),
    "collective": ("op", "nbytes", "world_size", "backend"),
}
CONFIG_TEXT = ("precision", "mode", "op", "backend")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(name: str, value: Any, *, positive: bool) -> None:
    """InputError(name) unless ``value`` is None or a finite number > 0 (or >= 0)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(name, f"must be a finite number, got {_show(value)}")
    if value < 0 or (positive and value == 0):
        raise InputError(name, f"must be {'> 0' if positive else '>= 0'}, got {_show(value)}")


def _check_config(kind: str, config: Mapping[str, Any]) -> None:
    for key in REQUIRED_CONFIG[kind]:
        if key not in config:
            raise InputError(f"config.{key}", f"missing (a {kind} measurement needs {', '.join(REQUIRED_CONFIG[kind])})")
        value = config[key]
        if key in CONFIG_TEXT:
            if not isinstance(value, str) or not value:
                raise InputError(f"config.{key}", f"must be text, got {_show(value)}")
            continue
        _check_number(f"config.{key}", value, positive=key != "n_encoder_layers")
        if value != int(value):
            raise InputError(f"config.{key}", f"must be a whole number, got {_show(value)}")
    if kind == "encoder" and config["mode"] not in ENCODER_MODES:
        raise InputError("config.mode", f"must be one of {', '.join(ENCODER_MODES)} for an encoder measurement, got {_show(config['mode'])}")


@dataclass(frozen=True, kw_only=True)
class TimeStats:
    """Statistics of the repeated timings of one measured point [s]."""

    median: float
    """Median of all samples [s]."""
    iqr: float
    """Interquartile range of all samples [s]."""
    cv: float
    """Coefficient of variation std/mean of all samples [fraction]."""
    min: float
    max: float
    p90: float
    n: int
    """Number of samples (each the mean of ``inner`` back-to-back runs)."""
    estimate: float
    """The point's robust time: the minimum of the per-sweep medians of the sweeps without CPU
    contention [s] (performance-methods §4.2: on a shared machine this discards sweeps hit by
    other processes)."""
    sweep_medians: tuple[float, ...] = ()
    samples: tuple[float, ...] = ()
    inner: int = 1
    """Back-to-back runs per sample (raised for short operations so a sample lasts long enough)."""
    remeasured: bool = False
    """Extra sweeps were run because the dispersion stayed above the threshold."""
    unstable: bool = False
    """The dispersion was still above the threshold after re-measuring."""
    sweep_contention: tuple[float | None, ...] = ()
    """Share of each sweep's wall time during which some task waited for a CPU (Linux PSI)."""
    contended: bool = False
    """No sweep was free of CPU contention: the estimate is from contended sweeps."""
    block_states: tuple[Mapping[str, Any], ...] = ()
    """State each block ran in (aligned with ``sweep_medians``): ``host_probe_s`` (a fixed
    pure-Python loop timed before the block), and on GPUs the NVML clocks [MHz], temperature
    [C], power [W] and throttle reasons read after it."""
    states_differ: bool = False
    """The blocks ran in different states (clocks, throttle reasons or host speed): the point was
    remeasured; ``estimate`` is still the fastest clean block's median."""

    def __post_init__(self) -> None:
        for name in ("median", "min", "max", "p90", "estimate"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("iqr", "cv"):
            _check_number(name, getattr(self, name), positive=False)
        for name in ("n", "inner"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("sweep_medians", "samples"):
            for i, x in enumerate(getattr(self, name)):
                _check_number(f"{name}[{i}]", x, positive=True)
        for i, x in enumerate(self.sweep_contention):
            _check_number(f"sweep_contention[{i}]", x, positive=False)
        if self.min > self.median or self.median > self.max:
            raise InputError("median", f"must lie between min ({self.min:g}) and max ({self.max:g}), got {self.median:g}")

    @property
    def iqr_frac(self) -> float:
        return self.iqr / self.median if self.median > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "iqr": self.iqr,
            "cv": self.cv,
            "min": self.min,
            "max": self.max,
            "p90": self.p90,
            "n": self.n,
            "estimate": self.estimate,
            "sweep_medians": list(self.sweep_medians),
            "samples": list(self.samples),
            "inner": self.inner,
            "remeasured": self.remeasured,
            "unstable": self.unstable,
            "sweep_contention": list(self.sweep_contention),
            "contended": self.contended,
            "block_states": [dict(x) for x in self.block_states],
            "states_differ": self.states_differ,
        }


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One measured configuration."""

    id: str
    kind: str
    """gemm | bandwidth | launch | attention | train | prefill | decode | seq2seq | encoder | collective"""
    config: Mapping[str, Any]
    """What was run (shapes, precision, batch...); keys per kind in the docs."""
    fits: bool = True
    """False when the configuration ran out of memory (then ``time_s`` is None)."""
    error: str | None = None
    time_s: TimeStats | None = None
    flops: float | None = None
    """Model FLOPs of one timed operation, counted by dcplan.model.flops (causal-aware) [FLOP]."""
    flops_counter: float | None = None
    """torch.utils.flop_counter count of the same operation (MATH attention, no causal discount) [FLOP]."""
    flops_counter_causal_adjusted: float | None = None
    """``flops_counter`` with the masked half of causal attention removed [FLOP]."""
    tokens: float | None = None
    """Tokens processed by one timed operation (train/prefill: batch x seq; decode: batch)."""
    bytes: float | None = None
    """Bytes moved by one operation (bandwidth: read + write; collective: message per rank)."""
    peak_memory_bytes: float | None = None
    reserved_memory_bytes: float | None = None
    memory_method: str | None = None
    energy_j: float | None = None
    """Energy of one timed operation (NVML), None where not measurable."""
    power_w: float | None = None
    """Mean board power while this point was timed [W]."""
    device_state: Mapping[str, Any] | None = None
    """Clocks, temperature and throttle reasons sampled after timing (NVML)."""
    dispatch: Mapping[str, float] | None = None
    """What one operation dispatched (model points): ``ops``, ``gemm_ops``, ``attention_ops``,
    ``optimizer_ops``, ``other_ops``, ``embedding_backward_ops``, ``other_bytes``, ``embedding_backward_bytes``, ``saved_bytes``
    (:mod:`dcplan.profile.dispatch`); None where not counted."""

    def __post_init__(self) -> None:
        if self.kind not in MEASUREMENT_KINDS:
            raise InputError("kind", f"must be one of {', '.join(MEASUREMENT_KINDS)}, got {_show(self.kind)}")
        if self.fits and self.time_s is None:
            raise InputError("time_s", "missing (a measurement that fits must carry its times)")
        for name in ("flops", "flops_counter", "flops_counter_causal_adjusted", "tokens", "bytes", "peak_memory_bytes",
                     "reserved_memory_bytes", "energy_j", "power_w"):
            _check_number(name, getattr(self, name), positive=False)
        for key, value in (self.dispatch or {}).items():
            _check_number(f"dispatch.{key}", value, positive=False)
        _check_config(self.kind, self.config)

    @property
    def time(self) -> float:
        """The robust time of one operation [s] (``time_s.estimate``)."""
        if self.time_s is None:
            raise ValueError(f"{self.id} has no time (fits={self.fits})")
        return self.time_s.estimate

    @property
    def flops_per_s(self) -> float | None:
        return self.flops / self.time if (self.flops and self.time_s) else None

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.time if (self.tokens and self.time_s) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "config": dict(self.config),
            "fits": self.fits,
            "error": self.error,
            "time_s": self.time_s.to_dict() if self.time_s else None,
            "flops": self.flops,
            "flops_counter": self.flops_counter,
            "flops_counter_causal_adjusted": self.flops_counter_causal_adjusted,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "peak_memory_bytes": self.peak_memory_bytes,
            "reserved_memory_bytes": self.reserved_memory_bytes,
            "memory_method": self.memory_method,
            "energy_j": self.energy_j,
            "power_w": self.power_w,
            "device_state": dict(self.device_state) if self.device_state else None,
            "dispatch": dict(self.dispatch) if self.dispatch else None,
        }


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    """The device a profile measured."""

    type: str
    """cpu | cuda"""
    name: str
    """CPU model name or CUDA device name (as the driver reports it)."""
    count: int = 1
    """Devices of this kind on the host (GPUs) or logical CPUs."""
    index: int | None = None
    precision: str = "fp32"
    """Precision of the train/prefill/decode measurements."""
    threads: int | None = None
    """torch intra-op threads (CPU)."""
    memory_bytes: float | None = None
    """Device memory (GPU) or host RAM (CPU) [bytes]."""
    catalog_match: str | None = None
    """Catalog entry the device name matched (GPUs), else None."""
    peak_flops_per_s: Mapping[str, float] = field(default_factory=dict)
    """Dense peak per precision: catalog figures for a matched GPU, else empty [FLOP/s]."""

    def __post_init__(self) -> None:
        if self.type not in ("cpu", "cuda"):
            raise InputError("type", f"must be cpu or cuda, got {_show(self.type)}")
        _check_number("count", self.count, positive=True)
        _check_number("index", self.index, positive=False)
        _check_number("threads", self.threads, positive=True)
        _check_number("memory_bytes", self.memory_bytes, positive=False)
        for prec, value in self.peak_flops_per_s.items():
            _check_number(f"peak_flops_per_s.{prec}", value, positive=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "count": self.count,
            "index": self.index,
            "precision": self.precision,
            "threads": self.threads,
            "memory_bytes": self.memory_bytes,
            "catalog_match": self.catalog_match,
            "peak_flops_per_s": dict(self.peak_flops_per_s),
        }


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A hardware profile: what was measured on one device, and how."""

    name: str
    created: str
    """ISO 8601 UTC time the sweep started."""
    device: DeviceInfo
    environment: Mapping[str, Any]
    settings: Mapping[str, Any]
    measurements: tuple[Measurement, ...]
    partial: bool = False
    """True when the sweep was interrupted (Ctrl-C) and only finished points are saved."""
    partial_reason: str | None = None
    skipped: tuple[Mapping[str, Any], ...] = ()
    """Points not measured (time budget, interruption), with the reason."""
    wall_s: float | None = None
    notes: str | None = None
    """Where and how it was measured, in words (a shipped profile says which machine, driver,
    software and command); None for a profile as ``dcplan profile`` wrote it."""
    schema_version: int = PROFILE_SCHEMA_VERSION

    def of_kind(self, kind: str, *, fitted_only: bool = True) -> list[Measurement]:
        """Measurements of ``kind`` (only those that ran, by default)."""
        return [m for m in self.measurements if m.kind == kind and (m.fits and m.time_s is not None or not fitted_only)]

    def best_gemm_flops_per_s(self, precision: str) -> float | None:
        """Highest achieved FLOP/s over the GEMM points in ``precision`` [FLOP/s]."""
        rates = [m.flops_per_s for m in self.of_kind("gemm") if m.config.get("precision") == precision and m.flops_per_s]
        return max(rates) if rates else None

    def best_bandwidth_bytes_per_s(self) -> float | None:
        """Memory bandwidth: the best large-copy rate, bytes read + written per second [bytes/s].

        Only copies of at least a quarter of the largest size measured count, so that a copy
        that fits in a cache (4 MiB ran at 3x the DRAM rate on the 2-vCPU EPYC) does not pass for
        memory bandwidth.
        """
        pts = [m for m in self.of_kind("bandwidth") if m.bytes]
        if not pts:
            return None
        largest = max(m.bytes for m in pts)
        return max(m.bytes / m.time for m in pts if m.bytes >= largest / 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": PROFILE_KIND,
            "name": self.name,
            "created": self.created,
            "partial": self.partial,
            "partial_reason": self.partial_reason,
            "wall_s": self.wall_s,
            **({"notes": self.notes} if self.notes else {}),
            "device": self.device.to_dict(),
            "environment": dict(self.environment),
            "settings": dict(self.settings),
            "measurements": [m.to_dict() for m in self.measurements],
            "skipped": [dict(s) for s in self.skipped],
        }
