"""Measured calibrations shipped for catalog accelerators, and the one choice of an accelerator's efficiencies.

dcplan ships hardware profiles measured with its own profiler in ``profiles/`` with the
calibration ``dcplan calibrate`` fitted on each (``NAME.json`` beside ``NAME.calibration.json``).
A calibration of a catalog accelerator (a GPU the catalog knows) is that accelerator's measured
calibration: :func:`calibration_for` picks it by default, and the shipped defaults
(data/efficiency/defaults.yaml, fitted on published runs) otherwise or when the user opts out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from dcplan.io.catalog import default_calibration
from dcplan.io.resources import shipped_profiles_dir
from dcplan.specs import Calibration


@dataclass(frozen=True, kw_only=True)
class MeasuredCalibration:
    """A shipped calibration fitted on a profile of a catalog accelerator."""

    hardware: str
    calibration: Calibration
    path: Path
    """The calibration file."""
    profile_path: Path
    """The profile it was fitted on."""
    profile_name: str
    created: str
    """When the profile was measured (ISO 8601)."""
    device: str
    """The device as its driver named it."""
    precision: str
    notes: str
    """Where and how it was measured, in words (the profile's ``notes``)."""
    heldout: Mapping[str, Any]
    """Held-out errors per kind, as ``dcplan calibrate`` wrote them."""
    document: Mapping[str, Any]
    """The calibration file in full (read_calibration_document), profile path made absolute."""

    def describe(self) -> str:
        """One line: which profile, when, what device and precision."""
        return f"measured profile {self.profile_name} ({self.device}, {self.precision}, {self.created[:10]})"


def _notes(profile_path: Path) -> str:
    from dcplan.io.yamlio import read_json

    if not profile_path.exists():
        return ""
    data = read_json(profile_path, "profile")
    return str(data.get("notes") or "") if isinstance(data, dict) else ""


@functools.cache
def measured_calibrations() -> Mapping[str, MeasuredCalibration]:
    """Catalog accelerator name -> its shipped measured calibration (the first file by name wins)."""
    from dcplan.io.calibration import read_calibration_document

    folder = shipped_profiles_dir()
    out: dict[str, MeasuredCalibration] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.calibration.json")):
        doc = read_calibration_document(path)
        cal: Calibration = doc["calibration"]
        if not cal.hardware or cal.hardware in out:
            continue
        prof = dict(doc.get("profile") or {})
        profile_path = folder / Path(str(prof.get("path", ""))).name
        prof["path"] = str(profile_path)
        prof["notes"] = _notes(profile_path)
        device = prof.get("device") or {}
        out[cal.hardware] = MeasuredCalibration(
            hardware=cal.hardware, calibration=cal, path=path, profile_path=profile_path,
            profile_name=str(prof.get("name", path.stem)), created=str(prof.get("created", "")),
            device=str(device.get("name", cal.hardware)) if isinstance(device, dict) else str(device),
            precision=str(prof.get("precision", "")), notes=prof["notes"],
            heldout=dict(doc.get("heldout") or {}), document={**doc, "profile": prof},
        )
    return out


@dataclass(frozen=True, kw_only=True)
class CalibrationChoice:
    """The efficiencies an estimate of one accelerator uses, and why."""

    calibration: Calibration
    measured: MeasuredCalibration | None
    """The shipped measured calibration used, or None (shipped defaults)."""
    reason: str
    """One line saying which was used and why."""


def calibration_for(hardware: str, *, measured: bool = True) -> CalibrationChoice:
    """The efficiencies of catalog accelerator ``hardware``: its shipped measured calibration when
    there is one and ``measured`` is True, else the shipped defaults (fitted on published runs).

    The one selection function: estimates, plans, reports and the dashboard call it.
    """
    found = measured_calibrations().get(hardware)
    if found is not None and measured:
        return CalibrationChoice(calibration=found.calibration, measured=found,
                                 reason=f"{found.describe()}: fitted efficiencies (opt out: --no-measured)")
    why = "opted out of its measured profile" if found is not None else "no measured profile shipped"
    return CalibrationChoice(calibration=default_calibration(hardware), measured=None,
                             reason=f"shipped defaults fitted on published runs ({why})")
