"""Fit the performance model's efficiency parameters to measured times and bytes.

Method: ``scipy.optimize.least_squares`` (SciPy reference) on relative residuals
(predicted/measured − 1), robust ``soft_l1`` loss with ``f_scale`` 0.05 (residuals beyond ~5 %
count linearly, so one disturbed point does not drag the fit), bounded parameters, scale
parameters (x_half, bandwidths) fitted in log space, several starting points and the lowest
cost kept. Every prediction goes through dcplan's model (:mod:`dcplan.calibrate.predict`), so
what is fitted is exactly what ``dcplan estimate --profile`` then uses.

Parameter groups, fitted in this order (each later group sees the earlier ones):

- gemm: eta(x) = eta_max / (1 + (x_half/x)^a) and a per-call t0, against each GEMM's
  t = F/(peak·eta(F)) + t0; the plain saturating form (a = 1) is fitted too and reported;
- prefill: its curve relative to the GEMM ceiling (eta_max, x_half, per-layer overhead,
  activation passes);
- decode: the bandwidth fraction, overheads, and decode's own compute curve in tokens per
  step (a few-row GEMM runs far below a square one of the same FLOPs on CPUs); prefill and
  decode alternate twice, since a prefill's weight-read bound uses the decode bandwidth;
- train: its curve relative to the GEMM ceiling, per-layer overhead and activation passes
  (see EfficiencyCurve), the optimizer step's traffic relative to a fused Adam update and the
  passes over the dense embedding gradient;
- memory: a factor and a constant on the analytical bytes, with the activation and logits
  components scaled by their own factors first (eager PyTorch keeps more than the Megatron
  count: unfused loss, autograd-saved intermediates);
- collectives: alpha and bus bandwidth per collective (alpha-beta ring model);
- power: average board power / TDP while training and while serving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from dcplan.calibrate.predict import Case, predict_memory, predict_time
from dcplan.errors import InputError
from dcplan.model.comm import Link, collective_time
from dcplan.profile.result import Measurement
from dcplan.specs import Calibration, DispatchOverhead, EfficiencyCurve, HardwareSpec

#: soft_l1 scale: relative residuals beyond this count linearly (robust to a disturbed point).
F_SCALE = 0.05
#: Convergence tolerances of least_squares (relative): 1e-6 of the cost is far below the noise.
TOL = 1e-6
#: Fewest points each parameter group needs (a point more than its free parameters).
MIN_POINTS = {"gemm": 5, "decode": 7, "train": 7, "prefill": 5, "memory": 5, "collective": 3}


@dataclass(frozen=True, kw_only=True)
class Param:
    """One fitted parameter: start, bounds, and whether it is fitted in log space."""

    name: str
    init: float
    lo: float
    hi: float
    log: bool = False


@dataclass(frozen=True, kw_only=True)
class Fitted:
    """Result of one least-squares fit."""

    values: Mapping[str, float]
    residuals: tuple[float, ...]
    """Relative residuals predicted/measured − 1, in the order of the points."""
    ids: tuple[str, ...] = ()
    success: bool = True
    message: str = ""
    form: str = ""

    @property
    def n(self) -> int:
        return len(self.residuals)

    def ape_pct(self) -> list[float]:
        return [100.0 * abs(r) for r in self.residuals]

    def to_dict(self) -> dict:
        ape = self.ape_pct()
        return {
            "form": self.form,
            "values": dict(self.values),
            "n": self.n,
            "in_sample_median_ape_pct": float(np.median(ape)) if ape else None,
            "in_sample_max_ape_pct": max(ape) if ape else None,
            "residuals": dict(zip(self.ids, self.residuals, strict=False)),
            "success": self.success,
            "message": self.message,
        }


def _to_internal(p: Param, v: float) -> float:
    return math.log(v) if p.log else v


def _from_internal(p: Param, u: float) -> float:
    return math.exp(u) if p.log else u


def least_squares_fit(
    params: Sequence[Param],
    predict: Callable[[Mapping[str, float]], np.ndarray],
    measured: np.ndarray,
    *,
    starts: Sequence[Mapping[str, float]] = (),
    ids: Sequence[str] = (),
    form: str = "",
) -> Fitted:
    """Minimise soft_l1 of predict(values)/measured − 1 over ``params`` from several starts."""
    measured = np.asarray(measured, dtype=float)
    lo = np.array([_to_internal(p, p.lo) for p in params])
    hi = np.array([_to_internal(p, p.hi) for p in params])

    def values_of(u: np.ndarray) -> dict[str, float]:
        return {p.name: _from_internal(p, float(x)) for p, x in zip(params, u, strict=True)}

    def residual(u: np.ndarray) -> np.ndarray:
        r = np.asarray(predict(values_of(u)), dtype=float) / measured - 1.0
        return np.where(np.isfinite(r), r, 1e6)

    best = None
    for start in [{p.name: p.init for p in params}, *starts]:
        u0 = np.clip([_to_internal(p, start.get(p.name, p.init)) for p in params], lo, hi)
        try:
            res = least_squares(residual, u0, bounds=(lo, hi), loss="soft_l1", f_scale=F_SCALE, x_scale="jac",
                                ftol=TOL, xtol=TOL, gtol=TOL)
        except ValueError as exc:
            raise InputError("measurements", f"cannot fit {form or 'parameters'}: {exc}") from None
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    return Fitted(values=values_of(best.x), residuals=tuple(float(r) for r in residual(best.x)), ids=tuple(ids),
                  success=bool(best.success), message=str(best.message), form=form)


def need(kind: str, n: int, group: str | None = None, *, minimum: int | None = None) -> None:
    """InputError when ``n`` points are too few to fit ``group`` (default: ``kind``; ``minimum`` overrides)."""
    least = minimum if minimum is not None else MIN_POINTS[group or kind]
    if n < least:
        raise InputError("measurements", f"too few {kind} measurements to fit: {n}, need at least {least} (profile a larger --sweep)")


# --------------------------------------------------------------------------------------------
# GEMM
# --------------------------------------------------------------------------------------------


def gemm_curve(values: Mapping[str, float], exponent: float | None = None) -> EfficiencyCurve:
    return EfficiencyCurve(eta_max=min(1.0, values["eta_max"]), x_half=values["x_half"], t0_s=values["t0_s"],
                           exponent=exponent if exponent is not None else values["exponent"])


def fit_gemm(points: Sequence[Measurement], peak: float, *, hill: bool = True) -> tuple[EfficiencyCurve, Fitted]:
    """GEMM efficiency vs FLOPs: t = F/(peak·eta(F)) + t0, Hill form (or a = 1)."""
    need("gemm", len(points))
    x = np.array([m.flops for m in points], dtype=float)
    t = np.array([m.time for m in points], dtype=float)
    params = [Param(name="eta_max", init=0.95, lo=0.01, hi=1.0), Param(name="x_half", init=float(np.median(x)) / 10, lo=1.0, hi=1e18, log=True),
              Param(name="t0_s", init=1e-6, lo=0.0, hi=1.0)]
    if hill:
        params.append(Param(name="exponent", init=0.6, lo=0.1, hi=4.0))

    def predict(v: Mapping[str, float]) -> np.ndarray:
        curve = gemm_curve(v, None if hill else 1.0)
        return np.array([xi / (peak * curve.eta(xi)) + curve.t0_s for xi in x])

    starts = [{"x_half": float(q), "exponent": a} for q in np.quantile(x, [0.01, 0.3]) for a in (0.4, 1.0)]
    fitted = least_squares_fit(params, predict, t, starts=starts, ids=[m.id for m in points],
                               form="Hill eta_max/(1+(x_half/x)^a)" if hill else "saturating eta_max x/(x+x_half)")
    return gemm_curve(fitted.values, None if hill else 1.0), fitted


# --------------------------------------------------------------------------------------------
# Model phases (decode, train, prefill) and memory
# --------------------------------------------------------------------------------------------

#: Parameters of the decode curve (bandwidth, and on CPUs decode's own compute curve in tokens per step).
DECODE_PARAMS = (
    Param(name="decode_bw_frac", init=0.5, lo=0.005, hi=1.0),
)
DECODE_COMPUTE_PARAMS = (
    Param(name="decode_compute.eta_max", init=0.8, lo=0.001, hi=1.0),
    Param(name="decode_compute.x_half", init=16.0, lo=0.01, hi=1e6, log=True),
    Param(name="decode_compute.exponent", init=1.0, lo=0.1, hi=4.0),
)
#: Starting decode compute curve (x = tokens per step) before its fit.
DECODE_COMPUTE_START = EfficiencyCurve(eta_max=0.8, x_half=16.0)


def phase_params(kind: str) -> tuple[Param, ...]:
    """Parameters of the train or prefill curve relative to the GEMM ceiling (train: and the optimizer traffic)."""
    curve = (
        Param(name=f"{kind}.eta_max", init=0.8, lo=0.01, hi=1.0),
        Param(name=f"{kind}.x_half", init=1e6, lo=1.0, hi=1e18, log=True),
        Param(name=f"{kind}.t0_per_layer_s", init=1e-4, lo=0.0, hi=0.1),
        Param(name=f"{kind}.act_passes", init=1.0, lo=0.0, hi=500.0),
    )
    if kind == "train":
        return curve + (Param(name="optimizer_bytes_factor", init=1.0, lo=0.1, hi=100.0, log=True),
                        Param(name="embedding_grad_passes", init=1.0, lo=0.0, hi=500.0))
    return curve


MEMORY_PARAMS = (
    Param(name="memory_factor", init=1.1, lo=0.2, hi=20.0),
    Param(name="memory_constant_bytes", init=1e7, lo=0.0, hi=1e12),
    Param(name="memory_activation_factor", init=1.5, lo=0.1, hi=50.0),
    Param(name="memory_logits_factor", init=2.0, lo=0.1, hi=50.0),
)


def apply(cal: Calibration, values: Mapping[str, float]) -> Calibration:
    """``cal`` with fitted values set (``train.eta_max`` style names reach into the curves,
    ``decode_dispatch.eager.kernel_s`` into one implementation's dispatch overhead)."""
    cal = apply_dispatch(cal, {k: v for k, v in values.items() if k.startswith(DISPATCH_PREFIX)})
    values = {k: v for k, v in values.items() if not k.startswith(DISPATCH_PREFIX)}
    top = {k: v for k, v in values.items() if "." not in k}
    nested: dict[str, dict[str, float]] = {}
    for k, v in values.items():
        if "." in k:
            curve, name = k.split(".", 1)
            nested.setdefault(curve, {})[name] = v
    changes: dict[str, object] = dict(top)
    for curve, vals in nested.items():
        if "eta_max" in vals:
            vals["eta_max"] = min(1.0, vals["eta_max"])
        changes[curve] = replace(getattr(cal, curve), **vals)
    return replace(cal, **changes)


def fit_cases(
    group: str,
    cases: Sequence[Case],
    hw: HardwareSpec,
    base: Calibration,
    params: Sequence[Param],
    *,
    measure: Callable[[Case], float],
    predict: Callable[[Case, HardwareSpec, Calibration], float],
    starts: Sequence[Mapping[str, float]] = (),
    init: Mapping[str, float] | None = None,
    minimum: int | None = None,
) -> tuple[Calibration, Fitted]:
    """Fit ``params`` of ``base`` so that ``predict`` matches ``measure`` on ``cases``."""
    if minimum is None:
        need(group, len(cases))
    measured = np.array([measure(c) for c in cases], dtype=float)

    def run(v: Mapping[str, float]) -> np.ndarray:
        cal = apply(base, v)
        return np.array([predict(c, hw, cal) for c in cases])

    if init is not None:  # one start from a known solution (held-out refits start at the full fit)
        params = [replace(p, init=min(p.hi, max(p.lo, init.get(p.name, p.init)))) for p in params]
        starts = ()
    fitted = least_squares_fit(params, run, measured, starts=starts, ids=[c.m.id for c in cases], form=group)
    return apply(base, fitted.values), fitted


# ---- decode: bandwidth, and the host dispatch overhead per implementation ------------------

DISPATCH_PREFIX = "decode_dispatch."
#: Share of host dispatch hidden behind device work, by profiled device type (not fitted: a
#: CUDA device runs the kernels the host queues asynchronously; a CPU computes on the cores
#: that dispatch). dcplan.model.launch explains the combination. Fitting it per group on the
#: shipped H200 profile (0.91 train, 1.00 prefill, 0.93 decode) gave held-out errors no better
#: than 1 (train 2.1/14.3 % median/p90 against 2.3/12.1 %), so the simpler physics stays.
HOST_OVERLAP = {"cuda": 1.0, "cpu": 0.0}


def host_overlap(device_type: str) -> float:
    return HOST_OVERLAP.get(device_type, 0.0)


def impl_of(c: Case) -> str:
    """Implementation a decode point ran in (profiles before the ``impl`` key ran eager)."""
    return str(c.cfg.get("impl", "eager"))


def dispatch_params(impl: str) -> tuple[Param, ...]:
    """Per-step and per-kernel host time of one implementation."""
    return (Param(name=f"{DISPATCH_PREFIX}{impl}.step_s", init=1e-4, lo=0.0, hi=1.0),
            Param(name=f"{DISPATCH_PREFIX}{impl}.kernel_s", init=7e-6, lo=0.0, hi=1e-2))


def apply_dispatch(cal: Calibration, values: Mapping[str, float]) -> Calibration:
    """``cal`` with ``decode_dispatch.<impl>.<field>`` values set (new implementations start at 0 overhead)."""
    if not values:
        return cal
    table = dict(cal.decode_dispatch)
    for key, v in values.items():
        impl, name = key[len(DISPATCH_PREFIX):].rsplit(".", 1)
        table[impl] = replace(table.get(impl, DispatchOverhead()), **{name: v})
    return replace(cal, decode_dispatch=table)


#: Implementations whose fitted overhead is device-side, added to the device time whatever the
#: device: a CUDA graph is launched once per step, and what remains per kernel is the gap the
#: GPU leaves between the kernels it replays.
ADDITIVE_IMPLS = ("cuda-graphs",)


def with_dispatch_overlap(cal: Calibration, impls: Sequence[str], overlap: float) -> Calibration:
    """``cal`` with an entry per implementation carrying how its overhead combines with device time."""
    table = dict(cal.decode_dispatch)
    for impl in impls:
        table[impl] = replace(table.get(impl, DispatchOverhead()), host_overlap_frac=0.0 if impl in ADDITIVE_IMPLS else overlap)
    return replace(cal, decode_dispatch=table)


def plateau_compute(cal: Calibration) -> EfficiencyCurve:
    """Decode compute efficiency at the GEMM and prefill plateaus, whatever the batch.

    On a GPU a decode step's GEMMs of a few rows are bound by reading the weights, which the
    memory term already counts; the GEMM curve of square operations of the same FLOPs would
    count that slowness a second time. The compute term only matters at large batches, at
    plateau efficiency.
    """
    return EfficiencyCurve(eta_max=min(1.0, cal.gemm.eta_max * cal.prefill.eta_max), x_half=0.0)


def fit_decode(cases: Sequence[Case], hw: HardwareSpec, base: Calibration, init: Mapping[str, float] | None = None,
               *, overlap: float = 0.0, compute_curve: bool = True) -> tuple[Calibration, Fitted]:
    """Decode bandwidth fraction, host dispatch per implementation and (CPUs) decode's compute curve.

    The decode step is t_dev ⊕ t_host (dcplan.model.launch): device time from bytes and FLOPs,
    host time step_s + layers x kernels/layer x kernel_s for each implementation the points ran
    in, combined with the device type's ``overlap``. ``compute_curve`` fits a compute
    efficiency in tokens per step (CPUs: few-row GEMMs run far below square ones); without it
    the GEMM and prefill curves give the compute time (GPUs, where decode is bandwidth-bound).
    """
    impls = sorted({impl_of(c) for c in cases})
    base = with_dispatch_overlap(base, impls, overlap)
    params: tuple[Param, ...] = DECODE_PARAMS + tuple(p for i in impls for p in dispatch_params(i))
    if compute_curve:
        params += DECODE_COMPUTE_PARAMS
        if base.decode_compute is None:
            base = replace(base, decode_compute=DECODE_COMPUTE_START)
    else:
        base = replace(base, decode_compute=plateau_compute(base))
    need("decode", len(cases), minimum=len(params) + 1)
    starts = [{"decode_bw_frac": f, "decode_compute.x_half": h} for f in (0.2, 0.9) for h in (2.0, 100.0)]
    return fit_cases("decode", cases, hw, base, params, measure=lambda c: c.m.time, predict=predict_time, starts=starts, init=init,
                     minimum=len(params) + 1)


def fit_phase(kind: str, cases: Sequence[Case], hw: HardwareSpec, base: Calibration,
              init: Mapping[str, float] | None = None) -> tuple[Calibration, Fitted]:
    """Fit the train or prefill curve (eta_max, x_half, per-layer overhead, activation passes)."""
    sizes = [c.size for c in cases]
    starts = [{f"{kind}.x_half": float(q), f"{kind}.act_passes": a} for q in np.quantile(sizes, [0.05, 0.5]) for a in (0.0, 10.0)]
    return fit_cases(kind, cases, hw, base, phase_params(kind), measure=lambda c: c.m.time, predict=predict_time, starts=starts, init=init)


def fit_memory(cases: Sequence[Case], hw: HardwareSpec, base: Calibration, init: Mapping[str, float] | None = None) -> tuple[Calibration, Fitted]:
    return fit_cases("memory", cases, hw, base, MEMORY_PARAMS, measure=lambda c: float(c.m.peak_memory_bytes),
                     predict=lambda c, _hw, cal: predict_memory(c, cal), init=init)


# --------------------------------------------------------------------------------------------
# Collectives and power
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CollectiveFit:
    """alpha-beta fit of one collective over ``world_size`` ranks."""

    op: str
    world_size: int
    alpha_s: float
    """Latency per ring step [s]."""
    bus_bytes_per_s: float
    """Bus bandwidth (NCCL-tests convention) [bytes/s]."""
    fitted: Fitted

    def to_dict(self) -> dict:
        return {"op": self.op, "world_size": self.world_size, "alpha_s": self.alpha_s, "bus_bytes_per_s": self.bus_bytes_per_s,
                **{k: v for k, v in self.fitted.to_dict().items() if k in ("n", "in_sample_median_ape_pct", "in_sample_max_ape_pct")}}


def fit_collective(points: Sequence[Measurement]) -> CollectiveFit:
    """t = steps(n)·alpha + factor(n)·S/bus_bw (dcplan.model.comm.collective_time)."""
    op, n = str(points[0].config["op"]), int(points[0].config["world_size"])
    need(f"{op} collective", len(points), "collective")
    sizes = np.array([float(m.config["nbytes"]) for m in points])
    t = np.array([m.time for m in points])
    params = (Param(name="alpha_s", init=1e-5, lo=0.0, hi=1.0), Param(name="bus_bytes_per_s", init=1e9, lo=1e5, hi=1e14, log=True))

    def predict(v: Mapping[str, float]) -> np.ndarray:
        link = Link(bytes_per_s=v["bus_bytes_per_s"], alpha_s=v["alpha_s"], bw_frac=1.0, name="measured")
        return np.array([collective_time(op, s, n, link) for s in sizes])

    fitted = least_squares_fit(params, predict, t, starts=[{"bus_bytes_per_s": 1e11}], ids=[m.id for m in points], form=f"alpha-beta {op}")
    return CollectiveFit(op=op, world_size=n, alpha_s=fitted.values["alpha_s"], bus_bytes_per_s=fitted.values["bus_bytes_per_s"], fitted=fitted)


@dataclass(frozen=True, kw_only=True)
class PowerFit:
    train_load_frac: float | None = None
    infer_load_frac: float | None = None
    n_train: int = 0
    n_infer: int = 0
    extra: dict = field(default_factory=dict)


def fit_power(measurements: Sequence[Measurement], tdp_w: float | None) -> PowerFit | None:
    """Median board power / TDP over training points and over serving points (NVML)."""
    if not tdp_w:
        return None
    train = [m.power_w / tdp_w for m in measurements if m.power_w and (m.kind == "train" or (m.kind in ("seq2seq", "encoder") and m.config.get("mode") == "train"))]
    infer = [m.power_w / tdp_w for m in measurements if m.power_w and (m.kind in ("prefill", "decode") or (m.kind == "encoder" and m.config.get("mode") == "embed"))]
    if not train and not infer:
        return None
    clip = lambda xs: min(1.0, float(np.median(xs))) if xs else None  # noqa: E731
    return PowerFit(train_load_frac=clip(train), infer_load_frac=clip(infer), n_train=len(train), n_infer=len(infer))
