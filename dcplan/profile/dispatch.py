"""Count what an implementation dispatches: framework operations, non-matmul bytes, saved activations.

Two implementations of the same Transformer (dcplan's own, a ``transformers`` model) differ in
what runs around their matrix multiplies: how many operations the framework dispatches per
layer (each costs launch and Python/dispatcher time), how many bytes the elementwise and
reduction operations stream (fp32 upcasts in RMSNorm, rotary embeddings, unfused activations,
the loss) and which tensors autograd keeps for the backward pass. These are properties of the
code, not of the hardware, so they are counted here once per point, during a warm-up run,
and the calibration uses them to carry a fit from one implementation to another
(:mod:`dcplan.calibrate.implementation`).

- every ATen operation that reaches the dispatcher is seen by a ``TorchDispatchMode`` (forward,
  backward and optimizer alike: the autograd engine propagates the mode); views (``is_view``)
  launch nothing and are not counted;
- operations are sorted into matmuls (mm, addmm, bmm...), attention (the SDPA kernels),
  optimizer updates (``_foreach_*``, fused Adam), the dense embedding gradient, and the rest;
- ``other_bytes`` = bytes read and written by the rest (every tensor argument and result);
- ``saved_bytes`` = bytes of the distinct tensors autograd saves for backward that are not
  parameters (``saved_tensors_hooks``), i.e. activations, including autocast's weight copies.

Fused kernels and CUDA graphs dispatch once for many operations: a graphs point is not
counted (the mode would also break the capture).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_GEMM = ("mm", "addmm", "bmm", "baddbmm", "addbmm", "matmul", "linear", "_scaled_mm", "convolution", "_int_mm")
_ATTENTION = "scaled_dot_product"
_OPTIMIZER = ("_foreach_", "_fused_adam", "_fused_sgd")
_EMBED_BACKWARD = ("embedding_dense_backward", "embedding_backward")


@dataclass
class DispatchStats:
    """What one operation of a point dispatched (counts, [bytes])."""

    ops: int = 0
    """Non-view ATen operations, all categories."""
    gemm_ops: int = 0
    attention_ops: int = 0
    optimizer_ops: int = 0
    other_ops: int = 0
    embedding_backward_ops: int = 0
    other_bytes: float = 0.0
    """Bytes read + written by operations that are none of the above [bytes]."""
    embedding_backward_bytes: float = 0.0
    """Bytes written by the dense embedding gradient [bytes]."""
    saved_bytes: float = 0.0
    """Distinct non-parameter tensors saved for backward [bytes]."""

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _category(name: str) -> str:
    base = name.split(".")[0]
    if base.startswith(_OPTIMIZER):
        return "optimizer"
    if _ATTENTION in base:
        return "attention"
    if base in _EMBED_BACKWARD:
        return "embedding_backward"
    if base in _GEMM:
        return "gemm"
    return "other"


def _nbytes(tree: Any) -> float:
    leaves, _ = tree_flatten(tree)
    return float(sum(t.numel() * t.element_size() for t in leaves if isinstance(t, torch.Tensor)))


class DispatchCounter(TorchDispatchMode):
    """Counts the operations dispatched while it is active (see module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = DispatchStats()
        self.in_optimizer = False
        """Set while an optimizer's ``step`` runs (global optimizer step hooks)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "is_view", False):
            return out
        s = self.stats
        s.ops += 1
        cat = "optimizer" if self.in_optimizer else _category(func.__name__ if hasattr(func, "__name__") else str(func))
        if cat == "gemm":
            s.gemm_ops += 1
        elif cat == "attention":
            s.attention_ops += 1
        elif cat == "optimizer":
            s.optimizer_ops += 1
        elif cat == "embedding_backward":
            s.embedding_backward_ops += 1
            s.embedding_backward_bytes += _nbytes(out)
        else:
            s.other_ops += 1
            s.other_bytes += _nbytes((args, kwargs)) + _nbytes(out)
        return out


@contextlib.contextmanager
def _saved_bytes(stats: DispatchStats):
    seen: set[int] = set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        if not (t.is_leaf and t.requires_grad):  # parameters are not activations
            key = t.untyped_storage().data_ptr()
            if key not in seen:
                seen.add(key)
                stats.saved_bytes += float(t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield


@contextlib.contextmanager
def _optimizer_phase(counter: DispatchCounter):
    from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

    def enter(*_: Any) -> None:
        counter.in_optimizer = True

    def leave(*_: Any) -> None:
        counter.in_optimizer = False

    handles = (register_optimizer_step_pre_hook(enter), register_optimizer_step_post_hook(leave))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def count_dispatch(run: Callable[[], Any]) -> DispatchStats:
    """Run ``run`` once under the counter and the saved-tensor hook; its statistics."""
    counter = DispatchCounter()
    with _optimizer_phase(counter), _saved_bytes(counter.stats), counter:
        run()
    return counter.stats
