"""Figures of the accelerator catalog: peak comparison and roofline (pure, plotly).

Roofline: attainable FLOP/s = min(peak, intensity x bandwidth) (Williams, Waterman & Patterson
2009; jax-ml/scaling-book "roofline"). The workload markers place a Transformer's decode and
prefill arithmetic intensity on it: a decode step of batch B reads the weights once for B
tokens, so its intensity is about B FLOP per weight byte at 2 bytes/param (scaling-book
"inference"); prefill of s tokens is about s x B.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from dcplan.specs import HardwareSpec

#: Catalog metrics a comparison chart can show: key -> (label with unit, getter).
METRICS = {
    "bf16": ("Dense BF16/FP16 peak [TFLOP/s]", lambda h: (h.peak_flops_per_s.get("bf16") or h.peak_flops_per_s.get("fp16") or 0) / 1e12),
    "fp8": ("Dense FP8 peak [TFLOP/s]", lambda h: (h.peak_flops_per_s.get("fp8") or 0) / 1e12),
    "hbm": ("Memory [GB]", lambda h: (h.hbm_bytes or 0) / 1e9),
    "bandwidth": ("Memory bandwidth [TB/s]", lambda h: (h.hbm_bytes_per_s or 0) / 1e12),
    "tdp": ("TDP [W]", lambda h: h.tdp_w or 0),
    "flops_per_w": ("BF16 peak per watt [TFLOP/s per W]", lambda h: _ratio(METRICS["bf16"][1](h), h.tdp_w)),
    "usd_per_pflop_hour": ("Cloud price per dense BF16 PFLOP/s-hour [USD]", lambda h: _ratio(h.cloud_usd_per_hour, METRICS["bf16"][1](h) / 1e3)),
}


def _ratio(a: float | None, b: float | None) -> float:
    return a / b if a and b else 0.0


def catalog_bars(hardware: Sequence[HardwareSpec], metric: str):
    """Bar chart of one catalog metric across accelerators (missing values shown as gaps)."""
    import plotly.graph_objects as go

    label, get = METRICS[metric]
    names = [h.name for h in hardware]
    values = [get(h) or None for h in hardware]
    fig = go.Figure(go.Bar(x=names, y=values, texttemplate="%{y:,.4~r}", textposition="outside",
                           marker_color="#3566a8", hovertemplate="%{x}: %{y:,.4g}<extra></extra>"))
    fig.update_layout(title=label, xaxis_title="Accelerator", yaxis_title=label,
                      margin=dict(l=60, r=20, t=60, b=60), height=380)
    return fig


def roofline(hardware: Iterable[HardwareSpec], precision: str = "bf16", markers: Sequence[tuple[str, float]] = ()):
    """Log-log roofline per accelerator, with workload intensity markers [FLOP/byte]."""
    import numpy as np
    import plotly.graph_objects as go

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
        label = f"{h.name} (ridge {ridge:.0f} FLOP/B" + (f", {used}: no {precision} published)" if used != precision else ")")
        fig.add_trace(go.Scatter(x=x.tolist(), y=y.tolist(), mode="lines", name=label,
                                 hovertemplate="intensity %{x:.3g} FLOP/B: %{y:.4g} TFLOP/s<extra>" + h.name + "</extra>"))
    top = max(peaks) / 1e12 if peaks else 1.0
    for label, intensity in markers:
        # a vertical segment as a trace: shapes on log axes take log10 coordinates
        fig.add_trace(go.Scatter(x=[intensity, intensity], y=[0.1, top * 1.4], mode="lines+text", text=["", label],
                                 textposition="top right", line=dict(dash="dot", color="#888", width=1), showlegend=False,
                                 hoverinfo="skip", textfont=dict(size=10)))
    fig.update_layout(title=f"Roofline ({precision}, dense): attainable TFLOP/s vs arithmetic intensity",
                      xaxis=dict(type="log", title="Arithmetic intensity [FLOP/byte]"),
                      yaxis=dict(type="log", title="Attainable [TFLOP/s]", range=[-1, np.log10(top * 1.5)]),
                      height=420, margin=dict(l=60, r=20, t=60, b=60),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def decode_prefill_markers(batch_sizes: Sequence[int] = (1, 16, 128), prompt_len: int = 1024) -> list[tuple[str, float]]:
    """Intensities of bf16 decode at a few batch sizes and of one prefill [FLOP/byte]."""
    marks = [(f"decode B={b}", float(b)) for b in batch_sizes]
    marks.append((f"prefill {prompt_len} tok", float(prompt_len)))
    return marks
