"""Published versus predicted: the model's validation as one scatter (pure, plotly)."""

from __future__ import annotations

from typing import Sequence


def validation_scatter(training: Sequence, inference: Sequence, tr=None):
    """Predicted / published ratios of training throughput and serving throughput, log-log with the identity line.

    ``training``: RunPrediction rows (dcplan.calibrate.at_scale); ``inference``: ServingPrediction rows
    (dcplan.calibrate.serving).
    """
    import plotly.graph_objects as go

    from dcplan.i18n import ENGLISH

    _ = tr or ENGLISH
    fig = go.Figure()
    tr = [p for p in training if p.flops_per_s and p.published_flops_per_s]
    fig.add_trace(go.Scatter(
        x=[p.published_flops_per_s / 1e12 for p in tr], y=[p.flops_per_s / 1e12 for p in tr], mode="markers",
        name=_("training [TFLOP/s per accelerator]"), marker={"size": 9, "symbol": "circle"}, text=[p.row.id for p in tr],
        hovertemplate=_("%{text}: published %{x:.4g}, predicted %{y:.4g}") + "<extra></extra>"))
    inf = [p for p in inference if p.tokens_per_s]
    fig.add_trace(go.Scatter(
        x=[p.row.tokens_per_s / 1e3 for p in inf], y=[p.tokens_per_s / 1e3 for p in inf], mode="markers",
        name=_("serving [thousand output tokens/s]"), marker={"size": 7, "symbol": "diamond"}, text=[p.row.id for p in inf],
        hovertemplate=_("%{text}: published %{x:.4g}, predicted %{y:.4g}") + "<extra></extra>"))
    values = [v for t in fig.data for v in (*t.x, *t.y)]
    lo, hi = (min(values) / 1.5, max(values) * 1.5) if values else (0.1, 1000)
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "#888"}, name=_("predicted = published")))
    from dcplan.figures.style import finish

    finish(fig, title=_("dcplan vs published training runs and serving benchmarks (shipped defaults)"),
           x_title=_("Published [TFLOP/s per accelerator, or thousand tokens/s]"), y_title=_("Predicted [same unit]"), height=500)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig
