"""Run small BLAS calls single-threaded while a forecast runs.

The forecast's matrix products are small (a few hundred columns); OpenBLAS's thread pool makes
them several times slower on a 2-core machine shared with other work, and fights concurrent
dashboard requests. This sets OpenBLAS (the library numpy and scipy ship) to one thread for the
duration, the way threadpoolctl does, and restores the previous count. Where the library cannot
be found it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from typing import Callable, Iterator


@functools.cache
def _openblas() -> tuple[tuple[Callable[[int], None], Callable[[], int]], ...]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", "", "_64"):
                setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    getter.restype = ctypes.c_int
                    found.append((setter, getter))
                    break
            else:
                continue
            break
    return tuple(found)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, OpenBLAS uses one thread."""
    libs = _openblas()
    before = [get() for _, get in libs]
    for set_, _ in libs:
        set_(1)
    try:
        yield
    finally:
        for (set_, _), n in zip(libs, before, strict=False):
            set_(n)
