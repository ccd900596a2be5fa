"""Carry a calibration from one implementation to another: what differs is counted, not refitted.

A profile may time the same kind of work with two implementations: dcplan's own Transformer
(``native``) and ``transformers`` models (``hf eager``; ``graphs`` for decode with a static
cache and CUDA graphs). The hardware is the same, so the GEMM curve, the bandwidths and the
phase efficiencies carry over; what differs is what each implementation runs around its
matrix multiplies, which the profiler counts on every model point (:mod:`dcplan.profile.dispatch`).
The fit on native points is kept whole and the *difference* is added, each part priced by
something measured on the native points:

- per-layer launch/dispatch overhead: the extra framework operations a point dispatches
  (forward and backward; optimizer excluded, both use torch's AdamW) over what the native
  implementation dispatches for the same phase and depth (``a + b·layers``, fitted on the native
  points' counts), times the native cost of one operation, ``t_op`` = the native decode
  steps' fitted overhead (``decode_t0_s + layers·decode_t0_per_layer_s``) per operation they
  dispatch (decode at small batch is where dispatch cost dominates and is identified);
- non-matmul memory traffic: the extra bytes the point's non-matmul operations stream over the
  native bytes per byte of dcplan's analytical traffic (Korthikanti activations plus fp32
  logits, whose loss both compute in fp32; for decode the KV cache, which an eager
  ``DynamicCache`` copies at every step), at the device's memory bandwidth times the fitted
  ``decode_bw_frac``;
- saved activations: the extra bytes autograd saves over the native ratio to the analytical
  activations plus logits, added to the memory prediction (times ``memory_factor``).

For one measured point its own counts are used (a property of the code at that shape, known
without timing it); for an estimate, the implementation's per-layer and fixed counts fitted over
its points (:func:`implementation_calibration`). ``heldout.hf`` predicts every ``hf eager``
point from the fit on native points alone; a second fit on native and hf points together
reports its own leave-one-out on the hf points.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from dcplan.calibrate.at_scale import summary
from dcplan.calibrate.predict import SPEED_OF_LIGHT, Case, predict_memory, predict_time
from dcplan.model.memory import activation_traffic_bytes, kv_bytes_per_token, train_memory
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, ParallelLayout

NATIVE, HF_EAGER, GRAPHS = "native", "hf eager", "graphs"
IMPLEMENTATIONS = (NATIVE, HF_EAGER, GRAPHS)


@dataclass(frozen=True, kw_only=True)
class Counted:
    """What one point dispatched, with the analytical sizes its counts are compared against."""

    ops: float
    """Framework operations of one timed operation, optimizer excluded."""
    layers: int
    other_bytes: float
    traffic: float | None
    """dcplan's analytical traffic of the point (activations + logits; KV cache for decode) [bytes]."""
    saved_bytes: float
    activations: float | None
    """Analytical activations + fp32 logits of a train step [bytes]."""


@dataclass(frozen=True, kw_only=True)
class Reference:
    """What an implementation dispatches for one phase: ``ops = fixed + per_layer · layers``, and byte ratios."""

    fixed: float
    per_layer: float
    traffic_ratio: float | None
    saved_ratio: float | None
    n: int

    def ops(self, layers: int) -> float:
        return self.fixed + self.per_layer * layers


def phase(c: Case) -> str:
    """train, prefill, decode, seq2seq-train, seq2seq-generate, encoder-train or encoder-embed."""
    if c.m.kind in ("seq2seq", "encoder"):
        return f"{c.m.kind}-{c.cfg['mode']}"
    return c.m.kind


def _layers(c: Case) -> int:
    return c.spec.n_layers + c.spec.n_encoder_layers


