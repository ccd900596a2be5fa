"""dcplan: plan AI datacenter capacity and read where the market for it is going.

Stages, data flowing one way: profile -> calibrate -> model -> capacity -> forecast, with
reports and the dashboard reading their results. The public Python API::

    from dcplan import estimate_training, estimate_inference, estimate_embeddings, get_model, get_hardware
    from dcplan import default_calibration

Names are loaded lazily so that ``import dcplan`` stays cheap and never imports torch.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "estimate_training",
    "estimate_inference",
    "estimate_embeddings",
    "get_model",
    "get_hardware",
    "default_calibration",
]

_LAZY = {
    "estimate_training": "dcplan.estimate",
    "estimate_inference": "dcplan.inference",
    "estimate_embeddings": "dcplan.embedding",
    "get_model": "dcplan.io.catalog",
    "get_hardware": "dcplan.io.catalog",
    "default_calibration": "dcplan.io.catalog",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dcplan' has no attribute {name!r}")
