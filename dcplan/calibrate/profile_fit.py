"""Calibrate dcplan's model on one hardware profile: fits, held-out accuracy, predictions.

:func:`calibrate_profile` takes a :class:`~dcplan.profile.result.Profile` and returns a
:class:`ProfileCalibration`: the fitted :class:`~dcplan.specs.Calibration` (with the device
spec for hardware not in the catalog), every fit's residuals, held-out accuracy per kind and,
for every measurement, the calibrated prediction beside the uncalibrated roofline. Pure: the
CLI reads the profile and writes the calibration file.

Parameters nothing in the profile measures (network links, goodput, site) keep the shipped
defaults (data/efficiency/defaults.yaml), with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from dcplan.calibrate import fit as FT
from dcplan.calibrate import heldout as H
from dcplan.calibrate import implementation as IM
from dcplan.calibrate.device import device_for
from dcplan.calibrate.predict import SPEED_OF_LIGHT, TIME_KINDS, Case, case, implementation_of, predict_memory, predict_time
from dcplan.errors import InputError
from dcplan.io.catalog import default_calibration
from dcplan.profile.result import Measurement, Profile
from dcplan.specs import Calibration, HardwareSpec

HELDOUT_KINDS = ("train", "prefill", "decode", "seq2seq", "encoder", "memory")
#: Alternations of the prefill and decode fits.
ROUNDS = 2


@dataclass(frozen=True, kw_only=True)
class PointPrediction:
    """One measurement with the calibrated (in-sample) and roofline predictions."""

    id: str
    kind: str
    quantity: str
    """time_s or memory_bytes"""
    size: float
    """FLOPs (time) or analytical bytes (memory)."""
    measured: float
    predicted: float
    roofline: float
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.predicted / self.measured

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "quantity": self.quantity, "size": self.size, "measured": self.measured,
                "predicted": self.predicted, "roofline": self.roofline, "ape_pct": 100 * abs(self.ratio - 1)}


@dataclass(frozen=True, kw_only=True)
class GemmPoint:
    flops: float
    time_s: float
    eta: float
    """Measured efficiency: F/(t·peak)."""


@dataclass(frozen=True, kw_only=True)
class ProfileCalibration:
    """Everything ``dcplan calibrate`` learns from one profile."""

    calibration: Calibration
    hardware: HardwareSpec
    catalog_entry: bool
    profile: Profile
    profile_path: str
    fits: Mapping[str, FT.Fitted]
    collectives: tuple[FT.CollectiveFit, ...]
    power: FT.PowerFit | None
    heldout: Mapping[str, H.KindHeldout]
    predictions: tuple[PointPrediction, ...]
    gemm: tuple[GemmPoint, ...]
    precision: str
    implementations: Mapping[str, Calibration] = field(default_factory=dict)
    """Calibrations of the other implementations the profile timed (``hf eager``, ``graphs``)."""
    heldout_hf: Mapping[str, Any] | None = None
    """hf points predicted by the native fit (``dcplan.calibrate.implementation``), or None."""

    def heldout_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v.to_dict() for k, v in self.heldout.items()}
        if self.heldout_hf is not None:
            out["hf"] = {k: v for k, v in self.heldout_hf.items() if k != "points"}
        return out


def _time_cases(profile: Profile, kind: str, implementation: str = "native") -> list[Case]:
    """Single-device measurements of ``kind`` by ``implementation`` that ran (distributed steps excluded)."""
    return [case(m) for m in profile.of_kind(kind) if int(m.config.get("world_size", 1)) == 1 and implementation_of(m) == implementation]


def _memory_cases(profile: Profile, implementation: str = "native") -> list[Case]:
    return [case(m) for k in TIME_KINDS for m in profile.of_kind(k)
            if m.peak_memory_bytes and int(m.config.get("world_size", 1)) == 1 and implementation_of(m) == implementation]


def _check_times(profile: Profile) -> None:
    for m in profile.measurements:
        if m.fits and m.time_s is not None and not (np.isfinite(m.time) and m.time > 0):
            raise InputError(f"measurements[{m.id}].time_s", f"must be a finite time > 0, got {m.time!r}")


def _base(hw: HardwareSpec, catalog: bool) -> Calibration:
    return default_calibration(hw.name) if catalog else default_calibration()


def _source(profile: Profile, path: str, what: str, fitted: FT.Fitted) -> str:
    ape = fitted.ape_pct()
    return (f"fit: {what} on profile {profile.name} ({path}, {profile.created}, {profile.device.name}); "
            f"{fitted.n} points, in-sample median APE {np.median(ape):.1f} %")


def _fit_all(profile: Profile, path: str, hw: HardwareSpec, base: Calibration, precision: str) -> tuple[Calibration, dict, dict]:
    """Fit every group in order; (calibration, fits, cases by kind)."""
    peak = hw.peak(precision)
    gemm_pts = [m for m in profile.of_kind("gemm") if m.config.get("precision") == precision]
    curve, gemm_fit = FT.fit_gemm(gemm_pts, peak, hill=True)
    _, gemm_plain = FT.fit_gemm(gemm_pts, peak, hill=False)
    cal = with_host_overlap(replace(base, gemm=curve), profile.device.type)
    cases = {k: _time_cases(profile, k) for k in TIME_KINDS}
    cases["memory"] = _memory_cases(profile)
    s2s_train, s2s_gen = seq2seq_modes(cases["seq2seq"])
    for kind, extra in (("train", s2s_train), ("prefill", [])):  # decode checks its own, by implementations
        FT.need(kind, len(cases[kind]) + len(extra))
    for _ in range(ROUNDS):  # a prefill's weight-read bound uses the decode bandwidth
        cal, prefill_fit = FT.fit_phase("prefill", cases["prefill"], hw, cal)
        cal, decode_fit = FT.fit_decode(cases["decode"] + s2s_gen, hw, cal, **decode_options(profile.device.type))
    # its optimizer step reads at the decode bandwidth
    cal, train_fit = FT.fit_phase("train", cases["train"] + s2s_train, hw, cal)
    cal, memory_fit = FT.fit_memory(cases["memory"], hw, cal)
    fits = {"gemm": gemm_fit, "gemm_saturating": gemm_plain, "decode": decode_fit, "train": train_fit,
            "prefill": prefill_fit, "memory": memory_fit}
    sources = dict(base.sources)
    sources["gemm"] = _source(profile, path, f"{precision} GEMM efficiency vs FLOPs, {gemm_fit.form}", gemm_fit)
    for name in ("decode_bw_frac", "decode_dispatch", "decode_compute"):
        sources[name] = _source(profile, path, "decode steps (bandwidth fraction, host dispatch per implementation, compute vs tokens per step)", decode_fit)
    sources["train"] = _source(profile, path, "train steps relative to the GEMM ceiling", train_fit)
    sources["optimizer_bytes_factor"] = _source(profile, path, "train steps (optimizer step traffic)", train_fit)
    sources["embedding_grad_passes"] = _source(profile, path, "train steps (dense embedding gradient)", train_fit)
    sources["prefill"] = _source(profile, path, "prefills relative to the GEMM ceiling", prefill_fit)
    for name in ("memory_factor", "memory_constant_bytes", "memory_activation_factor", "memory_logits_factor"):
        sources[name] = _source(profile, path, "peak memory over analytical bytes", memory_fit)
    return replace(cal, sources=sources), fits, cases


def with_host_overlap(cal: Calibration, device_type: str) -> Calibration:
    """Train and prefill curves whose overheads (host dispatch) overlap device work as the device allows."""
    o = FT.host_overlap(device_type)
    return replace(cal, train=replace(cal.train, host_overlap_frac=o), prefill=replace(cal.prefill, host_overlap_frac=o))


def default_decode_impl(device_type: str) -> str:
    """Implementation estimates with this calibration assume: CUDA graphs on GPUs (as serving
    engines run decode), eager on CPUs (no graphs there)."""
    return "cuda-graphs" if device_type == "cuda" else "eager"


def decode_options(device_type: str) -> dict[str, Any]:
    """How decode is fitted on a device type: host overlap, and whether decode has its own compute curve."""
    return {"overlap": FT.host_overlap(device_type), "compute_curve": device_type != "cuda"}


def _with_collectives(cal: Calibration, hw: HardwareSpec, colls: Sequence[FT.CollectiveFit], profile: Profile, path: str) -> Calibration:
    ar = [c for c in colls if c.op == "all_reduce"]
    if not ar or not hw.intra_node_bytes_per_s:
        return cal
    c = ar[0]
    sources = {**cal.sources, "intra_alpha_s": f"fit: all-reduce alpha over {c.world_size} ranks, profile {profile.name} ({path})",
               "intra_bw_frac": f"fit: all-reduce bus bandwidth / scale-up bandwidth, profile {profile.name} ({path})"}
    return replace(cal, intra_alpha_s=c.alpha_s, intra_bw_frac=min(1.0, c.bus_bytes_per_s / hw.intra_node_bytes_per_s), sources=sources)


def _with_power(cal: Calibration, power: FT.PowerFit | None, profile: Profile) -> Calibration:
    if power is None:
        return cal
    changes: dict[str, Any] = {}
    sources = dict(cal.sources)
    if power.train_load_frac:
        changes["train_load_frac"] = power.train_load_frac
        sources["train_load_frac"] = f"measured: median NVML power / TDP over {power.n_train} training points, profile {profile.name}"
    if power.infer_load_frac:
        changes["infer_load_frac"] = power.infer_load_frac
        sources["infer_load_frac"] = f"measured: median NVML power / TDP over {power.n_infer} serving points, profile {profile.name}"
    return replace(cal, **changes, sources=sources)


def seq2seq_modes(cases: Sequence[Case]) -> tuple[list[Case], list[Case]]:
    """(train-mode, generate-mode) seq2seq points: they join the train and decode fits.

    An encoder-decoder step is predicted from the same terms as decoder-only ones
    (:mod:`dcplan.model.seq2seq`), so its points inform those terms: train steps the train
    curve, generations the decode bandwidth and host dispatch (their decoder layers launch more
    kernels, which is what separates per-kernel from per-step dispatch).
    """
    return [c for c in cases if c.cfg["mode"] == "train"], [c for c in cases if c.cfg["mode"] != "train"]


def _refitter(kind: str, hw: HardwareSpec, cal: Calibration, fits: Mapping[str, FT.Fitted], cases: Mapping[str, list[Case]],
              device_type: str = "cpu"):
    """Refit ``kind``'s own parameters on a subset of its points (with the points of the other
    kinds its parameters are fitted on), from the full fit's values."""
    s2s_train, s2s_gen = seq2seq_modes(cases["seq2seq"])
    opts = decode_options(device_type)
    if kind == "decode":
        return lambda cs: FT.fit_decode(list(cs) + s2s_gen, hw, cal, init=fits["decode"].values, **opts)[0]
    if kind == "memory":
        return lambda cs: FT.fit_memory(cs, hw, cal, init=fits["memory"].values)[0]
    if kind == "train":
        return lambda cs: FT.fit_phase("train", list(cs) + s2s_train, hw, cal, init=fits["train"].values)[0]
    if kind == "seq2seq":
        def refit(cs: Sequence[Case]) -> Calibration:
            tr, gen = seq2seq_modes(cs)
            k = FT.fit_phase("train", cases["train"] + tr, hw, cal, init=fits["train"].values)[0]
            return FT.fit_decode(cases["decode"] + gen, hw, k, init=fits["decode"].values, **opts)[0]
        return refit
    return lambda cs: FT.fit_phase(kind, cs, hw, cal, init=fits[kind].values)[0]


