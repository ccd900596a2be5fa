"""Threads for a forecast: small BLAS calls single-threaded, large array work on a few Python threads.

The forecast's matrix products are small (a few hundred columns); a BLAS thread pool makes them
several times slower on a 2-core machine shared with other work, and fights concurrent
dashboard requests. ``threadpoolctl`` sets every BLAS library loaded in the process (OpenBLAS,
MKL, BLIS) to one thread for the duration and restores the previous counts. Its controller
finds the libraries once per process (it reads the process's own memory map then, no data file).

The large forecasts' work is array work on independent pieces (columns of the draw, chunks of
samples, metrics): numpy and scipy.special release the GIL inside their loops, so
:func:`thread_map` runs the pieces on a few threads of one process, sharing memory (no copies,
no pickling). Each piece is computed exactly as it would be alone and the results come back in
order, so the numbers do not depend on the thread count. ``DCPLAN_THREADS`` sets the count (1:
serial); by default, the CPUs this process may run on, at most :data:`MAX_THREADS`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Most threads a forecast uses by default (beyond this, memory bandwidth, not cores, bounds the array work).
MAX_THREADS = 4


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


def thread_count() -> int:
    """Threads :func:`thread_map` uses: ``DCPLAN_THREADS`` if set (>= 1), else the usable CPUs (at most MAX_THREADS)."""
    env = os.environ.get("DCPLAN_THREADS", "").strip()
    if env:
        from dcplan.errors import InputError

        try:
            n = int(env)
        except ValueError:
            raise InputError("DCPLAN_THREADS", f"must be a whole number >= 1, got {env!r}") from None
        if n < 1:
            raise InputError("DCPLAN_THREADS", f"must be a whole number >= 1, got {env!r}")
        return n
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_THREADS))


def thread_map(fn: Callable[[T], R], items: Sequence[T], *, threads: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, on up to ``threads`` (default :func:`thread_count`) threads; results in order.

    The first exception raised by any piece is raised here (the others are dropped).
    """
    n = min(threads or thread_count(), len(items))
    if n <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="dcplan-forecast") as ex:
        return list(ex.map(fn, items))


def split(n: int, parts: int) -> list[slice]:
    """``parts`` contiguous slices covering range(n) (the first ones one longer when it does not divide)."""
    parts = max(1, min(parts, n))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


#: Samples below which a forecast stays on one thread (the dashboard's 2,000: a pool's start-up would cost more than it saves).
PARALLEL_SAMPLES = 20_000


def threads_for(samples: int) -> int:
    """Threads for work over ``samples`` draws: :func:`thread_count`, or 1 below :data:`PARALLEL_SAMPLES`."""
    return thread_count() if samples >= PARALLEL_SAMPLES else 1
