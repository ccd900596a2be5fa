"""Big sweeps on an engine: the executor specs, and one Sobol analysis alike in process, on a process pool and on Dask."""

import pytest

from dcplan.errors import InputError
from dcplan.parallel import executor, pieces


@pytest.fixture(scope="module")
def base():
    from dcplan.io.scenario import load_scenario

    return load_scenario("base")


@pytest.mark.parametrize("spec", ["ray://10.0.0.1:10001", "threads", "processes:0", "processes:x", "dask-local:2000", "dask:", "dask:host"])
def test_bad_executor_is_a_clear_error(spec):
    with pytest.raises(InputError) as e:
        with executor(spec):
            pass
    assert e.value.field == "executor"


def test_unreachable_dask_scheduler_is_a_clear_error():
    import socket

    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="cannot reach"):
        with executor(f"dask://127.0.0.1:{port}"):
            pass


def test_pieces_cover_the_rows_once():
    for rows, workers in ((1, 2), (18_688, 2), (299_008, 16), (1_000, 1)):
        parts = pieces(rows, workers)
        covered = [i for p in parts for i in range(p.start, p.stop)]
        assert covered == list(range(rows))
        assert rows < 500 * 4 * workers or len(parts) >= 4 * workers - 1


def test_serial_and_process_pool_give_the_same_indices(base):
    from dcplan.forecast.sensitivity import sobol

    with executor("serial") as pool:
        a = sobol(base, base_samples=8, n_resamples=10, pool=pool)
    with executor("processes:2") as pool:
        assert pool.workers == 2
        b = sobol(base, base_samples=8, n_resamples=10, pool=pool)
    assert a.first_order == b.first_order and a.total_order == b.total_order


@pytest.mark.slow
def test_sobol_on_a_local_dask_cluster_of_two_processes(base):
    """A LocalCluster of 2 worker processes, reached by its address as a user would pass it (dask://HOST:PORT)."""
    distributed = pytest.importorskip("distributed")
    from dcplan.forecast.sensitivity import sobol

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        with executor(address) as pool:
            assert pool.workers == 2
            on_dask = sobol(base, base_samples=8, n_resamples=10, pool=pool)
            ran_on = pool.name
    with executor("serial") as pool:
        here = sobol(base, base_samples=8, n_resamples=10, pool=pool)
    assert ran_on.startswith("dask tcp://127.0.0.1")
    assert on_dask.first_order == here.first_order and on_dask.total_order == here.total_order


def _worker_environ() -> dict[str, str | None]:
    import os

    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


@pytest.mark.slow
def test_dask_local_workers_keep_glibcs_dynamic_mmap_threshold(monkeypatch):
    """dask-local:N starts its workers without Dask's MALLOC_TRIM_THRESHOLD_ (it fixes glibc's mmap threshold at 128 kB and
    doubles the chain's time there), keeps the rest of Dask's worker environment (one BLAS/OpenMP thread), and leaves this
    process's environment as it was (Dask's nanny writes its variables into it)."""
    import os

    pytest.importorskip("distributed")
    from distributed import get_client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # a LocalCluster started earlier in this process leaves it set
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = dict(os.environ)
    with executor("dask-local:2") as pool:
        assert pool.workers == 2
        got = list(get_client().run(_worker_environ).values())
        assert dict(os.environ) == before
    assert got == [{"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}] * 2