def _heldout(cases: Mapping[str, list[Case]], hw: HardwareSpec, cal: Calibration, fits: Mapping[str, FT.Fitted],
             device_type: str) -> dict[str, H.KindHeldout]:
    out: dict[str, H.KindHeldout] = {}
    time_of = lambda c: c.m.time  # noqa: E731
    for kind in ("train", "prefill", "decode", "seq2seq"):
        if cases[kind]:
            out[kind] = H.evaluate(kind, cases[kind], _refitter(kind, hw, cal, fits, cases, device_type),
                                   lambda c, k: predict_time(c, hw, k), measure=time_of, size=lambda c: c.size)
    if cases["encoder"]:  # no parameter is fitted on encoder points: every prediction is out of sample
        out["encoder"] = H.transfer("encoder", cases["encoder"], cal, lambda c, k: predict_time(c, hw, k), measure=time_of)
    analytic = replace(SPEED_OF_LIGHT, name="analytical")
    out["memory"] = H.evaluate("memory", cases["memory"], _refitter("memory", hw, cal, fits, cases),
                               lambda c, k: predict_memory(c, k), measure=lambda c: float(c.m.peak_memory_bytes),
                               size=lambda c: predict_memory(c, analytic))
    return out


def _predictions(cases: Mapping[str, list[Case]], hw: HardwareSpec, cal: Calibration) -> list[PointPrediction]:
    out = []
    for kind in TIME_KINDS:
        for c in cases[kind]:
            out.append(PointPrediction(id=c.m.id, kind=kind, quantity="time_s", size=c.size, measured=c.m.time,
                                       predicted=predict_time(c, hw, cal), roofline=predict_time(c, hw, SPEED_OF_LIGHT), config=c.cfg))
    for c in cases["memory"]:
        analytic = predict_memory(c, SPEED_OF_LIGHT)
        out.append(PointPrediction(id=c.m.id, kind="memory", quantity="memory_bytes", size=analytic, measured=float(c.m.peak_memory_bytes),
                                   predicted=predict_memory(c, cal), roofline=analytic, config=c.cfg))
    return out


