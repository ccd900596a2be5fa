"""Run small BLAS calls single-threaded while a forecast runs (threadpoolctl).

The forecast's matrix products are small (a few hundred columns); a BLAS thread pool makes them
several times slower on a 2-core machine shared with other work, and fights concurrent
dashboard requests. ``threadpoolctl.threadpool_limits`` sets every BLAS library loaded in the
process (OpenBLAS, MKL, BLIS) to one thread for the duration and restores the previous counts.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, BLAS libraries use one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
