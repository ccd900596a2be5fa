"""Carry a calibration from one implementation to another: what differs is counted, not refitted.

A profile may time the same kind of work with two implementations: dcplan's own Transformer
(``native``) and ``transformers`` models (``hf eager``; ``graphs`` for decode with a static
cache and CUDA graphs). The hardware is the same, so the GEMM curve, the bandwidth and the
phase efficiencies carry over; what differs is what each implementation runs around its
matrix multiplies, which the profiler counts for every model point
(:mod:`dcplan.profile.dispatch`):

- per-layer launch/dispatch overhead: the calibration's per-layer overheads
  (``train.t0_per_layer_s``, ``prefill.t0_per_layer_s``, ``decode_t0_s``,
  ``decode_t0_per_layer_s``) scale with the framework operations dispatched per layer
  (forward and backward; optimizer operations excluded, both use torch's AdamW);
- non-matmul memory traffic: ``act_passes`` (passes over the Korthikanti activation bytes plus
  fp32 logits at memory bandwidth) scale with the bytes the non-matmul operations stream per
  byte of that analytical count; the fp32 logits and loss are in both counts;
- saved activations: ``memory_activation_factor`` scales with the bytes autograd saves per byte
  of the analytical activations plus logits.

For one measured point the point's own counts are used (they are properties of the code at
that shape, known without timing it); for an estimate, the median over the profile's points
of that implementation (:func:`implementation_calibration`). ``heldout.hf`` predicts every
``hf eager`` point from the fit on native points alone; a second fit on native and hf points
together reports its own leave-one-out on the hf points.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from dcplan.calibrate.at_scale import summary
from dcplan.calibrate.predict import SPEED_OF_LIGHT, Case, predict_memory, predict_time
from dcplan.model.memory import activation_traffic_bytes, train_memory
from dcplan.specs import Calibration, HardwareSpec, ParallelLayout

NATIVE, HF_EAGER, GRAPHS = "native", "hf eager", "graphs"
IMPLEMENTATIONS = (NATIVE, HF_EAGER, GRAPHS)


@dataclass(frozen=True, kw_only=True)
class Counted:
    """What one point's implementation dispatched, relative to dcplan's analytical counts."""

    ops_per_layer: float
    """Framework operations per layer, optimizer excluded."""
    traffic_ratio: float | None
    """Non-matmul bytes / (Korthikanti activation traffic + fp32 logits); None for decode."""
    saved_ratio: float | None
    """Saved-for-backward bytes / analytical activations + logits (train steps)."""


def phase(c: Case) -> str:
    """train, prefill, decode, seq2seq-train or seq2seq-generate."""
    if c.m.kind == "seq2seq":
        return f"seq2seq-{c.cfg['mode']}"
    return c.m.kind


def _layers(c: Case) -> int:
    return c.spec.n_layers + c.spec.n_encoder_layers


def _traffic(c: Case) -> float | None:
    """The activation traffic dcplan's time model streams for this point [bytes] (None: no such term)."""
    cfg, ph = c.cfg, phase(c)
    if ph == "train":
        return activation_traffic_bytes(c.spec, int(cfg["seq_len"]), int(cfg["batch"]), layers=_layers(c), precision=c.precision)
    if ph == "prefill":
        return activation_traffic_bytes(c.spec, int(cfg["prompt_len"]), int(cfg["batch"]), layers=_layers(c), precision=c.precision,
                                        logit_positions=int(cfg["batch"]))
    if ph == "seq2seq-train":
        seq = (int(cfg["src_len"]) + int(cfg["tgt_len"])) / 2
        return activation_traffic_bytes(c.spec, seq, int(cfg["batch"]), layers=_layers(c), precision=c.precision)
    return None


def _analytical_activations(c: Case) -> float | None:
    cfg = c.cfg
    if phase(c) not in ("train", "seq2seq-train"):
        return None
    seq = int(cfg["seq_len"]) if c.m.kind == "train" else (int(cfg["src_len"]) + int(cfg["tgt_len"])) / 2
    b = int(cfg["batch"])
    mem = train_memory(c.counts, c.spec, ParallelLayout(micro_batch=b, recompute="none", zero=1, sequence_parallel=False), seq_len=seq,
                       precision=c.precision, n_microbatches=1, calibration=SPEED_OF_LIGHT)
    return mem.activations + mem.logits


def counted(c: Case) -> Counted | None:
    """The point's dispatch counts relative to the analytical ones; None when it was not counted."""
    d = c.m.dispatch
    if not d or not d.get("ops"):
        return None
    ops = (d["ops"] - d.get("optimizer_ops", 0.0)) / _layers(c)
    traffic = _traffic(c)
    acts = _analytical_activations(c)
    return Counted(ops_per_layer=ops, traffic_ratio=d["other_bytes"] / traffic if traffic else None,
                   saved_ratio=d["saved_bytes"] / acts if acts else None)


