"""Calibration figures: pure functions from a ProfileCalibration to plotly Figures.

- :func:`measured_vs_predicted`: per kind, measured against calibrated (and speed-of-light)
  predictions on log axes with the identity line;
- :func:`efficiency_curves`: the fitted GEMM curve and the train/prefill efficiency curves
  with the measured points.

The dashboard and the reports call these; they compute nothing but what they draw.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from dcplan.figures.style import finish
from dcplan.i18n import ENGLISH, N_, Translator
from dcplan.model import flops as F

_UNIT = {"time_s": (N_("s"), N_("time")), "memory_bytes": (N_("bytes"), N_("peak memory"))}
_KIND_TITLE = {"train": N_("Train step time"), "prefill": N_("Prefill time (TTFT)"), "decode": N_("Decode step time (TPOT)"),
               "seq2seq": N_("Encoder-decoder step / generation time"),
               "encoder": N_("Encoder masked-LM step / embedding time"), "memory": N_("Peak memory")}


def _log_range(values: Sequence[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [math.log10(lo) - 0.1, math.log10(hi) + 0.1]


def measured_vs_predicted(pc: Any, kind: str, tr: Translator = ENGLISH) -> go.Figure:
    """Measured vs predicted for one kind (train, prefill, decode, seq2seq, encoder or memory), log-log."""
    _ = tr
    pts = [p for p in pc.predictions if p.kind == kind]
    fig = go.Figure()
    title = _(_KIND_TITLE[kind]) if kind in _KIND_TITLE else kind
    if not pts:
        return finish(fig, title=_("{what}: no measurements").format(what=title), legend=False)
    unit, what = (_(w) for w in _UNIT[pts[0].quantity])
    held = {h.id: h.predicted for h in pc.heldout[kind].points if h.split in ("leave-one-out", "not fitted (transfer)")} if kind in pc.heldout else {}
    measured = [p.measured for p in pts]
    fig.add_trace(go.Scatter(x=measured, y=[p.predicted for p in pts], mode="markers", name=_("calibrated (in sample)"),
                             text=[p.id for p in pts], hovertemplate=_("%{text}<br>measured %{x:.3g}<br>predicted %{y:.3g}") + "<extra></extra>"))
    if held:
        fig.add_trace(go.Scatter(x=[p.measured for p in pts if p.id in held], y=[held[p.id] for p in pts if p.id in held],
                                 mode="markers", marker={"symbol": "x"}, name=_("calibrated, held out (leave-one-out)"),
                                 text=[p.id for p in pts if p.id in held]))
    label = _("analytical bytes (no calibration)") if kind == "memory" else _("speed of light (uncalibrated roofline)")
    fig.add_trace(go.Scatter(x=measured, y=[p.roofline for p in pts], mode="markers", marker={"symbol": "circle-open"},
                             name=label, text=[p.id for p in pts]))
    everything = measured + [p.predicted for p in pts] + [p.roofline for p in pts] + list(held.values())
    rng = _log_range([v for v in everything if v > 0])
    edge = [10 ** rng[0], 10 ** rng[1]]
    fig.add_trace(go.Scatter(x=edge, y=edge, mode="lines", line={"dash": "dash", "color": "gray"}, name=_("identity (perfect prediction)")))
    finish(fig, title=_("{what}: measured vs predicted, {device} ({precision})").format(what=title, device=pc.profile.device.name, precision=pc.precision),
           x_title=_("Measured {what} [{unit}]").format(what=what, unit=unit), y_title=_("Predicted {what} [{unit}]").format(what=what, unit=unit), height=520)
    fig.update_xaxes(type="log", range=rng)
    fig.update_yaxes(type="log", range=rng)
    return fig


def _grid(lo: float, hi: float, n: int = 80) -> list[float]:
    a, b = math.log10(lo), math.log10(hi)
    return [10 ** (a + (b - a) * i / (n - 1)) for i in range(n)]


def efficiency_curves(pc: Any, tr: Translator = ENGLISH) -> go.Figure:
    """Fitted efficiency curves with the measured points, fraction of peak vs work size."""
    _ = tr
    cal, peak = pc.calibration, pc.hardware.peak(pc.precision)
    fig = go.Figure()
    gx = [g.flops for g in pc.gemm]
    fig.add_trace(go.Scatter(x=gx, y=[g.eta for g in pc.gemm], mode="markers", name=_("GEMM measured")))
    xs = _grid(min(gx) / 2, max(gx) * 2)
    fig.add_trace(go.Scatter(x=xs, y=[cal.gemm.eta(x) for x in xs], mode="lines", name=_("GEMM fit (exponent {exponent})").format(exponent=f"{cal.gemm.exponent:.2f}")))
    for kind in (N_("train"), N_("prefill")):
        pts = [p for p in pc.predictions if p.kind == kind]
        if not pts:
            continue
        x = [_layer_gemm(p) for p in pts]
        fig.add_trace(go.Scatter(x=x, y=[p.size / (p.measured * peak) for p in pts], mode="markers", name=_("{kind} measured (model FLOPs / time / peak)").format(kind=_(kind)),
                                 text=[p.id for p in pts]))
        curve = getattr(cal, kind)
        xs_k = _grid(min(x) / 2, max(x) * 2)
        fig.add_trace(go.Scatter(x=xs_k, y=[cal.gemm.eta(v) * curve.eta(v) for v in xs_k], mode="lines",
                                 name=_("{kind} compute efficiency eta_gemm x eta_{kind} (before overheads)").format(kind=_(kind))))
    finish(fig, title=_("Efficiency vs work size, {device} ({precision}, peak {peak} TFLOP/s)").format(
               device=pc.profile.device.name, precision=pc.precision, peak=f"{peak / 1e12:.3g}"),
           x_title=_("Work size: GEMM FLOPs, or the largest per-layer GEMM of a step [FLOP]"), y_title=_("Achieved share of peak [%]"), height=520)
    fig.update_xaxes(type="log")
    fig.update_yaxes(rangemode="tozero", tickformat=".0%")
    return fig


def _layer_gemm(p: Any) -> float:
    """The x of a train/prefill point: its largest per-layer GEMM [FLOP]."""
    from dcplan.profile.config import from_measurement

    spec = from_measurement(p.config).model_spec()
    c = p.config
    tokens = int(c["batch"]) * int(c.get("seq_len") or c.get("prompt_len"))
    return F.largest_layer_gemm_flops(spec, tokens)
