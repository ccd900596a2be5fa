"""Read and write calibration files (what ``dcplan calibrate`` produces from a profile).

A calibration file is JSON::

    {"schema_version": 1, "kind": "dcplan-calibration",
     "calibration": {<Calibration fields>, "device": {<HardwareSpec fields>} | null},
     "profile": {"path": ..., "device": ..., "created": ...},
     "heldout": {...}, "fit": {...}}

Loaders reject what they cannot read (wrong kind, newer schema) with a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dcplan.errors import InputError
from dcplan.io.schema import build
from dcplan.io.yamlio import Located
from dcplan.specs import Calibration

CALIBRATION_SCHEMA_VERSION = 1
CALIBRATION_KIND = "dcplan-calibration"


def _read_json(path: str | Path) -> Any:
    from dcplan.io.yamlio import read_json

    return read_json(path, "profile")


def calibration_from_dict(data: Any, file: str) -> Calibration:
    """Validate a calibration document and build its :class:`Calibration`."""
    doc = Located(data=data, file=file)
    if not isinstance(data, dict):
        raise doc.error((), "must be a JSON object")
    kind = data.get("kind")
    if kind != CALIBRATION_KIND:
        if kind == "dcplan-profile" or "measurements" in data:
            raise InputError("profile", f"is a raw profile, not a calibration: run `dcplan calibrate {file}` first", file=file)
        raise doc.error(("kind",), f"must be {CALIBRATION_KIND!r}, got {kind!r}")
    version = data.get("schema_version")
    if version != CALIBRATION_SCHEMA_VERSION:
        raise doc.error(("schema_version",), f"this dcplan reads version {CALIBRATION_SCHEMA_VERSION}, got {version!r}")
    if "calibration" not in data:
        raise doc.error(("calibration",), "missing")
    return build(Calibration, data["calibration"], doc, ("calibration",))


#: What ``--impl`` accepts and the implementation each word selects.
IMPLEMENTATION_CHOICES = {"native": "native", "hf": "hf eager", "hf-eager": "hf eager", "hf eager": "hf eager", "graphs": "graphs"}


def read_calibration(path: str | Path, implementation: str | None = None) -> Calibration:
    """Load a calibration written by ``dcplan calibrate`` (the one of ``implementation``, default native)."""
    data = _read_json(path)
    return select_calibration(data, str(path), implementation)


def select_calibration(data: Any, file: str, implementation: str | None = None) -> Calibration:
    """The calibration of ``implementation`` (native, hf/hf eager, graphs) in a calibration document.

    The one place an implementation is chosen: the document's main ``calibration`` describes
    the native implementation; ``implementations`` holds the others the profile timed. Asking for
    one the profile did not time is an InputError saying which it has.
    """
    native = calibration_from_dict(data, file)
    if implementation is None:
        return native
    want = IMPLEMENTATION_CHOICES.get(str(implementation).strip().lower())
    if want is None:
        raise InputError("impl", f"must be one of native, hf, graphs, got {implementation!r}")
    if want == (native.implementation or "native"):
        return native
    others = data.get("implementations") or {}
    if want not in others:
        have = ", ".join(["native", *others]) if native.implementation else "native"
        how = "profile with --impl hf on a CUDA GPU (decode with CUDA graphs is measured there)" if want == "graphs" else "profile with --impl native,hf"
        raise InputError("impl", f"{file} has no {want} calibration (it calibrates: {have}); {how} to add one")
    doc = Located(data=data, file=file)
    return build(Calibration, others[want], doc, ("implementations", want))


def calibration_to_dict(cal: Calibration) -> dict[str, Any]:
    """The ``calibration`` object of a calibration file (what :func:`calibration_from_dict` reads)."""
    import dataclasses

    return dataclasses.asdict(cal)


def write_calibration(path: str | Path, document: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write a calibration document atomically after checking that it loads back.

    ``document`` is the whole file (schema_version, kind, calibration, profile, heldout, fit).
    An existing file is kept unless ``overwrite``.
    """
    from dcplan.io.jsonout import write_json

    calibration_from_dict(json.loads(json.dumps(document)), str(path))
    return write_json(path, document, overwrite=overwrite)


def profile_of(doc: dict[str, Any]) -> Path | None:
    """The profile file a calibration document was fitted on, if it is still there and unchanged.

    The recorded path is tried as written and beside the calibration file; a recorded sha256
    must match (a profile edited since would not match its calibration).
    """
    import hashlib

    prof = doc.get("profile") or {}
    recorded = prof.get("path")
    if not recorded:
        return None
    here = Path(str(doc.get("path") or "")).parent
    for cand in (Path(recorded), here / Path(recorded).name):
        if cand.is_file():
            digest = prof.get("sha256")
            if digest and hashlib.sha256(cand.read_bytes()).hexdigest() != digest:
                continue
            return cand
    return None


def read_calibration_document(path: str | Path) -> dict[str, Any]:
    """A calibration file in full: ``calibration`` (a Calibration) plus its JSON (profile, heldout, fit)."""
    data = _read_json(path)
    cal = calibration_from_dict(data, str(path))
    return {**data, "calibration": cal, "path": str(path)}
