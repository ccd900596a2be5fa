"""A calibration file read back as a :class:`ProfileCalibration`, without fitting anything again.

``dcplan calibrate`` records the fitted parameters, every measurement's calibrated and
roofline predictions, the held-out statistics and (since the held-out points were added to the
file) each held-out prediction. The report and the dashboard draw their accuracy charts from
that record and the profile it names, so a run's calibration is shown exactly as it was made
and in milliseconds, instead of being refitted (seconds, and possibly different numbers).
"""

from __future__ import annotations

from typing import Any, Mapping

from dcplan.calibrate.device import device_for
from dcplan.calibrate.heldout import HeldoutPoint, KindHeldout
from dcplan.calibrate.profile_fit import GemmPoint, PointPrediction, ProfileCalibration
from dcplan.errors import InputError
from dcplan.profile.result import Profile


def heldout_points_dict(pc: ProfileCalibration) -> dict[str, list[dict[str, Any]]]:
    """The held-out predictions of ``pc`` by kind, as the calibration file stores them."""
    return {k: [{"id": p.id, "measured": p.measured, "predicted": p.predicted, "split": p.split} for p in h.points]
            for k, h in pc.heldout.items()}


def _heldout(doc: Mapping[str, Any]) -> dict[str, KindHeldout]:
    points = doc.get("heldout_points") or {}
    out = {}
    for kind, d in (doc.get("heldout") or {}).items():
        if not isinstance(d, Mapping):
            continue
        loo = {k: v for k, v in d.items() if k != "extrapolation"}
        pts = tuple(HeldoutPoint(id=str(p["id"]), measured=float(p["measured"]), predicted=float(p["predicted"]), split=str(p["split"]))
                    for p in points.get(kind, ()))
        out[kind] = KindHeldout(kind=kind, loo=loo, largest=dict(d.get("extrapolation") or {}), points=pts)
    return out


def from_document(doc: Mapping[str, Any], profile: Profile, profile_path: str = "") -> ProfileCalibration:
    """The ProfileCalibration recorded in a calibration file (``doc`` as read by
    :func:`dcplan.io.calibration.read_calibration_document`) for the ``profile`` it was fitted on."""
    hw, in_catalog = device_for(profile)
    precision = str((doc.get("profile") or {}).get("precision") or profile.device.precision)
    by_id = {m.id: m for m in profile.measurements}
    preds = []
    for p in doc.get("predictions") or ():
        m = by_id.get(p.get("id"))
        if m is None:
            raise InputError("profile", f"measurement {p.get('id')!r} of the calibration is not in profile {profile.name}: not the profile it was fitted on")
        preds.append(PointPrediction(id=m.id, kind=str(p["kind"]), quantity=str(p["quantity"]), size=float(p["size"]),
                                     measured=float(p["measured"]), predicted=float(p["predicted"]), roofline=float(p["roofline"]),
                                     config=m.config))
    peak = hw.peak(precision)
    gemm = tuple(GemmPoint(flops=m.flops, time_s=m.time, eta=m.flops / (m.time * peak))
                 for m in profile.of_kind("gemm") if m.config.get("precision") == precision)
    return ProfileCalibration(calibration=doc["calibration"], hardware=hw, catalog_entry=in_catalog, profile=profile,
                              profile_path=profile_path, fits={}, collectives=(), power=None, heldout=_heldout(doc),
                              predictions=tuple(preds), gemm=gemm, precision=precision)
