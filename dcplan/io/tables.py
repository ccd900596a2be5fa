"""Tables to files: the one writer behind ``plan --out`` and ``forecast --csv/--parquet``.

CSV always works; Parquet needs pyarrow (the ``parquet`` extra) and asking for it without
pyarrow is an InputError that says how to get it, never a silent fallback. Files are written
atomically and an existing file is kept unless ``overwrite``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

FORMATS = ("csv", "parquet")


def need_pyarrow(field: str = "parquet") -> None:
    """InputError unless pyarrow can be imported."""
    from dcplan.errors import InputError

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(field, "writing Parquet needs pyarrow (pip install 'dcplan[parquet]' or pip install pyarrow); use CSV instead") from None


def frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]):
    """A pandas DataFrame of ``rows`` under ``columns``."""
    import pandas as pd

    return pd.DataFrame([list(r) for r in rows], columns=list(columns))


def write_table(df: Any, path: str | os.PathLike[str], fmt: str, *, overwrite: bool = False, field: str = "out") -> Path:
    """Write the DataFrame ``df`` as ``fmt`` (csv or parquet) to ``path``."""
    from dcplan.errors import InputError
    from dcplan.io.yamlio import write_atomic

    if fmt == "csv":
        text = df.to_csv(index=False, lineterminator="\n")
        return write_atomic(path, lambda fh: fh.write(text), overwrite=overwrite)
    if fmt == "parquet":
        need_pyarrow(field)
        typed = _one_type_per_column(df)
        return write_atomic(path, lambda fh: typed.to_parquet(fh, index=False), binary=True, overwrite=overwrite)
    raise InputError(field, f"table format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _one_type_per_column(df: Any):
    """Parquet columns hold one type: a column mixing numbers and text (a table of assumptions) becomes text."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            kinds = {type(v) for v in out[c] if v is not None}
            if len(kinds) > 1:
                out[c] = [None if v is None else str(v) for v in out[c]]
    return out