def _traffic(c: Case) -> float | None:
    """The analytical traffic dcplan's model streams for this point [bytes] (None: no reference)."""
    cfg, ph = c.cfg, phase(c)
    b = int(cfg["batch"])
    if ph == "train":
        return activation_traffic_bytes(c.spec, int(cfg["seq_len"]), b, layers=_layers(c), precision=c.precision)
    if ph == "prefill":
        return activation_traffic_bytes(c.spec, int(cfg["prompt_len"]), b, layers=_layers(c), precision=c.precision, logit_positions=b)
    if ph == "seq2seq-train":
        return activation_traffic_bytes(c.spec, (int(cfg["src_len"]) + int(cfg["tgt_len"])) / 2, b, layers=_layers(c), precision=c.precision)
    if ph in ("encoder-train", "encoder-embed"):
        s = int(cfg["seq_len"])
        heads = b * s * float(cfg.get("mlm_head_frac", 1.0)) if ph == "encoder-train" else 0.0
        return activation_traffic_bytes(c.spec, s, b, layers=_layers(c), precision=c.precision, logit_positions=heads)
    if ph == "decode":
        return b * int(cfg["context_len"]) * kv_bytes_per_token(c.spec, c.precision)
    return None


def _analytical_activations(c: Case) -> float | None:
    cfg = c.cfg
    if phase(c) not in ("train", "seq2seq-train", "encoder-train"):
        return None
    seq = int(cfg["seq_len"]) if c.m.kind in ("train", "encoder") else (int(cfg["src_len"]) + int(cfg["tgt_len"])) / 2
    b = int(cfg["batch"])
    mem = train_memory(c.counts, c.spec, ParallelLayout(micro_batch=b, recompute="none", zero=1, sequence_parallel=False), seq_len=seq,
                       precision=c.precision, n_microbatches=1, calibration=SPEED_OF_LIGHT,
                       mlm_head_frac=float(cfg.get("mlm_head_frac", 1.0)))
    return mem.activations + mem.logits


def counted(c: Case) -> Counted | None:
    """The point's dispatch counts and the analytical sizes beside them; None when it was not counted."""
    d = c.m.dispatch
    if not d or not d.get("ops"):
        return None
    return Counted(ops=d["ops"] - d.get("optimizer_ops", 0.0), layers=_layers(c), other_bytes=d.get("other_bytes", 0.0),
                   traffic=_traffic(c), saved_bytes=d.get("saved_bytes", 0.0), activations=_analytical_activations(c))


def _fit_ops(ks: Sequence[Counted]) -> tuple[float, float]:
    """(fixed, per_layer) of ops = fixed + per_layer · layers, least squares; through 0 with one depth."""
    layers = np.array([k.layers for k in ks], dtype=float)
    ops = np.array([k.ops for k in ks], dtype=float)
    if len(set(layers)) < 2:
        return 0.0, float(np.median(ops / layers))
    per_layer, fixed = np.polyfit(layers, ops, 1)
    return float(fixed), float(per_layer)


def reference(cases: Sequence[Case], anchor: Mapping[str, Reference] | None = None) -> dict[str, Reference]:
    """Per phase, what the points of one implementation dispatch (``ops`` against depth, byte ratios).

    With ``anchor`` (another implementation's reference) the fixed part is taken from it and only
    the per-layer operations are fitted (their median): points of several model families do not
    share one line through their depths.
    """
    by_phase: dict[str, list[Counted]] = {}
    for c in cases:
        k = counted(c)
        if k is not None:
            by_phase.setdefault(phase(c), []).append(k)
    out = {}
    for ph, ks in by_phase.items():
        if anchor is not None and ph in anchor:
            fixed = anchor[ph].fixed
            per_layer = statistics.median((k.ops - fixed) / k.layers for k in ks)
        else:
            fixed, per_layer = _fit_ops(ks)
        out[ph] = Reference(fixed=fixed, per_layer=per_layer, n=len(ks),
                            traffic_ratio=_median([k.other_bytes / k.traffic for k in ks if k.traffic]),
                            saved_ratio=_median([k.saved_bytes / k.activations for k in ks if k.activations]))
    return out


