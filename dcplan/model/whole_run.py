"""Whole-run hours beyond steady state: time lost to interruptions, by job size.

A job stops when any of its accelerators, hosts or links fails; the stop costs a restart and
the work done since the last checkpoint. Failures come from components, so their rate grows
with the number of accelerators a job holds (Kokolis et al. 2024, "Revisiting Reliability in
Large-Scale Machine Learning Research Clusters", arXiv:2410.21680: mean time to failure falls
as 1/N with job size), while the time each costs does not. The share of wall-clock time that
advances training is then

    goodput(N) = 1 / (1 + (1/g_ref − 1) · max(1, N / N_ref))

anchored on the one published large run that reports both (Llama Team 2024, arXiv:2407.21783,
§3.3.4: 466 interruptions in a 54-day snapshot on up to 16,384 H100, ">90% effective training
time"): g_ref = 0.9 at N_ref = 16,384. Derived here: 466 interruptions in 54 x 24 h cost
(1/0.9 − 1) x 1,296 h = 144 h, 0.31 h each, at 2.2e-5 interruptions per accelerator-hour; a
100,000-accelerator job keeps 60 % of its time.

Smaller jobs are held at g_ref, not credited with fewer failures: the snapshot's 10 % also holds
losses that do not shrink with job size (47 of the 466 interruptions were planned maintenance;
checkpoint writes, evaluation), no source splits them, and the published whole runs of
2,000-accelerator jobs (Llama 2, BLOOM) lose at least as much. Long-context stages are not in
g_ref: they are steady-state work at another sequence length, which :mod:`dcplan.estimate` runs as
their own phase.
"""

from __future__ import annotations

from dcplan.specs import Calibration


def goodput_at(cal: Calibration, n_accelerators: int) -> float:
    """Share of wall-clock time that advances training for a job on ``n_accelerators`` [fraction]."""
    lost_per_useful = (1.0 / cal.goodput_frac - 1.0) * max(1.0, n_accelerators / cal.goodput_ref_accelerators)
    return 1.0 / (1.0 + lost_per_useful)


__all__ = ["goodput_at"]
