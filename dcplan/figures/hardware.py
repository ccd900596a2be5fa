"""Figures of the accelerator catalog: peak comparison and roofline (pure, plotly).

Roofline: attainable FLOP/s = min(peak, intensity x bandwidth) (Williams, Waterman & Patterson
2009; jax-ml/scaling-book "roofline"). The workload markers place a Transformer's decode and
prefill arithmetic intensity on it: a decode step of batch B reads the weights once for B
tokens, so its intensity is about B FLOP per weight byte at 2 bytes/param (scaling-book
"inference"); prefill of s tokens is about s x B.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from dcplan.i18n import ENGLISH, N_, Translator
from dcplan.specs import HardwareSpec

#: Catalog metrics a comparison chart can show: key -> (label with unit, getter). A getter
#: returns None when the catalog does not know the figure: it is drawn as missing, never as 0.
METRICS = {
    "bf16": (N_("Dense BF16/FP16 peak [TFLOP/s]"), lambda h: _div(h.peak_flops_per_s.get("bf16") or h.peak_flops_per_s.get("fp16"), 1e12)),
    "fp8": (N_("Dense FP8 peak [TFLOP/s]"), lambda h: _div(h.peak_flops_per_s.get("fp8"), 1e12)),
    "hbm": (N_("Memory [GB]"), lambda h: _div(h.hbm_bytes, 1e9)),
    "bandwidth": (N_("Memory bandwidth [TB/s]"), lambda h: _div(h.hbm_bytes_per_s, 1e12)),
    "tdp": (N_("TDP [W]"), lambda h: h.tdp_w or None),
    "flops_per_w": (N_("BF16 peak per watt [TFLOP/s per W]"), lambda h: _div(METRICS["bf16"][1](h), h.tdp_w)),
    "usd_per_pflop_hour": (N_("Cloud price per dense BF16 PFLOP/s-hour [USD]"), lambda h: _div(h.cloud_usd_per_hour, _div(METRICS["bf16"][1](h), 1e3))),
}


def _div(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is unknown (or zero: no published figure)."""
    return a / b if a and b else None


def catalog_bars(hardware: Sequence[HardwareSpec], metric: str, tr: Translator = ENGLISH):
    """Bar chart of one catalog metric across accelerators; unknown values are gaps marked 'unknown'."""
    import plotly.graph_objects as go

    from dcplan.figures.style import finish

    _ = tr
    label, get = METRICS[metric]
    label = _(label)
    names = [h.name for h in hardware]
    values = [get(h) for h in hardware]
    text = [f"{v:,.4g}" if v is not None else _("unknown") for v in values]
    fig = go.Figure(go.Bar(x=names, y=values, text=[_num(v) for v in values], textposition="outside", cliponaxis=False,
                           marker_color="#3566a8", hovertext=text, hovertemplate="%{x}: %{hovertext}<extra></extra>"))
    missing = [n for n, v in zip(names, values, strict=True) if v is None]
    if missing:
        fig.add_trace(go.Scatter(x=missing, y=[0] * len(missing), mode="text", text=[_("unknown")] * len(missing), textposition="top center",
                                 textfont={"color": "#8a94a0", "size": 11}, hoverinfo="skip", showlegend=False))
    what, _sep, unit = label.partition(" [")
    finish(fig, title=_("{what} by accelerator").format(what=what), x_title=_("Accelerator"), y_title=unit.rstrip("]"), legend=False, height=380)
    fig.update_yaxes(rangemode="tozero")
    return fig


def _num(v: float | None) -> str:
    """A bar label: 3-4 significant digits, thousands separated (989, 2,250, 4.8, 0.135)."""
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def roofline(hardware: Iterable[HardwareSpec], precision: str = "bf16", markers: Sequence[tuple[str, float]] = (), tr: Translator = ENGLISH):
    """Log-log roofline per accelerator, with workload intensity markers [FLOP/byte] labelled inside the plot."""
    import math

    import numpy as np
    import plotly.graph_objects as go

    from dcplan.figures.style import finish

    _ = tr

    fig = go.Figure()
    x = np.logspace(-1, 4, 200)
    peaks = []
    for h in hardware:
        used = next((p for p in (precision, "bf16", "fp16") if p in h.peak_flops_per_s), precision)
        peak = h.peak_flops_per_s.get(used)
        if not peak or not h.hbm_bytes_per_s:
            continue
        peaks.append(peak)
        y = np.minimum(peak, x * h.hbm_bytes_per_s) / 1e12
        ridge = peak / h.hbm_bytes_per_s
        # a chip with no published peak in this precision is drawn at its 16-bit peak, and says so
        label = (_("{name} (ridge {ridge} FLOP/B, {used}: no {precision} published)") if used != precision else _("{name} (ridge {ridge} FLOP/B)")).format(
            name=h.name, ridge=f"{ridge:.0f}", used=used, precision=precision)
        fig.add_trace(go.Scatter(x=x.tolist(), y=y.tolist(), mode="lines", name=label,
                                 hovertemplate=_("intensity %{x:.3g} FLOP/B: %{y:.4g} TFLOP/s") + "<extra>" + h.name + "</extra>"))
    top = max(peaks) / 1e12 if peaks else 1.0
    for label, intensity in markers:
        # a vertical line and its label, both inside the plot (on a log axis a shape takes the value, an annotation its log10)
        fig.add_shape(type="line", x0=intensity, x1=intensity, xref="x", y0=0, y1=1, yref="paper",
                      line={"dash": "dot", "color": "#888", "width": 1})
        fig.add_annotation(x=math.log10(intensity), y=0.02, xref="x", yref="paper", text=label, showarrow=False, textangle=-90,
                           xanchor="left", yanchor="bottom", xshift=2, font={"size": 10, "color": "#5b6775"})
    finish(fig, title=_("Roofline ({precision}, dense peaks)").format(precision=precision),
           x_title=_("Arithmetic intensity [FLOP/byte]"), y_title=_("Attainable [TFLOP/s]"), height=460)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", range=[-1, float(np.log10(top * 1.5))])
    return fig


def decode_prefill_markers(batch_sizes: Sequence[int] = (1, 16, 128), prompt_len: int = 1024, tr: Translator = ENGLISH) -> list[tuple[str, float]]:
    """Intensities of bf16 decode at a few batch sizes and of one prefill [FLOP/byte]."""
    _ = tr
    marks = [(_("decode B={batch}").format(batch=b), float(b)) for b in batch_sizes]
    marks.append((_("prefill {tokens} tok").format(tokens=prompt_len), float(prompt_len)))
    return marks
