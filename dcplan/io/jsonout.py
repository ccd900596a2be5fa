"""JSON for machines: the one writer that turns NaN and infinities into null.

Strict JSON has neither NaN nor Infinity; an unknown number is written as ``null``. Every JSON
dcplan prints or writes (``--json``, report JSON, plan.json, calibration and run files) goes
through :func:`json_safe`, so a reader never meets a bare ``NaN``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping


def json_safe(obj: Any) -> Any:
    """A copy of ``obj`` that strict JSON can hold: non-finite floats become None, keys strings, tuples lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """``obj`` as strict JSON text (non-finite numbers as null)."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False)


def write_json(path: str | os.PathLike[str], obj: Any, *, overwrite: bool = False, indent: int | None = 1) -> Path:
    """Write ``obj`` as strict JSON, atomically; an existing file is kept unless ``overwrite``."""
    from dcplan.io.yamlio import write_atomic

    text = dumps(obj, indent=indent)
    return write_atomic(path, lambda fh: fh.write(text), overwrite=overwrite)