def calibrate_profile(profile: Profile, path: str = "") -> ProfileCalibration:
    """Fit the model to ``profile`` and measure its held-out accuracy."""
    _check_times(profile)
    hw, in_catalog = device_for(profile)
    precision = profile.device.precision
    if precision not in hw.peak_flops_per_s:
        raise InputError("device.precision", f"{hw.name} has no {precision} peak to calibrate against")
    base = _base(hw, in_catalog)
    cal, fits, cases = _fit_all(profile, path, hw, base, precision)
    by_op: dict[str, list[Measurement]] = {}
    for m in profile.of_kind("collective"):
        by_op.setdefault(str(m.config["op"]), []).append(m)
    colls = tuple(FT.fit_collective(pts) for pts in by_op.values() if len(pts) >= FT.MIN_POINTS["collective"])
    cal = _with_collectives(cal, hw, colls, profile, path)
    power = FT.fit_power(profile.measurements, hw.tdp_w if in_catalog else None)
    cal = _with_power(cal, power, profile)
    cal = replace(cal, name=profile.name, implementation=IM.NATIVE, hardware=hw.name if in_catalog else None,
                  device=None if in_catalog else hw, decode_impl=default_decode_impl(profile.device.type))
    other = _implementation_results(profile, path, hw, cal, fits, cases)
    peak = hw.peak(precision)
    gemm = tuple(GemmPoint(flops=m.flops, time_s=m.time, eta=m.flops / (m.time * peak))
                 for m in profile.of_kind("gemm") if m.config.get("precision") == precision)
    return ProfileCalibration(
        calibration=cal,
        hardware=hw,
        catalog_entry=in_catalog,
        profile=profile,
        profile_path=path,
        fits=fits,
        collectives=colls,
        power=power,
        heldout=_heldout(cases, hw, cal, fits, profile.device.type),
        predictions=tuple(_predictions(cases, hw, cal)),
        gemm=gemm,
        precision=precision,
        implementations=other.calibrations,
        heldout_hf=other.heldout_hf,
    )


def _implementation_results(profile: Profile, path: str, hw: HardwareSpec, cal: Calibration, fits: Mapping[str, FT.Fitted],
                            cases: Mapping[str, list[Case]]) -> IM.ImplementationResults:
    """hf eager and graphs points: held-out transfer from the native fit, and their own calibrations."""
    other = {impl: {**{k: _time_cases(profile, k, impl) for k in TIME_KINDS}, "memory": _memory_cases(profile, impl)}
             for impl in (IM.HF_EAGER, IM.GRAPHS)}
    fitted = {k: dict(fits[k].values) for k in ("train", "prefill", "decode", "memory")}
    bw_note = hw.source_of("hbm_bytes_per_s")
    measured = bw_note is not None and bw_note.quality == "measured"  # the profile's own copy rate (a CPU)
    return IM.calibrate_implementations(cases, other, hw, cal, fitted, f"profile {profile.name} ({path}, {profile.created})",
                                        launch=profile.of_kind("launch"), measured_bandwidth=measured)
