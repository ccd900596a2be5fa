"""Achieved compute efficiency of a phase at a GEMM size: eta_gemm(x) · eta_phase(x).

The GEMM curve is the continuous form of Calculon's efficiency table by operation size
(Isaev et al. SC'23); the phase curve (train, prefill) is what a whole step reaches relative to
that ceiling. FP8 GEMMs have their own fitted ceiling (``Calibration.train_fp8_eta_max``).
"""

from __future__ import annotations

from dcplan.specs import Calibration


def compute_eta(cal: Calibration, x: float, phase: str) -> float:
    """Efficiency relative to dense peak at per-layer GEMM size ``x``: eta_gemm · eta_phase."""
    rel = cal.train if phase == "train" else cal.prefill
    return cal.gemm.eta(x) * rel.eta(x)


def train_eta(cal: Calibration, x: float, precision: str) -> float:
    """Train-step efficiency of GEMMs run in ``precision`` at size ``x``, relative to that
    precision's dense peak. FP8 uses its own ceiling when the calibration has one."""
    if precision == "fp8" and cal.train_fp8_eta_max is not None:
        return cal.gemm.eta(x) * cal.train_fp8_eta_max * _saturation(cal, x)
    return compute_eta(cal, x, "train")


def _saturation(cal: Calibration, x: float) -> float:
    """The train curve's dependence on x alone (1 when x_half = 0)."""
    return cal.train.eta(x) / cal.train.eta_max if cal.train.eta_max > 0 else 1.0