def _median(xs: Sequence[float]) -> float | None:
    return statistics.median(xs) if xs else None


def decode_host_s(spec: ModelSpec, cal: Calibration) -> float:
    """Host time of one eager decode step of ``spec`` under ``cal`` [s]: the fitted dispatch
    overhead of its decode implementation (kernels x seconds per kernel, dcplan.model.launch)
    where the profile fitted one, plus the additive ``decode_t0_s`` + layers x ``decode_t0_per_layer_s``."""
    from dcplan.model import launch

    _, d = launch.select_dispatch(cal)
    host = launch.decode_host_s(spec, d) if d is not None else 0.0
    return host + cal.decode_t0_s + spec.n_layers * cal.decode_t0_per_layer_s


def op_time_s(launch: Sequence[Any], cal: Calibration, native_decode: Sequence[Case], ref: Mapping[str, Reference]) -> tuple[float | None, str]:
    """(seconds per dispatched operation, how it was found).

    Measured: the profile's ``launch`` points (back-to-back tiny operations), their least time per
    operation (a shared machine only ever adds time). Without them (profiles before they
    existed): the native decode steps' fitted overhead per operation they dispatch.
    """
    per_op = [m.time / float(m.config["ops"]) for m in launch if m.time_s is not None]
    if per_op:
        return min(per_op), f"measured: least time per operation of {len(per_op)} launch points"
    r = ref.get("decode")
    if r is None or not native_decode:
        return None, "no launch points and no counted native decode points"
    fitted = [decode_host_s(c.spec, cal) / r.ops(c.spec.n_layers) for c in native_decode]
    return statistics.median(fitted), "fitted: native decode host time per dispatched operation"


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """Everything needed to carry the native calibration to another implementation."""

    ref: Mapping[str, Reference]
    """The native implementation's dispatch per phase."""
    op_s: float
    """Seconds per dispatched operation [s]."""
    bw_frac: float | None = None
    """Share of the device bandwidth non-matmul operations reach: 1 where the bandwidth is the
    profile's measured copy rate; None: the calibration's ``decode_bw_frac`` (catalog peaks)."""
    op_source: str = ""


def _ref_for(t: Transfer, ph: str) -> Reference | None:
    """The native reference of a phase (encoder-decoder and encoder phases fall back to the decoder's)."""
    fallback = {"seq2seq-train": "train", "seq2seq-generate": "decode", "encoder-train": "train", "encoder-embed": "prefill"}
    return t.ref.get(ph) or t.ref.get(fallback.get(ph, ""))


def _extra_s(own: Counted, base: Reference, t: Transfer, bw: float) -> float:
    """Seconds of the operations and non-matmul bytes ``own`` adds over the native reference [s]
    (negative where it runs less; the overhead it lands on is clipped at zero)."""
    extra = (own.ops - base.ops(own.layers)) * t.op_s
    if own.traffic and base.traffic_ratio is not None:
        extra += (own.other_bytes - base.traffic_ratio * own.traffic) / bw
    return extra


def specialise(cal: Calibration, c: Case, t: Transfer, hw: HardwareSpec) -> Calibration:
    """``cal`` (fitted on native points) for point ``c`` of another implementation, by its counts."""
    own, ph = counted(c), phase(c)
    base = _ref_for(t, ph)
    if own is None or base is None:
        return cal
    bw = hw.require("hbm_bytes_per_s") * (t.bw_frac if t.bw_frac is not None else cal.decode_bw_frac)
    extra = _extra_s(own, base, t, bw)
    if ph in ("train", "seq2seq-train", "encoder-train"):
        saved = own.saved_bytes - (base.saved_ratio or 0.0) * (own.activations or 0.0)
        return replace(cal, train=replace(cal.train, t0_s=max(0.0, cal.train.t0_s + extra)),
                       memory_constant_bytes=max(0.0, cal.memory_constant_bytes + cal.memory_factor * saved))
    if ph in ("prefill", "encoder-embed"):
        return replace(cal, prefill=replace(cal.prefill, t0_s=max(0.0, cal.prefill.t0_s + extra)))
    if ph == "decode":
        return replace(cal, decode_t0_s=max(0.0, cal.decode_t0_s + extra))
    # generate: the extra operations spread over its decode steps (the encoder's share is small)
    steps = max(1, int(c.cfg["tgt_len"]))
    return replace(cal, decode_t0_s=max(0.0, cal.decode_t0_s + extra / steps))


def predict_case(c: Case, hw: HardwareSpec, cal: Calibration, t: Transfer, quantity: str = "time") -> float:
    """Time (or peak memory) of ``c`` from a native calibration, carried over by counts."""
    spec_cal = specialise(cal, c, t, hw)
    return predict_time(c, hw, spec_cal) if quantity == "time" else predict_memory(c, spec_cal)


def implementation_calibration(cal: Calibration, target: Sequence[Case], t: Transfer, hw: HardwareSpec, implementation: str,
                               source: str) -> Calibration:
    """The calibration of ``implementation`` for estimates: ``cal`` plus the per-layer and fixed
    differences of its points' counts (fitted over them), priced as for single points."""
    other = reference(target, anchor=t.ref)
    bw_frac = t.bw_frac if t.bw_frac is not None else cal.decode_bw_frac
    changes: dict[str, Any] = {}
    for ph, curve_name in (("train", "train"), ("prefill", "prefill")):
        o, n = other.get(ph), t.ref.get(ph)
        if o is None or n is None:
            continue
        curve = getattr(cal, curve_name)
        d_traffic = (o.traffic_ratio or 0.0) - (n.traffic_ratio or 0.0)
        changes[curve_name] = replace(curve, t0_s=max(0.0, curve.t0_s + (o.fixed - n.fixed) * t.op_s),
                                      t0_per_layer_s=max(0.0, curve.t0_per_layer_s + (o.per_layer - n.per_layer) * t.op_s),
                                      act_passes=max(0.0, curve.act_passes + d_traffic / bw_frac))
    o, n = other.get("decode"), t.ref.get("decode")
    if o is not None and n is not None:
        changes["decode_t0_s"] = max(0.0, cal.decode_t0_s + (o.fixed - n.fixed) * t.op_s)
        changes["decode_t0_per_layer_s"] = max(0.0, cal.decode_t0_per_layer_s + (o.per_layer - n.per_layer) * t.op_s)
    o, n = other.get("train"), t.ref.get("train")
    if o is not None and n is not None and o.saved_ratio is not None and n.saved_ratio is not None:
        changes["memory_activation_factor"] = max(0.1, cal.memory_activation_factor + o.saved_ratio - n.saved_ratio)
    sources = {**cal.sources}
    for name in ("train", "prefill", "decode_t0_s", "decode_t0_per_layer_s", "memory_activation_factor"):
        sources[name] = f"{cal.source(name)}; carried to {implementation} by {source}"
    return replace(cal, **changes, name=f"{cal.name} ({implementation})", implementation=implementation, sources=sources)


# --------------------------------------------------------------------------------------------
# Held-out accuracy on another implementation's points
# --------------------------------------------------------------------------------------------


def _measured(kind: str, c: Case) -> float:
    return float(c.m.peak_memory_bytes) if kind == "memory" else c.m.time


