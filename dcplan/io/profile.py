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

from dcplan.io.jsonout import write_json
from dcplan.io.schema import build
from dcplan.io.yamlio import Located
from dcplan.profile.result import PROFILE_KIND, PROFILE_SCHEMA_VERSION, Profile, _show
from dcplan.profile.result import REQUIRED_CONFIG as _REQUIRED_CONFIG

#: Kept for callers of the old name; the rules live with the dataclasses (dcplan.profile.result).
REQUIRED_CONFIG: Mapping[str, tuple[str, ...]] = _REQUIRED_CONFIG


def profile_from_dict(data: Any, file: str) -> Profile:
    """Validate a parsed profile document and build its :class:`Profile`.

    One mechanism with every other input file (:func:`dcplan.io.schema.build`): the dataclasses
    of :mod:`dcplan.profile.result` say what each field accepts and check ranges in
    ``__post_init__``; the first bad field is an InputError naming it
    (``measurements[3].time_s.median: must be a finite number, got nan``).
    """
    doc = Located(data=data, file=file)
    if not isinstance(data, Mapping):
        raise doc.error((), f"must be a JSON object, got {_show(data)}")
    kind = data.get("kind")
    if kind != PROFILE_KIND:
        if kind == "dcplan-calibration":
            raise doc.error(("kind",), "is a calibration, not a profile (dcplan calibrate reads profiles from dcplan profile)")
        raise doc.error(("kind",), f"must be {PROFILE_KIND!r}, got {_show(kind)}")
    version = data.get("schema_version")
    if version != PROFILE_SCHEMA_VERSION:
        raise doc.error(("schema_version",), f"this dcplan reads profile version {PROFILE_SCHEMA_VERSION}, got {_show(version)}")
    for key in ("device", "environment", "measurements"):
        if key not in data:
            raise doc.error((key,), "missing")
    body = {k: v for k, v in data.items() if k != "kind"}
    body.setdefault("name", Path(file).stem)
    body.setdefault("created", "unknown")
    body.setdefault("settings", {})
    return build(Profile, body, doc)


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
