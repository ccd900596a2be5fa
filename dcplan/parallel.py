"""Where a big sweep's independent pieces run: this process, a local process pool, or a Dask cluster.

A sweep (the N (d + 2) chain runs of a Sobol analysis, a grid of scenarios...) is cut into
pieces that are pure functions of their arguments; :func:`executor` gives something with
``map(fn, iterable)`` that runs them and returns the results in order. The engines schedule:

- ``serial``: in this process, one after the other;
- ``local`` (the default) or ``processes:N``: ``concurrent.futures.ProcessPoolExecutor`` with N
  worker processes (default: the CPUs this process may use);
- ``dask://HOST:PORT`` (or ``tcp://HOST:PORT``): the Dask distributed scheduler at that address,
  through ``distributed.Client.get_executor()`` (Dask's own scheduling, data movement and
  retries; the workers need dcplan installed, ``pip install 'dcplan[dask]'``);
- ``dask-local:N``: a Dask ``LocalCluster`` of N single-threaded worker processes started for
  the sweep and closed after it (to try Dask on one machine).

Ray is not supported: pass a Dask address. Nothing here computes; results do not depend on where
the pieces ran.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from dcplan.errors import InputError

EXECUTORS = ("serial", "local", "processes:N", "dask://HOST:PORT", "tcp://HOST:PORT", "dask-local:N")


@dataclass(frozen=True)
class Pool:
    """``map`` over an engine, and how many pieces it runs at once (to size the pieces)."""

    name: str
    workers: int
    _map: Callable[..., Iterable[Any]]

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        """``[fn(*args) for args in zip(*iterables)]``, run on the engine, in order."""
        return list(self._map(fn, *iterables))


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _count(spec: str, text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        raise InputError("executor", f"{spec!r}: the number of workers must be a whole number 1-1024")
    return n


@contextlib.contextmanager
def executor(spec: str | None = "local", warm: Callable[[], Any] | None = None) -> Iterator[Pool]:
    """The engine ``spec`` names (see the module docstring), closed on leaving the block.

    ``warm`` (picklable, no arguments) runs once on each worker as the engine starts: imports and
    tables a piece needs, so the first pieces do not pay them.
    """
    spec = (spec or "local").strip()
    kind, _, rest = spec.partition(":")
    if spec == "serial":
        yield Pool("serial", 1, map)
    elif spec == "local" or kind == "processes":
        yield from _processes(cpus() if spec == "local" else _count(spec, rest), warm)
    elif kind in ("dask", "tcp"):
        address = spec if kind == "tcp" else "tcp:" + rest
        if not rest.startswith("//") or len(rest) <= 2:
            raise InputError("executor", f"{spec!r}: expected dask://HOST:PORT, the address of a Dask scheduler")
        yield from _dask(address=address, warm=warm)
    elif kind == "dask-local":
        yield from _dask(local_workers=_count(spec, rest), warm=warm)
    elif kind == "ray":
        raise InputError("executor", "Ray is not supported; start a Dask scheduler and pass dask://HOST:PORT")
    else:
        raise InputError("executor", f"unknown executor {spec!r}; use one of {', '.join(EXECUTORS)}")


def _call(fn: Callable[[], Any]) -> None:
    fn()


def _processes(n: int, warm: Callable[[], Any] | None) -> Iterator[Pool]:
    from concurrent.futures import ProcessPoolExecutor

    if n == 1:
        yield Pool("serial", 1, map)
        return
    # every worker ends with the command, even when it is killed (die_with_parent), then warms up
    with ProcessPoolExecutor(max_workers=n, initializer=functools.partial(_start_worker, os.getpid(), warm)) as pool:
        if warm is not None:
            list(pool.map(_call, [_noop] * n))  # start the workers (each runs ``warm`` as it starts)
        yield Pool(f"processes:{n}", n, pool.map)


def _noop() -> None:
    return None


def _start_worker(parent_pid: int, warm: Callable[[], Any] | None) -> None:
    die_with_parent(parent_pid)
    if warm is not None:
        warm()


def _dask(address: str | None = None, local_workers: int = 0, warm: Callable[[], Any] | None = None) -> Iterator[Pool]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("executor", "Dask is not installed: pip install 'dcplan[dask]' (dask[distributed])") from None
    cluster = None
    try:
        if address is None:
            import dask

            # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap threshold at
            # 128 kB: every temporary array of the chain is then a fresh mapping, and its pages fault in again (twice
            # the time per piece, measured: BENCHMARKS.md "Big sweeps"); keep the rest of its environment
            # (None unsets it); the nanny writes its variables into this process's environment to pass them on: put it back
            environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), "MALLOC_TRIM_THRESHOLD_": None}
            saved = dict(os.environ)
            try:
                with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                    cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            client = Client(cluster)
        else:
            client = Client(address, timeout=30)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise InputError("executor", f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        workers = max(1, sum(client.nthreads().values()))
        if warm is not None:
            client.run(warm)  # on every worker
        with client.get_executor() as pool:
            yield Pool(f"dask {client.scheduler.address}", workers, pool.map)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def die_with_parent(parent_pid: int) -> None:
    """In a child process: be sent SIGTERM when the process that started it ends, even killed
    (Linux ``prctl(PR_SET_PDEATHSIG)``), so that no worker outlives a killed command; elsewhere
    nothing. ``parent_pid`` is the parent's pid, to catch a parent that ended before this ran."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent ended before the signal was armed


def pieces(rows: int, workers: int, smallest: int = 500, largest: int = 20_000) -> list[slice]:
    """Row ranges cutting ``rows`` into about 4 pieces per worker (so a slow one does not hold the sweep), ``smallest``..``largest`` rows each."""
    size = min(largest, max(smallest, -(-rows // (4 * max(1, workers)))))
    return [slice(a, min(a + size, rows)) for a in range(0, rows, size)]