def transfer_heldout(cases: Mapping[str, Sequence[Case]], memory: Sequence[Case], hw: HardwareSpec, cal: Calibration,
                     t: Transfer) -> dict[str, Any]:
    """Every point of another implementation predicted from ``cal`` (which never saw them)."""
    ratios: dict[str, list[float]] = {}
    points = []
    for kind, cs in cases.items():
        for c in cs:
            r = predict_case(c, hw, cal, t) / c.m.time
            ratios.setdefault(kind, []).append(r)
            points.append({"id": c.m.id, "kind": kind, "model": c.cfg.get("model"), "ratio": r})
    for c in memory:
        r = predict_case(c, hw, cal, t, "memory") / float(c.m.peak_memory_bytes)
        ratios.setdefault("memory", []).append(r)
        points.append({"id": c.m.id, "kind": "memory", "model": c.cfg.get("model"), "ratio": r})
    times = [r for k, rs in ratios.items() if k != "memory" for r in rs]
    return {**summary(times), "split": "fit on native points only; hf points carried over by dispatch counts",
            "op_s": t.op_s, "op_s_source": t.op_source, "kinds": {k: summary(rs) for k, rs in ratios.items()}, "points": points}


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


def _joint_fit(kind: str, cs: Sequence[Case], hw: HardwareSpec, cal: Calibration, t: Transfer, init: Mapping[str, float]) -> Calibration:
    """Refit ``kind``'s parameters on cases of both implementations, each carried over by its counts."""
    from dcplan.calibrate import fit as FT

    if kind == "memory":
        return FT.fit_cases("memory", cs, hw, cal, FT.MEMORY_PARAMS, measure=lambda c: float(c.m.peak_memory_bytes),
                            predict=lambda c, h, k: predict_case(c, h, k, t, "memory"), init=init)[0]
    params = FT.DECODE_PARAMS if kind == "decode" else FT.phase_params(kind)
    return FT.fit_cases(kind, cs, hw, cal, params, measure=lambda c: c.m.time, predict=lambda c, h, k: predict_case(c, h, k, t), init=init)[0]


def calibrate_implementations(native: Mapping[str, Sequence[Case]], other: Mapping[str, Mapping[str, Sequence[Case]]],
                              hw: HardwareSpec, cal: Calibration, fitted: Mapping[str, Mapping[str, float]], source: str,
                              launch: Sequence[Any] = (), measured_bandwidth: bool = False) -> ImplementationResults:
    """Calibrations of the other implementations and the held-out accuracy on hf points.

    ``native``/``other[impl]``: cases by kind (train, prefill, decode, seq2seq, memory);
    ``fitted``: the native fit's parameter values by kind (starting points of the refits);
    ``launch``: the profile's launch measurements; ``measured_bandwidth``: the device's bandwidth
    is the profile's own copy rate (bytes read + written), the unit of the counted bytes.
    """
    from dcplan.errors import InputError

    ref = reference([c for k, cs in native.items() if k != "memory" for c in cs])
    op_s, op_how = op_time_s(launch, cal, [c for c in native.get("decode", ()) if counted(c) is not None], ref)
    calibrations: dict[str, Calibration] = {}
    heldout = None
    hf = other.get(HF_EAGER, {})
    if any(hf.values()) and op_s is not None and ref:
        t = Transfer(ref=ref, op_s=op_s, bw_frac=1.0 if measured_bandwidth else None, op_source=op_how)
        heldout = transfer_heldout({k: v for k, v in hf.items() if k != "memory" and v}, hf.get("memory", ()), hw, cal, t)
        joint = cal
        for kind in (*_FITTED, "memory"):
            if hf.get(kind):
                try:
                    joint = _joint_fit(kind, [*native.get(kind, ()), *hf[kind]], hw, joint, t, fitted.get(kind, {}))
                except InputError:
                    pass
        heldout["refit"] = refit_heldout(
            {k: hf[k] for k in (*_FITTED, "memory") if hf.get(k)}, native,
            lambda kind, cs: _joint_fit(kind, cs, hw, cal, t, fitted.get(kind, {})),
            lambda kind, c, k: predict_case(c, hw, k, t, "memory" if kind == "memory" else "time"))
        hf_cases = [c for k, cs in hf.items() if k != "memory" for c in cs]
        calibrations[HF_EAGER] = implementation_calibration(joint, hf_cases, t, hw, HF_EAGER,
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
