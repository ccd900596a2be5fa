"""Run small BLAS calls single-threaded while a forecast runs (threadpoolctl).

The forecast's matrix products are small (a few hundred columns); a BLAS thread pool makes them
several times slower on a 2-core machine shared with other work, and fights concurrent
dashboard requests. ``threadpoolctl`` sets every BLAS library loaded in the process (OpenBLAS,
MKL, BLIS) to one thread for the duration and restores the previous counts. Its controller
finds the libraries once per process (it reads the process's own memory map then, no data file).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Iterator


@functools.cache
def _controller() -> Any:
    import numpy  # noqa: F401  (load the BLAS numpy and scipy use before looking for it)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, BLAS libraries use one thread."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