def reference(cases: Sequence[Case]) -> dict[str, Counted]:
    """Median counts per phase over ``cases`` (the points of one implementation)."""
    out: dict[str, Counted] = {}
    by_phase: dict[str, list[Counted]] = {}
    for c in cases:
        k = counted(c)
        if k is not None:
            by_phase.setdefault(phase(c), []).append(k)
    for ph, ks in by_phase.items():
        out[ph] = Counted(ops_per_layer=statistics.median(k.ops_per_layer for k in ks),
                          traffic_ratio=_median([k.traffic_ratio for k in ks]), saved_ratio=_median([k.saved_ratio for k in ks]))
    return out


def _median(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def _ratio(a: float | None, b: float | None) -> float:
    return a / b if (a is not None and b) else 1.0


def _ref_for(ref: Mapping[str, Counted], ph: str) -> Counted | None:
    """The native reference of a phase (encoder-decoder phases fall back to the decoder's)."""
    fallback = {"seq2seq-train": "train", "seq2seq-generate": "decode"}
    return ref.get(ph) or ref.get(fallback.get(ph, ""))


def specialise(cal: Calibration, own: Counted | None, ref: Mapping[str, Counted], ph: str) -> Calibration:
    """``cal`` (fitted on the reference implementation) for a point or implementation counted as ``own``."""
    base = _ref_for(ref, ph)
    if own is None or base is None:
        return cal
    r_ops = _ratio(own.ops_per_layer, base.ops_per_layer)
    r_traffic = _ratio(own.traffic_ratio, base.traffic_ratio)
    changes: dict[str, Any] = {}
    if ph in ("train", "seq2seq-train"):
        changes["train"] = replace(cal.train, t0_per_layer_s=cal.train.t0_per_layer_s * r_ops, act_passes=cal.train.act_passes * r_traffic)
        changes["memory_activation_factor"] = cal.memory_activation_factor * _ratio(own.saved_ratio, base.saved_ratio)
    if ph in ("prefill", "seq2seq-generate"):
        changes["prefill"] = replace(cal.prefill, t0_per_layer_s=cal.prefill.t0_per_layer_s * r_ops,
                                     act_passes=cal.prefill.act_passes * r_traffic)
    if ph in ("decode", "seq2seq-generate"):
        changes["decode_t0_s"] = cal.decode_t0_s * r_ops
        changes["decode_t0_per_layer_s"] = cal.decode_t0_per_layer_s * r_ops
    return replace(cal, **changes)


def predict_case(c: Case, hw: HardwareSpec, cal: Calibration, ref: Mapping[str, Counted], quantity: str = "time") -> float:
    """Time (or peak memory) of ``c`` from a calibration of the reference implementation, carried over by counts."""
    spec_cal = specialise(cal, counted(c), ref, phase(c))
    return predict_time(c, hw, spec_cal) if quantity == "time" else predict_memory(c, spec_cal)


def implementation_calibration(cal: Calibration, target: Sequence[Case], ref: Mapping[str, Counted], implementation: str,
                               source: str) -> Calibration:
    """The calibration of ``implementation`` for estimates: ``cal`` carried over by the median counts of its points."""
    counts = reference(target)
    out = cal
    for ph in ("decode", "prefill", "train"):
        if ph in counts:
            out = specialise(out, counts[ph], ref, ph)
    sources = {**cal.sources}
    for name in ("train", "prefill", "decode_t0_s", "decode_t0_per_layer_s", "memory_activation_factor"):
        sources[name] = f"{cal.source(name)}; carried to {implementation} by {source}"
    return replace(out, name=f"{cal.name} ({implementation})", implementation=implementation, sources=sources)


# --------------------------------------------------------------------------------------------
# Held-out accuracy on another implementation's points
# --------------------------------------------------------------------------------------------


def _measured(kind: str, c: Case) -> float:
    return float(c.m.peak_memory_bytes) if kind == "memory" else c.m.time


def transfer_heldout(cases: Mapping[str, Sequence[Case]], memory: Sequence[Case], hw: HardwareSpec, cal: Calibration,
                     ref: Mapping[str, Counted]) -> dict[str, Any]:
    """Every point of another implementation predicted from ``cal`` (which never saw them)."""
    ratios: dict[str, list[float]] = {}
    points = []
    for kind, cs in cases.items():
        for c in cs:
            r = predict_case(c, hw, cal, ref) / c.m.time
            ratios.setdefault(kind, []).append(r)
            points.append({"id": c.m.id, "kind": kind, "model": c.cfg.get("model"), "ratio": r})
    for c in memory:
        r = predict_case(c, hw, cal, ref, "memory") / float(c.m.peak_memory_bytes)
        ratios.setdefault("memory", []).append(r)
        points.append({"id": c.m.id, "kind": "memory", "model": c.cfg.get("model"), "ratio": r})
    times = [r for k, rs in ratios.items() if k != "memory" for r in rs]
    return {**summary(times), "split": "fit on native points only; hf points carried over by dispatch counts",
            "kinds": {k: summary(rs) for k, rs in ratios.items()}, "points": points}


def refit_heldout(kind_cases: Mapping[str, Sequence[Case]], native: Mapping[str, Sequence[Case]], refit: Callable[[str, Sequence[Case]], Calibration],
                  predict: Callable[[str, Case, Calibration], float]) -> dict[str, Any]:
    """Leave-one-out on the hf points of a fit that sees native and (the other) hf points."""
    ratios: dict[str, list[float]] = {}
    for kind, hf in kind_cases.items():
        for i, held in enumerate(hf):
            train = list(native.get(kind, ())) + [c for j, c in enumerate(hf) if j != i]
            try:
                fitted = refit(kind, train)
            except ValueError:
                continue
            ratios.setdefault(kind, []).append(predict(kind, held, fitted) / _measured(kind, held))
    flat = [r for rs in ratios.values() for r in rs]
    return {**summary(flat), "split": "leave-one-out on hf points, fit on native + the other hf points",
            "kinds": {k: summary(rs) for k, rs in ratios.items()}}


# --------------------------------------------------------------------------------------------
# Orchestration (called by dcplan.calibrate.profile_fit)
# --------------------------------------------------------------------------------------------

#: Kinds with parameters of their own (seq2seq is predicted from the others: transfer only).
_FITTED = ("train", "prefill", "decode")


@dataclass(frozen=True, kw_only=True)
class ImplementationResults:
    """What a profile says about implementations other than native."""

    calibrations: Mapping[str, Calibration]
    """Calibration per implementation (``hf eager``, ``graphs``) for estimates."""
    heldout_hf: dict[str, Any] | None
    """hf points predicted from the native fit (transfer), with the refit's leave-one-out under ``refit``."""


def _params(kind: str):
    from dcplan.calibrate import fit as FT

    return {"decode": FT.DECODE_PARAMS, "memory": FT.MEMORY_PARAMS}.get(kind) or FT.phase_params(kind)


def _joint_fit(kind: str, cs: Sequence[Case], hw: HardwareSpec, cal: Calibration, ref: Mapping[str, Counted],
               init: Mapping[str, float]) -> Calibration:
    """Refit ``kind``'s parameters on cases of both implementations, each carried over by its counts."""
    from dcplan.calibrate import fit as FT

    if kind == "memory":
        return FT.fit_cases("memory", cs, hw, cal, FT.MEMORY_PARAMS, measure=lambda c: float(c.m.peak_memory_bytes),
                            predict=lambda c, h, k: predict_case(c, h, k, ref, "memory"), init=init)[0]
    return FT.fit_cases(kind, cs, hw, cal, _params(kind), measure=lambda c: c.m.time, predict=lambda c, h, k: predict_case(c, h, k, ref),
                        init=init)[0]


def calibrate_implementations(native: Mapping[str, Sequence[Case]], other: Mapping[str, Mapping[str, Sequence[Case]]],
                              hw: HardwareSpec, cal: Calibration, fitted: Mapping[str, Mapping[str, float]], source: str) -> ImplementationResults:
    """Calibrations of the other implementations and the held-out accuracy on hf points.

    ``native``/``other[impl]``: cases by kind (train, prefill, decode, seq2seq, memory);
    ``fitted``: the native fit's parameter values by kind (starting points of the refits).
    """
    from dcplan.errors import InputError

    ref = reference([c for cs in native.values() for c in cs])
    calibrations: dict[str, Calibration] = {}
    heldout = None
    hf = other.get(HF_EAGER, {})
    if any(hf.values()) and ref:
        time_kinds = {k: v for k, v in hf.items() if k != "memory" and v}
        heldout = transfer_heldout(time_kinds, hf.get("memory", ()), hw, cal, ref)
        joint = cal
        for kind in (*_FITTED, "memory"):
            if hf.get(kind):
                try:
                    joint = _joint_fit(kind, [*native.get(kind, ()), *hf[kind]], hw, joint, ref, fitted.get(kind, {}))
                except InputError:
                    pass
        heldout["refit"] = refit_heldout(
            {k: hf[k] for k in (*_FITTED, "memory") if hf.get(k)}, native,
            lambda kind, cs: _joint_fit(kind, cs, hw, cal, ref, fitted.get(kind, {})),
            lambda kind, c, k: predict_case(c, hw, k, ref, "memory" if kind == "memory" else "time"))
        hf_cases = [c for cs in hf.values() for c in cs]
        calibrations[HF_EAGER] = implementation_calibration(joint, hf_cases, ref, HF_EAGER,
                                                            f"dispatch counts of {len(hf_cases)} transformers points ({source})")
    graphs = other.get(GRAPHS, {}).get("decode", ())
    if len(graphs) >= 3:
        from dcplan.calibrate import fit as FT

        try:
            g = FT.fit_cases("decode", graphs, hw, cal, FT.DECODE_PARAMS, measure=lambda c: c.m.time, predict=predict_time,
                             init=fitted.get("decode", {}), minimum=3)[0]
            sources = {**cal.sources, **{n: f"fit: decode steps with a static cache and CUDA graphs ({source})"
                                         for n in ("decode_bw_frac", "decode_t0_s", "decode_t0_per_layer_s", "decode_compute")}}
            calibrations[GRAPHS] = replace(g, name=f"{cal.name} ({GRAPHS})", implementation=GRAPHS, sources=sources)
        except InputError:
            pass
    return ImplementationResults(calibrations=calibrations, heldout_hf=heldout)
