"""Held-out accuracy: predict configurations the fit never saw.

Two splits per kind (leave-one-out as in Vidur's cross-validated predictor, microsoft/vidur; the
extrapolation split because random forests and saturating curves are both weakest past the data):

- leave-one-configuration-out: each point in turn is removed, the kind's parameters are
  refitted on the others and the removed point is predicted;
- leave-largest-k-out (extrapolation): the k largest points by work size (FLOPs for times,
  analytical bytes for memory; k = max(2, n // 5)) are removed together, the parameters are
  refitted on the rest and the k are predicted.

Only the kind's own parameters are refitted; parameters fitted on other kinds of measurements
(the GEMM curve, the decode bandwidth for the optimizer step) stay, since they never saw the
held-out points. Statistics: median, p90 and max absolute percentage error, and the signed
bias (geometric mean of predicted/measured − 1), as :func:`dcplan.calibrate.at_scale.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from dcplan.calibrate.at_scale import summary
from dcplan.calibrate.predict import Case
from dcplan.errors import InputError
from dcplan.specs import Calibration


@dataclass(frozen=True, kw_only=True)
class Split:
    """Indices a fit may use and indices it must predict."""

    train: tuple[int, ...]
    test: tuple[int, ...]
    name: str


def leave_one_out(n: int) -> list[Split]:
    return [Split(train=tuple(j for j in range(n) if j != i), test=(i,), name="leave-one-out") for i in range(n)]


def largest_k(sizes: Sequence[float], k: int | None = None) -> Split:
    """Hold out the k largest by size (ties broken by position)."""
    n = len(sizes)
    k = max(2, n // 5) if k is None else k
    order = sorted(range(n), key=lambda i: (sizes[i], i))
    test = tuple(sorted(order[n - k:]))
    return Split(train=tuple(sorted(order[: n - k])), test=test, name=f"leave-largest-{k}-out")


@dataclass(frozen=True, kw_only=True)
class HeldoutPoint:
    id: str
    measured: float
    predicted: float
    split: str

    @property
    def ratio(self) -> float:
        return self.predicted / self.measured


@dataclass(frozen=True, kw_only=True)
class KindHeldout:
    """Held-out accuracy of one kind."""

    kind: str
    loo: dict
    """summary() of the leave-one-out predictions."""
    largest: dict
    """summary() of the leave-largest-k-out predictions, with k."""
    points: tuple[HeldoutPoint, ...]

    def to_dict(self) -> dict:
        return {**self.loo, "split": self.loo.get("split", "leave-one-configuration-out"), "extrapolation": {**self.largest}}


Refit = Callable[[Sequence[Case]], Calibration]
Predict = Callable[[Case, Calibration], float]


def _predict_split(cases: Sequence[Case], split: Split, refit: Refit, predict: Predict, measure: Callable[[Case], float]) -> list[HeldoutPoint]:
    train = [cases[i] for i in split.train]
    if set(split.train) & set(split.test):
        raise AssertionError(f"{split.name}: held-out points leaked into the fit")
    try:
        cal = refit(train)
    except InputError:
        return []  # too few points left to fit this split
    return [HeldoutPoint(id=cases[i].m.id, measured=measure(cases[i]), predicted=predict(cases[i], cal), split=split.name) for i in split.test]


def evaluate(kind: str, cases: Sequence[Case], refit: Refit, predict: Predict, *, measure: Callable[[Case], float],
             size: Callable[[Case], float], k: int | None = None) -> KindHeldout:
    """Both held-out splits of ``kind``."""
    loo = [p for s in leave_one_out(len(cases)) for p in _predict_split(cases, s, refit, predict, measure)]
    split = largest_k([size(c) for c in cases], k)
    ext = _predict_split(cases, split, refit, predict, measure)
    return KindHeldout(
        kind=kind,
        loo=summary([p.ratio for p in loo]),
        largest={**summary([p.ratio for p in ext]), "k": len(split.test), "split": split.name},
        points=tuple(loo + ext),
    )


def transfer(kind: str, cases: Sequence[Case], cal: Calibration, predict: Predict, *, measure: Callable[[Case], float]) -> KindHeldout:
    """A kind no parameter was fitted on (seq2seq): every prediction is out of sample."""
    pts = [HeldoutPoint(id=c.m.id, measured=measure(c), predicted=predict(c, cal), split="not fitted (transfer)") for c in cases]
    stats = {**summary([p.ratio for p in pts]), "split": "not fitted (transfer)"}
    return KindHeldout(kind=kind, loo=stats, largest={**stats, "k": len(pts)}, points=tuple(pts))
