"""Read, validate and write hardware profiles (what ``dcplan profile`` measures).

A profile is JSON with ``schema_version``, ``kind: "dcplan-profile"``, ``device``,
``environment``, ``settings`` and ``measurements`` (keys in docs/profile-and-calibrate.md).
Loading validates every field and stops at the first bad one with an
:class:`~dcplan.errors.InputError` naming it (``measurements[3].time_s.median: must be a
finite number > 0, got nan``); the CLI turns that into one line and exit status 2. Files are
written atomically (temporary file, fsync, link into place) and never overwrite an existing
profile.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.io.jsonout import write_json
from dcplan.io.yamlio import dotted
from dcplan.profile.result import (
    MEASUREMENT_KINDS,
    PROFILE_KIND,
    PROFILE_SCHEMA_VERSION,
    DeviceInfo,
    Measurement,
    Profile,
    TimeStats,
)

_MODEL_KEYS = ("d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "vocab_size", "batch")
#: Config keys every measurement of a kind must carry (whole numbers unless listed in _TEXT).
REQUIRED_CONFIG: Mapping[str, tuple[str, ...]] = {
    "gemm": ("m", "n", "k", "precision"),
    "bandwidth": ("nbytes",),
    "attention": ("batch", "n_heads", "n_kv_heads", "seq_len", "d_head", "precision"),
    "train": _MODEL_KEYS + ("seq_len", "precision"),
    "prefill": _MODEL_KEYS + ("prompt_len", "precision"),
    "decode": _MODEL_KEYS + ("context_len", "precision"),
    "seq2seq": _MODEL_KEYS + ("n_encoder_layers", "src_len", "tgt_len", "mode", "precision"),
    "collective": ("op", "nbytes", "world_size", "backend"),
}
_TEXT = {"precision", "mode", "op", "backend"}
_POSITIVE_TIMES = ("median", "min", "max", "p90", "estimate")


class _Doc:
    """Error construction for one file."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, path: tuple, message: str) -> InputError:
        return InputError(dotted(path), message, file=self.file)

    def mapping(self, value: Any, path: tuple) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"must be a JSON object, got {_show(value)}")
        return value

    def number(self, value: Any, path: tuple, *, positive: bool = False, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(path, f"must be a finite number, got {_show(value)}")
        if value < 0 or (positive and value == 0):
            raise self.error(path, f"must be {'> 0' if positive else '>= 0'}, got {_show(value)}")
        return float(value)

    def whole(self, value: Any, path: tuple, *, positive: bool = True) -> int:
        number = self.number(value, path, positive=positive)
        if number != int(number):
            raise self.error(path, f"must be a whole number, got {_show(value)}")
        return int(number)

    def text(self, value: Any, path: tuple, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(path, f"must be text, got {_show(value)}")
        return value

    def flag(self, value: Any, path: tuple) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"must be true or false, got {_show(value)}")
        return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _time_stats(doc: _Doc, raw: Any, path: tuple) -> TimeStats:
    t = doc.mapping(raw, path)
    for key in ("median", "iqr", "cv", "min", "max", "p90", "n", "estimate"):
        if key not in t:
            raise doc.error(path + (key,), "missing")
    values = {k: doc.number(t[k], path + (k,), positive=k in _POSITIVE_TIMES) for k in _POSITIVE_TIMES + ("iqr", "cv")}
    lists = {}
    for key in ("sweep_medians", "samples"):
        items = t.get(key, [])
        if not isinstance(items, list):
            raise doc.error(path + (key,), f"must be a list of seconds, got {_show(items)}")
        lists[key] = tuple(doc.number(x, path + (key, i), positive=True) for i, x in enumerate(items))
    if values["min"] > values["median"] or values["median"] > values["max"]:
        raise doc.error(path + ("median",), f"must lie between min ({values['min']:g}) and max ({values['max']:g}), got {values['median']:g}")
    return TimeStats(
        **values,  # type: ignore[arg-type]
        n=doc.whole(t["n"], path + ("n",)),
        sweep_medians=lists["sweep_medians"],
        samples=lists["samples"],
        inner=doc.whole(t.get("inner", 1), path + ("inner",)),
        remeasured=doc.flag(t.get("remeasured", False), path + ("remeasured",)),
        unstable=doc.flag(t.get("unstable", False), path + ("unstable",)),
        sweep_contention=_contention(doc, t.get("sweep_contention", []), path + ("sweep_contention",)),
        contended=doc.flag(t.get("contended", False), path + ("contended",)),
        block_states=_block_states(doc, t.get("block_states", []), path + ("block_states",)),
        states_differ=doc.flag(t.get("states_differ", False), path + ("states_differ",)),
    )


def _block_states(doc: _Doc, raw: Any, path: tuple) -> tuple[dict[str, Any], ...]:
    if not isinstance(raw, list):
        raise doc.error(path, f"must be a list of objects, got {_show(raw)}")
    return tuple(dict(doc.mapping(x, path + (i,))) for i, x in enumerate(raw))


def _contention(doc: _Doc, raw: Any, path: tuple) -> tuple[float | None, ...]:
    if not isinstance(raw, list):
        raise doc.error(path, f"must be a list of fractions, got {_show(raw)}")
    return tuple(doc.number(x, path + (i,), optional=True) for i, x in enumerate(raw))


def _config(doc: _Doc, kind: str, raw: Any, path: tuple) -> dict[str, Any]:
    cfg = dict(doc.mapping(raw, path))
    for key in REQUIRED_CONFIG[kind]:
        if key not in cfg:
            raise doc.error(path + (key,), f"missing (a {kind} measurement needs {', '.join(REQUIRED_CONFIG[kind])})")
        if key in _TEXT:
            doc.text(cfg[key], path + (key,))
        else:
            doc.whole(cfg[key], path + (key,), positive=key not in ("n_encoder_layers",))
    return cfg


def _measurement(doc: _Doc, raw: Any, path: tuple) -> Measurement:
    m = doc.mapping(raw, path)
    kind = m.get("kind")
    if kind not in MEASUREMENT_KINDS:
        raise doc.error(path + ("kind",), f"must be one of {', '.join(MEASUREMENT_KINDS)}, got {_show(kind)}")
    fits = doc.flag(m.get("fits", True), path + ("fits",))
    time_raw = m.get("time_s")
    if fits and time_raw is None:
        raise doc.error(path + ("time_s",), "missing (a measurement that fits must carry its times)")
    opt = {k: doc.number(m.get(k), path + (k,), optional=True) for k in (
        "flops", "flops_counter", "flops_counter_causal_adjusted", "tokens", "bytes", "peak_memory_bytes",
        "reserved_memory_bytes", "energy_j", "power_w")}
    state = m.get("device_state")
    return Measurement(
        id=doc.text(m.get("id"), path + ("id",)),
        kind=kind,
        config=_config(doc, kind, m.get("config"), path + ("config",)),
        fits=fits,
        error=doc.text(m.get("error"), path + ("error",), optional=True),
        time_s=_time_stats(doc, time_raw, path + ("time_s",)) if time_raw is not None else None,
        memory_method=doc.text(m.get("memory_method"), path + ("memory_method",), optional=True),
        device_state=dict(doc.mapping(state, path + ("device_state",))) if state is not None else None,
        **opt,  # type: ignore[arg-type]
    )


def _device(doc: _Doc, raw: Any) -> DeviceInfo:
    d = doc.mapping(raw, ("device",))
    if d.get("type") not in ("cpu", "cuda"):
        raise doc.error(("device", "type"), f"must be cpu or cuda, got {_show(d.get('type'))}")
    peaks = doc.mapping(d.get("peak_flops_per_s", {}), ("device", "peak_flops_per_s"))
    return DeviceInfo(
        type=d["type"],
        name=doc.text(d.get("name"), ("device", "name")),
        count=doc.whole(d.get("count", 1), ("device", "count")),
        index=doc.whole(d["index"], ("device", "index"), positive=False) if d.get("index") is not None else None,
        precision=doc.text(d.get("precision", "fp32"), ("device", "precision")),
        threads=doc.whole(d["threads"], ("device", "threads")) if d.get("threads") is not None else None,
        memory_bytes=doc.number(d.get("memory_bytes"), ("device", "memory_bytes"), optional=True),
        catalog_match=doc.text(d.get("catalog_match"), ("device", "catalog_match"), optional=True),
        peak_flops_per_s={k: doc.number(v, ("device", "peak_flops_per_s", k), positive=True) for k, v in peaks.items()},
    )


def profile_from_dict(data: Any, file: str) -> Profile:
    """Validate a parsed profile document and build its :class:`Profile`."""
    doc = _Doc(file)
    top = doc.mapping(data, ())
    kind = top.get("kind")
    if kind != PROFILE_KIND:
        if kind == "dcplan-calibration":
            raise doc.error(("kind",), "is a calibration, not a profile (dcplan calibrate reads profiles from dcplan profile)")
        raise doc.error(("kind",), f"must be {PROFILE_KIND!r}, got {_show(kind)}")
    version = top.get("schema_version")
    if version != PROFILE_SCHEMA_VERSION:
        raise doc.error(("schema_version",), f"this dcplan reads profile version {PROFILE_SCHEMA_VERSION}, got {_show(version)}")
    for key in ("device", "environment", "measurements"):
        if key not in top:
            raise doc.error((key,), "missing")
    raw = top["measurements"]
    if not isinstance(raw, list):
        raise doc.error(("measurements",), f"must be a list, got {_show(raw)}")
    measurements = tuple(_measurement(doc, m, ("measurements", i)) for i, m in enumerate(raw))
    skipped = top.get("skipped", [])
    if not isinstance(skipped, list):
        raise doc.error(("skipped",), f"must be a list, got {_show(skipped)}")
    return Profile(
        name=doc.text(top.get("name", Path(file).stem), ("name",)),
        created=doc.text(top.get("created", "unknown"), ("created",)),
        device=_device(doc, top["device"]),
        environment=dict(doc.mapping(top["environment"], ("environment",))),
        settings=dict(doc.mapping(top.get("settings", {}), ("settings",))),
        measurements=measurements,
        partial=doc.flag(top.get("partial", False), ("partial",)),
        partial_reason=doc.text(top.get("partial_reason"), ("partial_reason",), optional=True),
        skipped=tuple(dict(doc.mapping(s, ("skipped", i))) for i, s in enumerate(skipped)),
        wall_s=doc.number(top.get("wall_s"), ("wall_s",), optional=True),
        notes=doc.text(top.get("notes"), ("notes",), optional=True),
    )


def read_profile(path: str | Path) -> Profile:
    """Load and validate a profile written by ``dcplan profile``."""
    from dcplan.io.yamlio import read_json

    return profile_from_dict(read_json(path, "profile"), str(path))


def _strict(obj: Any) -> Any:
    """Refuse NaN/inf before writing (strict JSON has neither): they would not load back."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"non-finite number {obj!r} in a profile")
    if isinstance(obj, Mapping):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return obj


def write_profile(path: str | Path, profile: Profile) -> Path:
    """Write ``profile`` atomically to ``path``; an existing file is an InputError (never replaced)."""
    return write_json(path, _strict(profile.to_dict()), overwrite=False)


def slug(text: str) -> str:
    """Lowercase file-name-safe form: 'AMD EPYC 7B13' -> 'amd-epyc-7b13'."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "device"


def catalog_match(device_name: str) -> str | None:
    """The catalog accelerator a device name reported by the driver is, or None.

    Tries the name, without the vendor prefix, and without memory-type words
    (``NVIDIA H100 80GB HBM3`` -> ``h100-80gb``; ``NVIDIA H200`` -> ``nvidia-h200``), against every
    entry's name and aliases. No fuzzier guess: an unknown device is None.
    """
    from dcplan.io.catalog import hardware_catalog, normalise

    key = normalise(device_name)
    bare = key.removeprefix("nvidia-").removeprefix("amd-")
    no_mem = "-".join(t for t in bare.split("-") if not t.startswith(("hbm", "gddr")))
    candidates = {key, bare, no_mem}
    for name, spec in hardware_catalog().items():
        if candidates & {normalise(name), *(normalise(a) for a in spec.aliases)}:
            return name
    return None


def free_profile_path(out_dir: str | Path, name: str) -> Path:
    """``out_dir/name.json``, or ``name-2.json``, ``name-3.json``... if taken."""
    base = Path(out_dir)
    candidate = base / f"{name}.json"
    i = 2
    while candidate.exists():
        candidate = base / f"{name}-{i}.json"
        i += 1
    return candidate
